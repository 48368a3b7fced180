/**
 * Turns cumulative readings into rates: each call reads the node and the
 * given containers' cgroups, and reports the CPU used since the previous call
 * divided by the time between them (cadvisor/metrics-server's rate over a
 * window). A container seen for the first time has no rate yet and appears
 * from the next sample on.
 */

import type { NodeSample, PodSample } from "../../../workers/client/metrics-sample.ts";
import type { Clock } from "../clock.ts";
import type { Usage } from "./cgroup.ts";

/** A running container and where its cgroup is. */
export interface ContainerRef {
  id: string;
  name: string;
  podUid: string;
  namespace: string;
  podName: string;
  /** Cgroup path relative to the cgroup root. */
  cgroup: string;
}

/** What the collector reads (cgroup.ts in the agent, fixtures in tests). */
export interface UsageReaders {
  node(): Usage | undefined;
  cgroup(path: string): Usage | undefined;
}

interface Reading {
  at: number;
  cpuNanos: number;
}

/** Keeps the previous readings and produces samples. */
export class MetricsCollector {
  private previous = new Map<string, Reading>();

  constructor(
    private readonly readers: UsageReaders,
    private readonly clock: Clock,
  ) {}

  /** A sample for now; undefined on the first call (no window yet) or when the node cannot be read. */
  sample(containers: ContainerRef[]): NodeSample | undefined {
    const at = this.clock.now().getTime();
    const next = new Map<string, Reading>();
    const rate = (key: string, usage: Usage) => {
      next.set(key, { at, cpuNanos: usage.cpuNanos });
      const before = this.previous.get(key);
      if (!before || at <= before.at) return undefined;
      // A counter that went back is a new cgroup under the same key: no rate this time.
      if (usage.cpuNanos < before.cpuNanos) return undefined;
      return {
        cpuNanoCores: Math.round(((usage.cpuNanos - before.cpuNanos) * 1e9) / ((at - before.at) * 1e6)),
        memoryBytes: usage.workingSetBytes,
        since: before.at,
      };
    };
    const nodeUsage = this.readers.node();
    const node = nodeUsage && rate("node", nodeUsage);
    const pods = new Map<string, PodSample>();
    for (const c of containers) {
      const usage = this.readers.cgroup(c.cgroup);
      const point = usage && rate(`c:${c.id}`, usage);
      if (!point) continue;
      let pod = pods.get(c.podUid);
      if (!pod) {
        pod = { namespace: c.namespace, name: c.podName, uid: c.podUid, containers: [] };
        pods.set(c.podUid, pod);
      }
      pod.containers.push({ name: c.name, cpuNanoCores: point.cpuNanoCores, memoryBytes: point.memoryBytes });
    }
    this.previous = next;
    if (!node) return undefined;
    return {
      timestamp: new Date(at).toISOString(),
      windowSeconds: (at - node.since) / 1000,
      node: { cpuNanoCores: node.cpuNanoCores, memoryBytes: node.memoryBytes },
      pods: [...pods.values()],
    };
  }
}
