/**
 * List benchmark: GET of a pod collection of 1,000 and 10,000 pods through
 * the in-process API server (JSON, a Table, limit=500 paging) at 1 and 10
 * clients, with the store's own list + JSON.parse in the same run as the
 * anchor. Pods are seeded by copying one pod created through the API (so
 * they carry defaults and managedFields like real ones) straight into the
 * store: seeding 10,000 through the API would dwarf the lists.
 * STORE_SHARDS=core/pods=4 runs it with pods split over 4 store sub-shards.
 */

import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createShardedStore, parseShardMap } from "../../durable-objects/store/sharded.ts";
import { createApiServer } from "../../workers/apiserver/app.ts";
import { RESOURCES } from "../../workers/apiserver/kinds/index.ts";
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
  const app = createApiServer({
    store: memory,
    shards,
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
  return { store, app };
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

/** One line of figures: lists/s, p50, p99. */
async function timed(label: string, total: number, clients: number, op: () => Promise<unknown>) {
  const { seconds, latencies } = await closedLoop(total, clients, async () => {
    await op();
  });
  console.log(
    `  ${label.padEnd(34)} ${(total / seconds).toFixed(1).padStart(7)} lists/s  p50 ${percentile(latencies, 50).toFixed(1).padStart(7)} ms  p99 ${percentile(latencies, 99).toFixed(1).padStart(7)} ms`,
  );
}

/** The list figures at each size and client count. */
export async function benchList(sizes: number[], clientCounts: number[]): Promise<void> {
  console.log(
    "\nlists (in-process API server over MemoryStore; anchor: store.list + JSON.parse of each value):",
  );
  for (const count of sizes) {
    const { store, app } = await seeded(count);
    const path = "/api/v1/namespaces/default/pods";
    const bytes = await get(app, path);
    console.log(` ${count} pods (${(bytes / 1e6).toFixed(1)} MB as JSON):`);
    for (const clients of clientCounts) {
      const total = Math.max(clients * 2, count >= 10000 ? 4 : 20);
      await timed(`api JSON, ${clients} client(s)`, total, clients, () => get(app, path));
      await timed(`store list+parse, ${clients} client(s)`, total, clients, async () => {
        const r = await store.listAt("/registry/core/pods/default/");
        for (const kv of r.kvs) JSON.parse(kv.value);
      });
    }
    await timed("api Table, 1 client", 4, 1, () => get(app, path, TABLE));
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
  }
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
