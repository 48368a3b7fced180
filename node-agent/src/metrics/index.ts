/**
 * Resource metrics on the agent: every period, read the node and each running
 * container's cgroup (cgroup.ts), turn the readings into rates
 * (collector.ts) and push the sample to the control plane (push.ts), which
 * serves it as metrics.k8s.io (docs/metrics.md).
 */
import type { ClientFetch } from "../../../workers/client/kube.ts";
import type { Clock } from "../clock.ts";
import type { Pod } from "../pod/k8s.ts";
import type { Runtime } from "../runtime/types.ts";
import { readCgroupUsage, readNodeUsage } from "./cgroup.ts";
import { type ContainerRef, MetricsCollector } from "./collector.ts";
import { pushLoop } from "./push.ts";

/** What the agent hands the metrics loop. */
export interface CollectOptions {
  server: string;
  node: string;
  token: string;
  fetch: ClientFetch;
  intervalMs: number;
  runtimes: Map<string, Runtime>;
  /** Per runtime handler: where a container's cgroup is (runtimes without an entry are not measured). */
  cgroupOf: Map<string, (containerId: string, podUid: string) => string>;
  /** The pod this agent runs with that uid (undefined: not ours, e.g. a leftover). */
  pod: (uid: string) => Pod | undefined;
  clock: Clock;
  signal: AbortSignal;
  log: (message: string) => void;
}

/** The running containers of this agent's pods, with their cgroups. */
export async function runningContainers(options: CollectOptions): Promise<ContainerRef[]> {
  const refs: ContainerRef[] = [];
  for (const [handler, runtime] of options.runtimes) {
    const cgroupOf = options.cgroupOf.get(handler);
    if (!cgroupOf) continue;
    for (const c of await runtime.listContainers()) {
      const pod = options.pod(c.podUid);
      if (c.state !== "running" || !pod) continue;
      refs.push({
        id: c.id,
        name: c.name,
        podUid: c.podUid,
        namespace: pod.metadata.namespace ?? "default",
        podName: pod.metadata.name ?? "",
        cgroup: cgroupOf(c.id, c.podUid),
      });
    }
  }
  return refs;
}

/** Sample and push until the agent stops. */
export function collectMetrics(options: CollectOptions): Promise<void> {
  const collector = new MetricsCollector(
    { node: () => readNodeUsage(), cgroup: (path) => readCgroupUsage(path) },
    options.clock,
  );
  return pushLoop({ ...options, sample: async () => collector.sample(await runningContainers(options)) });
}
