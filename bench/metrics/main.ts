/**
 * Cost of the resource-metrics pipeline (prints figures; not a test).
 * `npm run bench -- metrics`   sizes: BENCH_NODES (100), BENCH_PODS_PER_NODE (30)
 *
 * The real Worker under workerd (test/e2e/harness.ts) with BENCH_NODES Nodes
 * and BENCH_NODES × BENCH_PODS_PER_NODE Pods bound to them. Then:
 *  - push: every node's sample (one container per pod) POSTed as agents do, as
 *    fast as 16 clients can: pushes/s the control plane sustains, and its CPU
 *    per push, against the steady need of nodes / 15 s;
 *  - read: `GET metrics.k8s.io/v1beta1/pods` across all namespaces and
 *    `.../nodes` (what `kubectl top pods -A` / `top nodes` do), p50/p99.
 * CPU is workerd's (the harness's child processes), from /proc.
 */
import { readdirSync, readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { startControlPlane } from "../../test/e2e/harness.ts";
import type { NodeSample } from "../../workers/client/metrics-sample.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

const NODES = Number(process.env.BENCH_NODES ?? 100);
const PODS_PER_NODE = Number(process.env.BENCH_PODS_PER_NODE ?? 30);
const ROUNDS = 10;

/** utime+stime (s) of this process's descendants (workerd). */
function childrenCpuSeconds(): number {
  const parents = new Map<number, number>();
  const ticks = new Map<number, number>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      parents.set(Number(entry), Number(fields[1]));
      ticks.set(Number(entry), Number(fields[11]) + Number(fields[12]));
    } catch {
      // exited meanwhile
    }
  }
  const isDescendant = (pid: number): boolean => {
    for (let p = parents.get(pid); p !== undefined && p > 1; p = parents.get(p))
      if (p === process.pid) return true;
    return false;
  };
  let total = 0;
  for (const [pid, t] of ticks) if (isDescendant(pid)) total += t;
  return total / 100;
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

const cp = await startControlPlane();
try {
  console.log(`metrics bench: ${NODES} nodes × ${PODS_PER_NODE} pods (load ${loadavg()[0].toFixed(2)})`);
  const json = { "Content-Type": "application/json" };
  const post = async (path: string, body: object) => {
    const r = await cp.fetch(path, { method: "POST", headers: json, body: JSON.stringify(body) });
    if (!r.ok) throw new Error(`${path}: ${r.status} ${await r.text()}`);
    return (await r.json()) as { metadata: { name: string; namespace?: string; uid: string } };
  };
  const nodes = Array.from({ length: NODES }, (_, i) => `bench-n${i}`);
  await closedLoop(NODES, 16, async (i) => {
    await post("/api/v1/nodes", { metadata: { name: nodes[i] } });
  });
  const pods: { node: number; name: string; namespace: string; uid: string }[] = [];
  const setup = await closedLoop(NODES * PODS_PER_NODE, 32, async (i) => {
    const node = Math.floor(i / PODS_PER_NODE);
    const created = await post(`/api/v1/namespaces/default/pods`, {
      metadata: { name: `bench-p${i}`, labels: { app: `a${i % 10}` } },
      spec: { nodeName: nodes[node], containers: [{ name: "app", image: "busybox" }] },
    });
    pods.push({ node, name: created.metadata.name, namespace: "default", uid: created.metadata.uid });
  });
  console.log(`setup: ${pods.length} pods in ${setup.seconds.toFixed(1)} s`);
  const samples: NodeSample[] = nodes.map((_, n) => ({
    timestamp: new Date().toISOString(),
    windowSeconds: 15,
    node: { cpuNanoCores: 1_500_000_000, memoryBytes: 8 * 1024 ** 3 },
    pods: pods
      .filter((p) => p.node === n)
      .map((p) => ({
        ...p,
        containers: [{ name: "app", cpuNanoCores: 12_345_678, memoryBytes: 50 * 1024 ** 2 }],
      })),
  }));
  console.log(`sample size: ${JSON.stringify(samples[0]).length} bytes per node`);

  const cpu0 = childrenCpuSeconds();
  const push = await closedLoop(NODES * ROUNDS, 16, async (i) => {
    const n = i % NODES;
    const r = await cp.fetch(`/edgeplane/v1/metrics/${nodes[n]}`, {
      method: "POST",
      headers: json,
      body: JSON.stringify({ ...samples[n], timestamp: new Date().toISOString() }),
    });
    if (r.status !== 204) throw new Error(`push: ${r.status} ${await r.text()}`);
  });
  const pushCpu = childrenCpuSeconds() - cpu0;
  const perPush = pushCpu / (NODES * ROUNDS);
  console.log(
    `push: ${(push.latencies.length / push.seconds).toFixed(0)} pushes/s, p50 ${ms(percentile(push.latencies, 50))}, p99 ${ms(percentile(push.latencies, 99))}; ` +
      `workerd CPU ${(perPush * 1000).toFixed(2)} ms/push → steady load at 15 s: ${(NODES / 15).toFixed(1)} pushes/s ≈ ${(((perPush * NODES) / 15) * 100).toFixed(1)} % of a core`,
  );

  for (const [what, path] of [
    ["top pods -A", "/apis/metrics.k8s.io/v1beta1/pods"],
    ["top nodes", "/apis/metrics.k8s.io/v1beta1/nodes"],
    [
      "top pods -l (1/10 of pods)",
      "/apis/metrics.k8s.io/v1beta1/namespaces/default/pods?labelSelector=app%3Da3",
    ],
  ] as const) {
    let items = 0;
    const read = await closedLoop(20, 1, async () => {
      const r = await cp.fetch(path);
      items = ((await r.json()) as { items: unknown[] }).items.length;
    });
    console.log(
      `${what}: ${items} items, p50 ${ms(percentile(read.latencies, 50))}, p99 ${ms(percentile(read.latencies, 99))}`,
    );
  }
} finally {
  await cp.stop();
}
