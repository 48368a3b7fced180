/**
 * `edgeplane node remove NAME`: take a node out of the cluster for good, as
 * `kubectl drain` then `kubectl delete node` and `kubeadm token delete` do:
 * cordon it, evict its pods (PodDisruptionBudgets respected through the
 * Eviction API), wait until they are gone, revoke its join tokens, delete
 * its Lease and Node, and delete the pods still bound to it (DaemonSet and
 * static pods, which a drain leaves). The host itself is cleaned by
 * `join.sh --uninstall`.
 */
import type { ClusterFetch } from "../lib/client.ts";
import { deleteJoinToken, listJoinTokens } from "./tokens.ts";

interface PodJson {
  metadata: {
    name: string;
    namespace: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string }[];
  };
}

/** What removeNode did. */
export interface Removal {
  evicted: number;
  tokens: string[];
  deletedPods: number;
}

async function fail(response: Response, what: string): Promise<never> {
  const text = await response.text();
  let message = text;
  try {
    message = JSON.parse(text).message ?? text;
  } catch {}
  throw new Error(`${what}: ${response.status} ${message}`);
}

async function podsOn(fetcher: ClusterFetch, node: string): Promise<PodJson[]> {
  const response = await fetcher(`/api/v1/pods?fieldSelector=${encodeURIComponent(`spec.nodeName=${node}`)}`);
  if (!response.ok) return fail(response, "listing the node's pods");
  return ((await response.json()) as { items: PodJson[] }).items;
}

const isDaemon = (p: PodJson) => p.metadata.ownerReferences?.some((o) => o.kind === "DaemonSet") ?? false;
const isMirror = (p: PodJson) => p.metadata.annotations?.["kubernetes.io/config.mirror"] !== undefined;
const podPath = (p: PodJson) => `/api/v1/namespaces/${p.metadata.namespace}/pods/${p.metadata.name}`;

/** Delete `pod` at once (grace period 0): nothing on the node will confirm it. */
async function forceDelete(fetcher: ClusterFetch, pod: PodJson): Promise<void> {
  const response = await fetcher(podPath(pod), {
    method: "DELETE",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ gracePeriodSeconds: 0 }),
  });
  if (!response.ok && response.status !== 404) await fail(response, `deleting pod ${pod.metadata.name}`);
}

/** Remove node `name`; `log` reports each step; throws when the drain does not finish within `timeoutMs`. */
export async function removeNode(
  fetcher: ClusterFetch,
  name: string,
  options: { timeoutMs?: number; force?: boolean; log?: (line: string) => void } = {},
): Promise<Removal> {
  const log = options.log ?? (() => {});
  const nodePath = `/api/v1/nodes/${encodeURIComponent(name)}`;
  const cordon = await fetcher(nodePath, {
    method: "PATCH",
    headers: { "Content-Type": "application/merge-patch+json" },
    body: JSON.stringify({ spec: { unschedulable: true } }),
  });
  if (cordon.ok) log(`node/${name} cordoned`);
  else if (cordon.status === 404) log(`node/${name} does not exist; revoking its tokens`);
  else await fail(cordon, `cordoning node/${name}`);

  let evicted = 0;
  if (cordon.ok) {
    const drain = (await podsOn(fetcher, name)).filter((p) => !isDaemon(p) && !isMirror(p));
    const deadline = Date.now() + (options.timeoutMs ?? 120_000);
    for (const pod of drain) {
      for (;;) {
        const response = await fetcher(`${podPath(pod)}/eviction`, {
          method: "POST",
          headers: { "Content-Type": "application/json" },
          body: JSON.stringify({
            apiVersion: "policy/v1",
            kind: "Eviction",
            metadata: { name: pod.metadata.name, namespace: pod.metadata.namespace },
          }),
        });
        if (response.ok || response.status === 404) break;
        // 429: a PodDisruptionBudget forbids it for now; try again until the deadline, as kubectl drain does.
        if (response.status !== 429 || Date.now() > deadline)
          await fail(response, `evicting pod ${pod.metadata.namespace}/${pod.metadata.name}`);
        await new Promise((r) => setTimeout(r, 1000));
      }
      evicted++;
      log(`pod/${pod.metadata.name} evicted (namespace ${pod.metadata.namespace})`);
    }
    // Evicted pods terminate on the node (their grace period); the node is deleted only once they are gone.
    for (;;) {
      const left = (await podsOn(fetcher, name)).filter((p) => !isDaemon(p) && !isMirror(p));
      if (left.length === 0) break;
      if (Date.now() > deadline && options.force) {
        for (const pod of left) await forceDelete(fetcher, pod);
        log(
          `${left.length} pod(s) deleted without waiting for node/${name}: ${left.map((p) => p.metadata.name).join(", ")}`,
        );
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(
          `node/${name}: ${left.length} pod(s) still terminating (${left.map((p) => p.metadata.name).join(", ")}); is its agent running? re-run with --force to delete them without it`,
        );
      await new Promise((r) => setTimeout(r, 500));
    }
    if (drain.length) log(`node/${name} drained`);
  }

  // Revoke before deleting the Node, so the agent cannot register it again.
  const tokens: string[] = [];
  for (const token of await listJoinTokens(fetcher))
    if (token.node === name && (await deleteJoinToken(fetcher, token.id))) tokens.push(token.id);
  log(`${tokens.length} token(s) of node/${name} revoked${tokens.length ? `: ${tokens.join(", ")}` : ""}`);

  const lease = await fetcher(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${name}`, {
    method: "DELETE",
  });
  if (!lease.ok && lease.status !== 404) await fail(lease, `deleting lease ${name}`);
  const deleted = await fetcher(nodePath, { method: "DELETE" });
  if (deleted.ok) log(`node/${name} deleted`);
  else if (deleted.status !== 404) await fail(deleted, `deleting node/${name}`);

  let deletedPods = 0;
  for (const pod of await podsOn(fetcher, name)) {
    await forceDelete(fetcher, pod);
    deletedPods++;
  }
  if (deletedPods) log(`${deletedPods} DaemonSet/static pod(s) of node/${name} deleted`);
  return { evicted, tokens, deletedPods };
}
