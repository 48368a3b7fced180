/**
 * The HPA's view of its target and pods through the API: the scale
 * subresource of whatever scaleTargetRef names (found by discovery, so
 * Deployments, ReplicaSets, StatefulSets and custom resources with a scale
 * subresource alike), the pods its selector matches, and their PodMetrics.
 */
import type { KubeClient, KubeObject, ResourceRef } from "../../client/kube.ts";
import { parseQuantity } from "../../client/quantity.ts";
import { R } from "../../client/resources.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import type { PodInfo, PodMetric } from "./replicas.ts";

/** autoscaling/v1 Scale. */
export interface Scale extends KubeObject {
  spec?: { replicas?: number };
  status?: { replicas?: number; selector?: string };
}

/** The resource serving `kind` in `apiVersion`, from discovery (undefined: none). */
export async function resourceFor(
  client: KubeClient,
  apiVersion: string,
  kind: string,
): Promise<ResourceRef | undefined> {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const response = await client.request(group ? `/apis/${group}/${version}` : `/api/${version}`);
  if (!response.ok) return undefined;
  const doc = (await response.json()) as {
    resources?: { name: string; kind: string; namespaced: boolean }[];
  };
  const found = doc.resources?.find((r) => r.kind === kind && !r.name.includes("/"));
  return found && { group, version, resource: found.name, namespaced: found.namespaced };
}

/** Total request of `resource` over a pod's containers, in milli-units; undefined when a container has none. */
function podRequest(pod: Pod, resource: string, container?: string): number | undefined {
  let total = 0;
  for (const c of pod.spec?.containers ?? []) {
    if (container && c.name !== container) continue;
    const q = parseQuantity((c.resources?.requests as Record<string, string> | undefined)?.[resource]);
    if (q === undefined) return undefined;
    total += q * 1000;
  }
  return Math.round(total);
}

/** What the calculator needs of each pod. */
export function podInfo(pod: Pod, resource: string, container?: string): PodInfo {
  const ready = pod.status?.conditions?.find((c) => c.type === "Ready");
  return {
    name: pod.metadata.name ?? "",
    phase: pod.status?.phase,
    deleting: pod.metadata.deletionTimestamp !== undefined,
    startTime: pod.status?.startTime ? Date.parse(pod.status.startTime) : undefined,
    ready: ready && {
      status: ready.status === "True",
      lastTransitionTime: Date.parse(ready.lastTransitionTime ?? "") || 0,
    },
    request: podRequest(pod, resource, container),
  };
}

/** The pods of a selector (a label selector string, as Scale.status.selector). */
export async function podsOf(client: KubeClient, namespace: string, selector: string): Promise<Pod[]> {
  return (await client.list<Pod>(R.pods, namespace, { labelSelector: selector })).items;
}

/** A PodMetrics list's usage of `resource` per pod, in milli-units (summed over containers, or one container). */
export async function podMetrics(
  client: KubeClient,
  namespace: string,
  selector: string,
  resource: string,
  container?: string,
): Promise<Map<string, PodMetric>> {
  const query = new URLSearchParams({ labelSelector: selector });
  const response = await client.request(`/apis/metrics.k8s.io/v1beta1/namespaces/${namespace}/pods?${query}`);
  if (!response.ok) throw new Error(`unable to get metrics for resource ${resource}: ${response.status}`);
  const list = (await response.json()) as {
    items: {
      metadata: { name: string };
      timestamp: string;
      window: string;
      containers: { name: string; usage: Record<string, string> }[];
    }[];
  };
  const out = new Map<string, PodMetric>();
  for (const item of list.items) {
    let value = 0;
    let found = false;
    for (const c of item.containers) {
      if (container && c.name !== container) continue;
      const q = parseQuantity(c.usage[resource]);
      if (q === undefined) continue;
      value += q * 1000;
      found = true;
    }
    if (found)
      out.set(item.metadata.name, {
        value: Math.round(value),
        timestamp: Date.parse(item.timestamp),
        windowMs: (Number.parseFloat(item.window) || 0) * 1000,
      });
  }
  return out;
}
