/**
 * Sub-shard simulation (prints figures; not a test): the write traffic of
 * 5,000 nodes (issue 20) through the real sharded store routing
 * (durable-objects/store/sharded.ts over the in-memory store), counted per
 * store object per simulated second, with pods on 1 shard and on 4.
 *
 * The traffic is kubelet's with node leases: each node renews its Lease
 * every 10 s, patches its Node status when the 5-minute report is due, and
 * writes a pod's status when the pod's state changes, modelled as a Poisson
 * process of one status write per pod per POD_STATUS_SECONDS (default 60).
 * Each update is a read and a CAS write, as the registry's guaranteed update
 * does, so an object sees two requests per update.
 * Time is simulated (no sleeping), so the figures are the offered load per
 * object, which is what a Durable Object's ~1,000 requests/s cap bounds; the
 * anchor printed beside each object's rate is that cap.
 *
 *   npm run bench -- shards       NODES=5000 PODS_PER_NODE=30 POD_STATUS_SECONDS=60 SIM_SECONDS=60
 */
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createShardedStore, type ShardMap } from "../../durable-objects/store/sharded.ts";
import { type Store, shardFor } from "../../durable-objects/store/types.ts";

const NODES = Number(process.env.NODES ?? 5000);
const PODS_PER_NODE = Number(process.env.PODS_PER_NODE ?? 30);
const POD_STATUS_SECONDS = Number(process.env.POD_STATUS_SECONDS ?? 60);
const SIM_SECONDS = Number(process.env.SIM_SECONDS ?? 60);
const LEASE_SECONDS = 10;
const NODE_REPORT_SECONDS = 300;
/** Cloudflare's documented soft limit of one Durable Object: the anchor. */
const OBJECT_CAP = 1000;
const VALUE = JSON.stringify({ status: { phase: "Running", conditions: "x".repeat(160) } });

/** Deterministic PRNG (mulberry32), so runs compare. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** `base` with every get/create/update counted against the object (shard) it reaches, per simulated second. */
function counting(base: Store, clock: { second: number }, counts: Map<string, number[]>): Store {
  const count = (key: string) => {
    const shard = shardFor(key);
    let perSecond = counts.get(shard);
    if (!perSecond) {
      perSecond = new Array(SIM_SECONDS).fill(0);
      counts.set(shard, perSecond);
    }
    if (clock.second >= 0) perSecond[clock.second]++;
  };
  // A Proxy, so every other method reaches the store unchanged (a spread would drop a class's methods).
  return new Proxy(base, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      if (prop === "create" || prop === "update" || prop === "get")
        return (key: string, ...rest: unknown[]) => {
          count(key);
          return value.call(target, key, ...rest);
        };
      return value.bind(target);
    },
  });
}

interface Outcome {
  label: string;
  counts: Map<string, number[]>;
}

/** Runs the simulated cluster with `map` and returns the per-object per-second write counts. */
async function simulate(label: string, map: ShardMap): Promise<Outcome> {
  const clock = { second: -1 };
  const counts = new Map<string, number[]>();
  const memory = new MemoryStore();
  const store = createShardedStore(counting(memory, clock, counts), map);
  const rand = rng(20);
  const revs = new Map<string, number>();
  const write = async (key: string) => {
    const rev = revs.get(key);
    // The registry's guaranteed update reads the object, then writes it with CAS: two requests to its object.
    if (rev !== undefined) await store.get(key);
    const r = rev === undefined ? await store.create(key, VALUE) : await store.update(key, VALUE, rev);
    if (!r.succeeded) throw new Error(`lost write ${key}`);
    revs.set(key, r.revision);
  };
  const podKey = (n: number, p: number) => `/registry/core/pods/ns${p % 20}/node${n}-pod${p}`;
  // Setup (not counted): nodes, leases, pods exist before the clock starts.
  for (let n = 0; n < NODES; n++) {
    await write(`/registry/core/nodes/node${n}`);
    await write(`/registry/coordination.k8s.io/leases/kube-node-lease/node${n}`);
    for (let p = 0; p < PODS_PER_NODE; p++) await write(podKey(n, p));
  }
  const leasePhase = Array.from({ length: NODES }, () => Math.floor(rand() * LEASE_SECONDS));
  const reportPhase = Array.from({ length: NODES }, () => Math.floor(rand() * NODE_REPORT_SECONDS));
  const podRate = 1 / POD_STATUS_SECONDS;
  for (let s = 0; s < SIM_SECONDS; s++) {
    clock.second = s;
    for (let n = 0; n < NODES; n++) {
      if (s % LEASE_SECONDS === leasePhase[n])
        await write(`/registry/coordination.k8s.io/leases/kube-node-lease/node${n}`);
      if (s % NODE_REPORT_SECONDS === reportPhase[n]) await write(`/registry/core/nodes/node${n}`);
      for (let p = 0; p < PODS_PER_NODE; p++) if (rand() < podRate) await write(podKey(n, p));
    }
  }
  return { label, counts };
}

function percentile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
}

function report({ label, counts }: Outcome): void {
  console.log(`\n${label}`);
  console.log(
    "  object                              requests/s mean  p99 s   max s   anchor   ratio(max/anchor)",
  );
  let hottest = 0;
  for (const [shard, perSecond] of [...counts].sort((a, b) => a[0].localeCompare(b[0]))) {
    const mean = perSecond.reduce((a, b) => a + b, 0) / perSecond.length;
    const max = Math.max(...perSecond);
    hottest = Math.max(hottest, max);
    console.log(
      `  ${shard.padEnd(36)} ${mean.toFixed(0).padStart(8)} ${String(percentile(perSecond, 0.99)).padStart(8)} ${String(max).padStart(7)} ${String(OBJECT_CAP).padStart(8)}   ${(max / OBJECT_CAP).toFixed(2)}`,
    );
  }
  // Traffic grows linearly with nodes, so the cap is reached at this many nodes (by the hottest object's peak second).
  const ceiling = Math.floor((NODES * OBJECT_CAP) / hottest);
  console.log(`  hottest object peak ${hottest}/s → ceiling at the ${OBJECT_CAP}/s cap: ~${ceiling} nodes`);
}

async function main(): Promise<void> {
  console.log(
    `sub-shard simulation: ${NODES} nodes × ${PODS_PER_NODE} pods, lease every ${LEASE_SECONDS} s, ` +
      `node status every ${NODE_REPORT_SECONDS} s, one status write per pod per ${POD_STATUS_SECONDS} s (Poisson), ` +
      `${SIM_SECONDS} simulated s; anchor = one Durable Object's ~${OBJECT_CAP} requests/s`,
  );
  const began = performance.now();
  report(await simulate("pods on 1 object (STORE_SHARDS unset)", {}));
  report(await simulate("pods on 4 objects (STORE_SHARDS=core/pods=4)", { "core/pods": 4 }));
  report(
    await simulate("pods on 4, leases on 2 (STORE_SHARDS=core/pods=4,coordination.k8s.io/leases=2)", {
      "core/pods": 4,
      "coordination.k8s.io/leases": 2,
    }),
  );
  report(
    await simulate("pods on 8, leases on 2 (STORE_SHARDS=core/pods=8,coordination.k8s.io/leases=2)", {
      "core/pods": 8,
      "coordination.k8s.io/leases": 2,
    }),
  );
  console.log(`\n(${((performance.now() - began) / 1000).toFixed(1)} s of wall time)`);
}

await main();
