/**
 * List benchmark: GET of a pod collection of 1,000 and 10,000 pods through
 * the in-process API server (JSON, a Table, limit=500 paging) at 1 and 10
 * clients, with the store's own list + JSON.parse in the same run as the
 * anchor. Pods are seeded by copying one pod created through the API (so
 * they carry defaults and managedFields like real ones) straight into the
 * store: seeding 10,000 through the API would dwarf the lists.
 * STORE_SHARDS=core/pods=4 runs it with pods split over 4 store sub-shards.
 *
 * Each size is also listed with resourceVersion=0, which the watch cache
 * answers (registry/watch-cache.ts: a pod watcher is kept open so the cache
 * is ready, as controllers and kubelets keep one in a cluster), side by
 * side with the consistent list that reads the store, against the issue's
 * goals: 10,000 pods in ≤ 500 ms, 1,000 pods at 10 clients in ≤ 50 ms p99.
 */
import { loadavg } from "node:os";

import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createShardedStore, parseShardMap } from "../../durable-objects/store/sharded.ts";
import { createApiServer } from "../../workers/apiserver/app.ts";
import { RESOURCES } from "../../workers/apiserver/kinds/index.ts";
import { WatchCache } from "../../workers/apiserver/registry/watch-cache.ts";
import { ADMIN_USER } from "../../workers/apiserver/tokens.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

const TOKEN = "bench-token";
const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };

/** A store holding `count` pods in namespace default, and the API server over it. */
async function seeded(count: number) {
  const memory = new MemoryStore();
  // STORE_SHARDS=core/pods=4 lists pods split over 4 sub-shards (merged per request).
  const shards = parseShardMap(process.env.STORE_SHARDS);
  const store = createShardedStore(memory, shards);
  const watchCache = new WatchCache();
  const app = createApiServer({
    store: memory,
    shards,
    watchCache,
    resources: RESOURCES,
    authenticate: async (r) =>
      r.headers.get("Authorization") === `Bearer ${TOKEN}` ? ADMIN_USER : undefined,
  });
  const created = await app.request("http://bench/api/v1/namespaces/default/pods", {
    method: "POST",
    headers,
    body: JSON.stringify({
      metadata: { name: "p0", labels: { app: "bench" } },
      spec: { containers: [{ name: "c", image: "busybox:1.36", command: ["sleep", "3600"] }] },
    }),
  });
  if (created.status !== 201) throw new Error(`seed: ${created.status} ${await created.text()}`);
  const { kvs } = await store.listAt("/registry/core/pods/default/");
  const template = JSON.parse(kvs[0].value);
  for (let i = 1; i < count; i++) {
    template.metadata.name = `p${i}`;
    template.metadata.uid = `00000000-0000-4000-8000-${String(i).padStart(12, "0")}`;
    await store.create(`/registry/core/pods/default/p${i}`, JSON.stringify(template));
  }
  return { store, app, watchCache };
}

/** A pod watch kept open (drained) until `close`: what keeps the watch cache's state current. */
async function podWatcher(app: ReturnType<typeof createApiServer>, cache: WatchCache) {
  const listed = await app.request("http://bench/api/v1/pods?limit=1", { headers });
  const rv = ((await listed.json()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const abort = new AbortController();
  const response = await app.request(`http://bench/api/v1/pods?watch=true&resourceVersion=${rv}`, {
    headers,
    signal: abort.signal,
  });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const drained = (async () => {
    while (!(await reader.read().catch(() => ({ done: true }))).done);
  })();
  if (cache.watchers("/registry/core/pods/") !== 1 && !process.env.STORE_SHARDS)
    throw new Error("the pod watch did not reach the watch cache");
  return {
    close: async () => {
      abort.abort();
      await reader.cancel().catch(() => {});
      await drained;
    },
  };
}

/** GET `path` and read the whole body; the body's length. */
async function get(app: ReturnType<typeof createApiServer>, path: string, accept?: string): Promise<number> {
  const response = await app.request(`http://bench${path}`, {
    headers: accept ? { ...headers, Accept: accept } : headers,
  });
  const text = await response.text();
  if (response.status !== 200) throw new Error(`GET ${path}: ${response.status} ${text.slice(0, 200)}`);
  return text.length;
}

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

interface Figures {
  rate: number;
  p50: number;
  p99: number;
}

/** One line of figures: lists/s, p50, p99. */
async function timed(
  label: string,
  total: number,
  clients: number,
  op: () => Promise<unknown>,
): Promise<Figures> {
  const { seconds, latencies } = await closedLoop(total, clients, async () => {
    await op();
  });
  const f = { rate: total / seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
  console.log(
    `  ${label.padEnd(34)} ${f.rate.toFixed(1).padStart(7)} lists/s  p50 ${f.p50.toFixed(1).padStart(7)} ms  p99 ${f.p99.toFixed(1).padStart(7)} ms`,
  );
  return f;
}

/** The issue's goal for a list size and client count (p99 ms), if it names one. */
function goal(count: number, clients: number): number | undefined {
  if (count === 10000 && clients === 1) return 500;
  if (count === 1000 && clients === 10) return 50;
  return undefined;
}

/** The list figures at each size and client count. */
export async function benchList(sizes: number[], clientCounts: number[]): Promise<void> {
  console.log(
    `\nlists (in-process API server over MemoryStore; anchor: store.list + JSON.parse of each value), load average ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}:`,
  );
  for (const count of sizes) {
    const { store, app, watchCache } = await seeded(count);
    const path = "/api/v1/namespaces/default/pods";
    const bytes = await get(app, path);
    console.log(` ${count} pods (${(bytes / 1e6).toFixed(1)} MB as JSON):`);
    const watcher = await podWatcher(app, watchCache);
    // The first cacheable list loads the cache's state (one store list); the timed ones read it.
    await get(app, `${path}?resourceVersion=0`);
    for (const clients of clientCounts) {
      const total = Math.max(clients * 2, count >= 10000 ? 4 : 20);
      const consistent = await timed(`api JSON, ${clients} client(s)`, total, clients, () => get(app, path));
      const cached = await timed(`api JSON rv=0 (cache), ${clients} client(s)`, total, clients, () =>
        get(app, `${path}?resourceVersion=0`),
      );
      await timed(`store list+parse, ${clients} client(s)`, total, clients, async () => {
        const r = await store.listAt("/registry/core/pods/default/");
        for (const kv of r.kvs) JSON.parse(kv.value);
      });
      const target = goal(count, clients);
      console.log(
        `  → p99 consistent ${consistent.p99.toFixed(1)} ms, rv=0 ${cached.p99.toFixed(1)} ms: cache/store ${(cached.p99 / consistent.p99).toFixed(2)}x${
          target
            ? `; goal ≤ ${target} ms: consistent ${(consistent.p99 / target).toFixed(2)}x, rv=0 ${(cached.p99 / target).toFixed(2)}x of it`
            : ""
        }`,
      );
    }
    await timed("api Table, 1 client", 4, 1, () => get(app, path, TABLE));
    await timed("api Table rv=0 (cache), 1 client", 4, 1, () => get(app, `${path}?resourceVersion=0`, TABLE));
    await timed("api limit=500 pages, 1 client", 2, 1, async () => {
      let next: string | undefined = "";
      let seen = 0;
      while (next !== undefined) {
        const q = `limit=500${next ? `&continue=${encodeURIComponent(next)}` : ""}`;
        const response = await app.request(`http://bench${path}?${q}`, { headers });
        const body = (await response.json()) as { items: unknown[]; metadata: { continue?: string } };
        seen += body.items.length;
        next = body.metadata.continue || undefined;
      }
      if (seen !== count) throw new Error(`paged ${seen} of ${count}`);
    });
    await watcher.close();
  }
  console.log(
    `  load average after: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(" ")}`,
  );
}

/** The same list through the real Worker (HTTPS, workerd, Durable Object store) at 1 and 10 clients. */
export async function benchWorkerList(count: number): Promise<void> {
  const { startControlPlane } = await import("../../test/e2e/harness.ts");
  const cp = await startControlPlane();
  try {
    const ns = "bench-list";
    const send = async (method: string, path: string, body?: unknown) => {
      const r = await cp.fetch(path, {
        method,
        headers: { "Content-Type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
      return text;
    };
    await send("POST", "/api/v1/namespaces", { metadata: { name: ns } });
    await closedLoop(count, 10, (i) =>
      send("POST", `/api/v1/namespaces/${ns}/pods`, {
        metadata: { name: `p${i}`, labels: { app: "bench" } },
        spec: { containers: [{ name: "c", image: "busybox:1.36", command: ["sleep", "3600"] }] },
      }).then(() => undefined),
    );
    const path = `/api/v1/namespaces/${ns}/pods`;
    console.log(`\nlists through the real Worker, ${count} pods:`);
    for (const clients of [1, 10])
      await timed(`worker JSON, ${clients} client(s)`, Math.max(clients * 2, 10), clients, () =>
        send("GET", path),
      );
    await timed("worker Table, 1 client", 5, 1, async () => {
      const r = await cp.fetch(path, { headers: { Accept: TABLE } });
      await r.text();
    });
  } finally {
    await cp.stop();
  }
}
