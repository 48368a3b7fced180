/**
 * metrics.k8s.io/v1beta1 NodeMetrics and PodMetrics, as metrics-server serves
 * them: read-only (get, list), computed per request from the nodes' latest
 * samples (services.metrics) joined with the Node and Pod objects, whose
 * labels and fields the selectors match. Never stored. CPU is printed in
 * nanocores ("n"), memory (the working set) in Ki, as metrics-server does.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { NodeSample, UsagePoint } from "../../client/metrics-sample.ts";
import { ApiError } from "../../client/status.ts";
import { col } from "../kinds/print.ts";
import type { MetricsService } from "../platform.ts";
import { selectorFromQuery } from "../registry/selectors.ts";
import type { ReadRequest, StorageOverride, Strategy } from "../registry/types.ts";

const GROUP_VERSION = "metrics.k8s.io/v1beta1";

/** A quantity map as metrics-server writes it. */
function usageQuantities(u: UsagePoint): { cpu: string; memory: string } {
  return { cpu: `${u.cpuNanoCores}n`, memory: `${Math.floor(u.memoryBytes / 1024)}Ki` };
}

/** A Go duration string for a window in seconds ("15s", "1.5s"). */
function windowOf(seconds: number): string {
  return `${Number(seconds.toFixed(3))}s`;
}

type Sample = NodeSample & { nodeName: string };

async function samples(metrics: MetricsService | undefined): Promise<Sample[]> {
  return metrics ? metrics.samples() : [];
}

function metadataFrom(source: KubeObject, now: Date): Record<string, unknown> {
  const m: Record<string, unknown> = { name: source.metadata?.name, creationTimestamp: now.toISOString() };
  if (source.metadata?.namespace) m.namespace = source.metadata.namespace;
  if (source.metadata?.labels) m.labels = source.metadata.labels;
  return m;
}

function nodeMetrics(node: KubeObject, sample: Sample, now: Date): KubeObject {
  return {
    kind: "NodeMetrics",
    apiVersion: GROUP_VERSION,
    metadata: metadataFrom(node, now),
    timestamp: sample.timestamp,
    window: windowOf(sample.windowSeconds),
    usage: usageQuantities(sample.node),
  } as KubeObject;
}

function podMetrics(pod: KubeObject, sample: Sample, now: Date): KubeObject | undefined {
  const found = sample.pods.find((p) => p.uid === pod.metadata?.uid);
  if (!found) return undefined;
  return {
    kind: "PodMetrics",
    apiVersion: GROUP_VERSION,
    metadata: metadataFrom(pod, now),
    timestamp: sample.timestamp,
    window: windowOf(sample.windowSeconds),
    containers: found.containers.map((c) => ({ name: c.name, usage: usageQuantities(c) })),
  } as KubeObject;
}

/** The Node or Pod row a metrics kind is computed from. */
function sourceOf(request: ReadRequest, resource: "nodes" | "pods") {
  const info = request.registry.lookup("", resource);
  if (!info) throw new ApiError("InternalError", `no ${resource} resource`);
  return info;
}

function notFound(request: ReadRequest, name: string): never {
  throw new ApiError("NotFound", `${request.info.singular}.${request.info.group} "${name}" not found`);
}

/** NodeMetrics: a Node's latest sample. */
export const nodeMetricsStorage: StorageOverride = {
  async get(request) {
    const node = await request.registry.get(sourceOf(request, "nodes"), undefined, request.name);
    const sample = (await samples(request.services.metrics)).find((s) => s.nodeName === request.name);
    if (!sample) notFound(request, request.name);
    return nodeMetrics(node, sample, request.now);
  },
  async list(request) {
    const info = sourceOf(request, "nodes");
    const page = await request.registry.list(info, undefined, {
      match: selectorFromQuery(request.url, info),
    });
    const byNode = new Map((await samples(request.services.metrics)).map((s) => [s.nodeName, s]));
    const items = page.items.flatMap((node) => {
      const sample = byNode.get(node.metadata?.name ?? "");
      return sample ? [nodeMetrics(node, sample, request.now)] : [];
    });
    return { items, resourceVersion: "" };
  },
};

/** PodMetrics: a Pod's containers from its node's latest sample (the pod as it is now: same uid). */
export const podMetricsStorage: StorageOverride = {
  async get(request) {
    const pod = await request.registry.get(sourceOf(request, "pods"), request.namespace, request.name);
    const node = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
    const sample = (await samples(request.services.metrics)).find((s) => s.nodeName === node);
    const metrics = sample && podMetrics(pod, sample, request.now);
    if (!metrics) notFound(request, request.name);
    return metrics;
  },
  async list(request) {
    const info = sourceOf(request, "pods");
    const page = await request.registry.list(info, request.namespace, {
      match: selectorFromQuery(request.url, info),
    });
    const byNode = new Map((await samples(request.services.metrics)).map((s) => [s.nodeName, s]));
    const items = page.items.flatMap((pod) => {
      const sample = byNode.get((pod.spec as { nodeName?: string } | undefined)?.nodeName ?? "");
      const metrics = sample && podMetrics(pod, sample, request.now);
      return metrics ? [metrics] : [];
    });
    return { items, resourceVersion: "" };
  },
};

interface Metrics {
  window?: string;
  usage?: { cpu?: string; memory?: string };
  containers?: { usage?: { cpu?: string; memory?: string } }[];
}

/** Nanocores and Ki summed over a PodMetrics' containers, printed as `kubectl top` does (millicores, Mi). */
function printed(usage: { cpu?: string; memory?: string }[]): [string, string] {
  let nanos = 0;
  let kib = 0;
  for (const u of usage) {
    nanos += Number.parseInt(u.cpu ?? "0", 10);
    kib += Number.parseInt(u.memory ?? "0", 10);
  }
  return [`${Math.round(nanos / 1e6)}m`, `${Math.round(kib / 1024)}Mi`];
}

const COLUMNS = [
  col("CPU", "CPU usage (sum over containers for a pod)"),
  col("Memory", "Memory working set"),
  col("Window", "The interval the usage was measured over"),
];

/** Read-only: nothing is ever created, so validation has nothing to see. */
export const nodeMetricsStrategy: Strategy<Metrics & KubeObject> = {
  validate: () => [],
  columns: COLUMNS,
  row: (m) => [...printed([m.usage ?? {}]), m.window ?? ""],
};

/** Read-only, as NodeMetrics. */
export const podMetricsStrategy: Strategy<Metrics & KubeObject> = {
  validate: () => [],
  columns: COLUMNS,
  row: (m) => [...printed((m.containers ?? []).map((c) => c.usage ?? {})), m.window ?? ""],
};
