/**
 * Root-CA publisher (kube's rootcacertpublisher): every active namespace has
 * the ConfigMap kube-root-ca.crt whose ca.crt is the CA that signs the API's
 * serving certificate as pods see it (CLUSTER_CA_CERT), so the projected
 * kube-api-access volume can hand it to in-cluster clients. A changed CA is
 * written again; an edited ConfigMap is put back.
 */
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import type { Controller, Deps, ObjectEvent, Result } from "../../reconcile/types.ts";

/** The ConfigMap's name, as the ServiceAccount admission plugin projects it. */
const ROOT_CA_CONFIGMAP = "kube-root-ca.crt";
/** kube's annotation telling readers what the ConfigMap is for. */
const DESCRIPTION =
  "Contains a CA bundle that can be used to verify the kube-apiserver when using internal endpoints such as the internal service IP or kubernetes.default.svc. No other usage is guaranteed across distributions of Kubernetes clusters.";

type ConfigMap = KubeObject & { data?: Record<string, string> };

/** Ensure namespace `key` has kube-root-ca.crt with the current CA. */
export async function reconcileRootCA(key: string, deps: Deps): Promise<Result | undefined> {
  const ns = await deps.cache.get(R.namespaces, undefined, key);
  if (!ns || ns.metadata?.deletionTimestamp) return undefined;
  // Unset CA: an empty bundle still lets pods start (the API may have a publicly trusted certificate).
  const ca = deps.config.rootCACert ?? "";
  const current = await deps.cache.get<ConfigMap>(R.configmaps, key, ROOT_CA_CONFIGMAP);
  const data = { "ca.crt": ca };
  try {
    if (!current) {
      const created = await deps.client.create(R.configmaps, key, {
        apiVersion: "v1",
        kind: "ConfigMap",
        metadata: {
          name: ROOT_CA_CONFIGMAP,
          namespace: key,
          annotations: { "kubernetes.io/description": DESCRIPTION },
        },
        data,
      } as KubeObject);
      deps.cache.wrote(R.configmaps, created, false);
    } else if (current.data?.["ca.crt"] !== ca || Object.keys(current.data ?? {}).length !== 1) {
      const updated = await deps.client.update(R.configmaps, key, {
        ...structuredClone(current),
        data,
      } as KubeObject);
      deps.cache.wrote(R.configmaps, updated, false);
    }
  } catch (error) {
    // Made by someone else meanwhile, or the namespace began terminating: the next event settles it.
    if (!(error instanceof ApiError && (error.code === 409 || error.code === 403 || error.code === 404)))
      throw error;
  }
  return undefined;
}

/** The root-CA publisher. */
export const rootCAController: Controller = {
  name: "root-ca-cert-publisher",
  watches: ["/namespaces", "/configmaps"],
  keys: async (deps) => (await deps.cache.list(R.namespaces)).map((n) => n.metadata?.name ?? ""),
  keysFor: (event: ObjectEvent) => {
    if (event.resource === "/namespaces") return [event.object.metadata?.name ?? ""];
    return event.object.metadata?.name === ROOT_CA_CONFIGMAP ? [event.object.metadata?.namespace ?? ""] : [];
  },
  reconcile: reconcileRootCA,
};
