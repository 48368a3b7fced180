/** DELETECOLLECTION: delete every object the selectors match, one by one; the answer lists them. */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { selectorFromQuery } from "../registry/selectors.ts";
import { apiVersionOf, type CollectionCall, json } from "./call.ts";
import { deleteOptions } from "./delete-options.ts";

/** DELETE /…/RESOURCE. An object that vanished meanwhile is skipped, as in kube. */
export async function deleteCollection(call: CollectionCall): Promise<Response> {
  const options = await deleteOptions(call);
  const ctx = { ...call.ctx, dryRun: options.dryRun };
  const registry = call.deps.registry;
  const page = await registry.list(call.info, call.namespace, {
    match: selectorFromQuery(call.url, call.info),
  });
  const items: KubeObject[] = [];
  for (const object of page.items) {
    try {
      const result = await registry.remove(
        call.info,
        object.metadata?.namespace,
        object.metadata?.name ?? "",
        ctx,
        {
          gracePeriodSeconds: options.gracePeriodSeconds,
          dryRun: options.dryRun,
          propagationPolicy: options.propagationPolicy,
        },
      );
      items.push(result.object);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
  }
  const metadata = { resourceVersion: page.resourceVersion };
  return json({ kind: `${call.info.kind}List`, apiVersion: apiVersionOf(call.info), metadata, items }, 200);
}
