/**
 * The node authorizer's edge for tokens (kube's graph: serviceAccount → pod → node):
 * a node may create a token for a ServiceAccount only while a pod bound to it runs as that account.
 */
import { nodeOf } from "../node-graph.ts";
import type { Registry } from "../registry/registry.ts";

/** Whether a pod bound to `node` in `namespace` runs as ServiceAccount `name`. */
export async function nodeRunsServiceAccount(
  node: string,
  namespace: string | undefined,
  name: string,
  registry: Registry,
): Promise<boolean> {
  const pods = registry.lookup("", "pods");
  if (!pods || !namespace) return false;
  const page = await registry.list(pods, namespace, {
    match: (pod) =>
      nodeOf(pod) === node &&
      ((pod.spec as { serviceAccountName?: string } | undefined)?.serviceAccountName || "default") === name,
  });
  return page.items.length > 0;
}
