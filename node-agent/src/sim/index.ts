/**
 * Simulated nodes (KWOK's idea): register N Nodes with Leases, renew the
 * leases, and play kubelet for the pods bound to them (Running/Ready, or
 * Succeeded/Failed for pods meant to finish), all through the Kubernetes API.
 * Stopping one node's heartbeat simulates a node failure. Used by the
 * controller/scheduler end-to-end tests and the scheduler benchmark.
 */
import type { KubeClient, WatchEvent } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import { reassertReady, registerNode, renewLease, type SimNodeSpec } from "./node.ts";
import { type SimPod, syncPod } from "./pods.ts";

export { EXIT_CODE_ANNOTATION, READY_ANNOTATION } from "./pods.ts";

/** Options for startSimulatedNodes. */
export interface SimulatedNodesOptions {
  client: KubeClient;
  count: number;
  /** Node names are `${namePrefix}${i}` (default "sim-node-"). */
  namePrefix?: string;
  /** Capacity = allocatable (default cpu 4, memory 16Gi, pods 110, ephemeral-storage 100Gi). */
  capacity?: Record<string, string>;
  labels?: Record<string, string>;
  taints?: SimNodeSpec["taints"];
  now?: () => Date;
  /** Lease duration written to the Lease (default 40 s). */
  leaseDurationSeconds?: number;
  /** How often leases are renewed (default 10 s, as the kubelet does). */
  renewIntervalMs?: number;
  /** Concurrent API calls for registration and renewals (default 16). */
  concurrency?: number;
  /** Play kubelet for bound pods (default true); off, nodes only heartbeat (scheduler benchmarks). */
  kubelet?: boolean;
  /** Called with errors the background loops hit (default: console.warn). */
  onError?: (error: unknown) => void;
}

/** Handle on running simulated nodes. */
export interface SimulatedNodes {
  names: string[];
  /** Stop one node's heartbeat and kubelet: it looks dead to the control plane. */
  stopNode(name: string): void;
  /** Pods the simulated kubelets have written status for or confirmed deleted. */
  readonly handled: number;
  /** Stop everything (leases, watch); Nodes stay registered. */
  stop(): Promise<void>;
}

async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++]);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

/** Retry a call that failed in transport (not with an API Status): connections drop under load. */
export async function retryTransport<T>(fn: () => Promise<T>, attempts = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (error) {
      if (error instanceof ApiError || i >= attempts) throw error;
      await new Promise((r) => setTimeout(r, 100 * 2 ** i));
    }
  }
}

/** Register the nodes, start their heartbeats and their pod handling. */
export async function startSimulatedNodes(options: SimulatedNodesOptions): Promise<SimulatedNodes> {
  const { client } = options;
  const now = options.now ?? (() => new Date());
  const onError = options.onError ?? ((e: unknown) => console.warn(`sim: ${(e as Error).message}`));
  const prefix = options.namePrefix ?? "sim-node-";
  const capacity = options.capacity ?? {
    cpu: "4",
    memory: "16Gi",
    pods: "110",
    "ephemeral-storage": "100Gi",
  };
  const specs: SimNodeSpec[] = Array.from({ length: options.count }, (_, index) => ({
    name: `${prefix}${index}`,
    index,
    capacity,
    labels: options.labels ?? {},
    taints: options.taints,
    leaseDurationSeconds: options.leaseDurationSeconds ?? 40,
  }));
  const live = new Map(specs.map((s) => [s.name, s]));
  const ipCounters = new Map<string, number>();
  const concurrency = options.concurrency ?? 16;

  try {
    await client.create(R.namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "kube-node-lease" },
    });
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 409)) throw error;
  }
  const abort = new AbortController();
  const stopped = new Promise<undefined>((resolve) =>
    abort.signal.addEventListener("abort", () => resolve(undefined)),
  );
  let handled = 0;
  // Each node heartbeats on its own clock from the moment it registers, as independent kubelets do:
  // renewing all nodes as one batch would make the last of 1,000 wait behind the first 999.
  const interval = options.renewIntervalMs ?? 10_000;
  const nextBeat = new Map<string, number>();
  const beating = new Set<string>();
  const heartbeat = async (s: SimNodeSpec) => {
    beating.add(s.name);
    try {
      await renewLease(client, s.name, now());
      await reassertReady(client, s, now());
    } catch (error) {
      if (!abort.signal.aborted) onError(error);
    } finally {
      beating.delete(s.name);
    }
  };
  const renew = setInterval(
    () => {
      const t = Date.now();
      for (const s of live.values()) {
        const at = nextBeat.get(s.name);
        if (at === undefined || at > t || beating.has(s.name) || beating.size >= concurrency * 4) continue;
        nextBeat.set(s.name, t + interval);
        void heartbeat(s);
      }
    },
    Math.min(250, interval),
  );

  try {
    await eachLimit(specs, concurrency, async (s) => {
      await retryTransport(() => registerNode(client, s, now()));
      nextBeat.set(s.name, Date.now() + interval);
    });
  } catch (error) {
    clearInterval(renew);
    throw error;
  }

  const hostIP = (s: SimNodeSpec) => `10.250.${Math.floor(s.index / 250)}.${(s.index % 250) + 1}`;
  const podIP = (s: SimNodeSpec) => () => {
    const n = (ipCounters.get(s.name) ?? 1) + 1;
    ipCounters.set(s.name, n);
    return `10.${64 + Math.floor(s.index / 256)}.${s.index % 256}.${n % 254 || 254}`;
  };
  const inFlight = new Set<Promise<void>>();
  const onPod = (pod: SimPod) => {
    const spec = pod.spec?.nodeName ? live.get(pod.spec.nodeName) : undefined;
    if (!spec) return;
    const work = syncPod(client, pod, hostIP(spec), podIP(spec), now())
      .then((wrote) => {
        if (wrote) handled++;
      })
      .catch((error) => {
        if (!abort.signal.aborted) onError(error);
      })
      .finally(() => inFlight.delete(work));
    inFlight.add(work);
  };

  // List, then watch from the list's resourceVersion; relist when the watch ends or expires.
  const podLoop = (async () => {
    while (!abort.signal.aborted && options.kubelet !== false) {
      try {
        const list = await client.list<SimPod>(R.pods);
        for (const pod of list.items) onPod(pod);
        const events = client.watch<SimPod>(R.pods, undefined, {
          resourceVersion: list.metadata.resourceVersion,
          allowWatchBookmarks: true,
          signal: abort.signal,
        });
        // Race each read against the abort: a transport may not end a stalled stream when its signal fires.
        const iterator = (events as AsyncIterable<WatchEvent<SimPod>>)[Symbol.asyncIterator]();
        for (;;) {
          const next = await Promise.race([iterator.next(), stopped]);
          if (!next || next.done) break;
          const event = next.value;
          if (event.type === "ADDED" || event.type === "MODIFIED") onPod(event.object);
          if (event.type === "ERROR") break;
        }
      } catch (error) {
        if (abort.signal.aborted) break;
        onError(error);
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  })();

  return {
    names: specs.map((s) => s.name),
    stopNode: (name) => {
      live.delete(name);
    },
    get handled() {
      return handled;
    },
    stop: async () => {
      abort.abort();
      clearInterval(renew);
      await podLoop;
      await Promise.allSettled([...inFlight]);
    },
  };
}
