/** ServiceAccount controller: every active namespace has a "default" ServiceAccount. */
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { Controller, Deps, Result } from "../../reconcile/types.ts";

/** Ensure namespace `key` has its default ServiceAccount. */
export async function reconcileServiceAccount(key: string, deps: Deps): Promise<Result | undefined> {
  const ns = await deps.cache.get(R.namespaces, undefined, key);
  if (!ns || ns.metadata?.deletionTimestamp) return undefined;
  if (await deps.cache.get(R.serviceaccounts, key, "default")) return undefined;
  try {
    await deps.client.create(R.serviceaccounts, key, {
      apiVersion: "v1",
      kind: "ServiceAccount",
      metadata: { name: "default", namespace: key },
    });
  } catch (error) {
    // Someone else made it, or the namespace started terminating: both fine.
    if (!(error instanceof ApiError && (error.code === 409 || error.code === 403 || error.code === 404)))
      throw error;
  }
  return undefined;
}

/** The ServiceAccount controller. */
export const serviceAccountController: Controller = {
  name: "serviceaccount",
  watches: ["/namespaces", "/serviceaccounts"],
  keys: async (deps) => (await deps.cache.list(R.namespaces)).map((n) => n.metadata?.name ?? ""),
  reconcile: reconcileServiceAccount,
};
