/**
 * The pure scheduling algorithm over in-memory objects: 1,000 nodes and
 * 10,000 pending pods with requests (100 owners of 100 replicas each).
 * Prints pods scheduled per second and per-pod decision latency.
 */
import type { Node, Pod } from "../../workers/reconcile/k8s.ts";
import { ClusterState } from "../../workers/scheduler/cluster-state.ts";
import { Scheduler } from "../../workers/scheduler/schedule.ts";
import { percentile } from "../lib/stats.ts";

/** Nodes with generous capacity and a zone label. */
export function benchNodes(count: number): Node[] {
  return Array.from({ length: count }, (_, i) => {
    const allocatable = { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "500Gi" };
    return {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: `node-${i}`, labels: { "kubernetes.io/hostname": `node-${i}`, zone: `z${i % 3}` } },
      spec: {},
      status: { allocatable, capacity: allocatable, conditions: [{ type: "Ready", status: "True" }] },
    };
  });
}

/** Pending pods with cpu/memory requests, grouped under `owners` ReplicaSets. */
export function benchPods(count: number, owners = 100): Pod[] {
  return Array.from({ length: count }, (_, i) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: {
      name: `pod-${i}`,
      namespace: "bench",
      uid: `uid-${i}`,
      creationTimestamp: "2026-01-01T00:00:00Z",
      ownerReferences: [
        {
          apiVersion: "apps/v1",
          kind: "ReplicaSet",
          name: `rs-${i % owners}`,
          uid: `rs-${i % owners}`,
          controller: true,
        },
      ],
    },
    spec: {
      containers: [
        {
          name: "c",
          image: "x",
          resources: { requests: { cpu: `${100 + (i % 5) * 100}m`, memory: `${128 * (1 + (i % 4))}Mi` } },
        },
      ],
    },
  }));
}

/** Run the in-memory benchmark and print its figures. */
export function runPure(nodeCount: number, podCount: number): void {
  const nodes = benchNodes(nodeCount);
  const pods = benchPods(podCount);
  const started = performance.now();
  const scheduler = new Scheduler(nodes, []);
  const setup = performance.now() - started;
  const latencies: number[] = [];
  let bound = 0;
  for (const pod of pods) {
    const t = performance.now();
    const d = scheduler.scheduleOne(pod);
    latencies.push(performance.now() - t);
    if (d.node) bound++;
  }
  const total = performance.now() - started;
  latencies.sort((a, b) => a - b);
  console.log(`pure schedule(): ${nodeCount} nodes, ${podCount} pending pods`);
  console.log(
    `  scheduled        ${bound}/${podCount} pods in ${total.toFixed(0)} ms (setup ${setup.toFixed(1)} ms)`,
  );
  console.log(`  throughput       ${((bound / total) * 1000).toFixed(0)} pods/s`);
  console.log(
    `  per-pod decision p50 ${percentile(latencies, 50).toFixed(3)} ms, p99 ${percentile(latencies, 99).toFixed(3)} ms`,
  );
}

/**
 * What a pass pays to know the nodes' accounting with every pod bound: a fresh count (what each pass did
 * before the state was kept) against bringing a kept state up to lists where one pod changed.
 */
export function runAccounting(nodeCount: number, podCount: number): void {
  const nodes = benchNodes(nodeCount);
  const pods = benchPods(podCount).map((p, i) => ({
    ...p,
    spec: { ...p.spec, nodeName: `node-${i % nodeCount}` },
  }));
  const rounds = 20;
  let t = performance.now();
  for (let r = 0; r < rounds; r++) new ClusterState().update(nodes, pods);
  const fresh = (performance.now() - t) / rounds;
  const state = new ClusterState();
  state.update(nodes, pods);
  t = performance.now();
  for (let r = 0; r < rounds; r++) {
    const changed = [...pods];
    changed[r] = { ...pods[r], metadata: { ...pods[r].metadata, labels: { round: `${r}` } } };
    state.update(nodes, changed);
  }
  const incremental = (performance.now() - t) / rounds;
  console.log(
    `  accounting       ${podCount} bound pods on ${nodeCount} nodes: fresh count ${fresh.toFixed(2)} ms, kept state after one change ${incremental.toFixed(2)} ms (${(fresh / incremental).toFixed(0)}×)`,
  );
}
