/**
 * API server benchmark (prints figures; not a test). `npm run bench -- api`
 *
 * Runs the real API server app (auth, decode, defaults, validation, registry,
 * managedFields, JSON encode) in-process over an in-memory Store, and the same
 * operations straight into that Store in the same run, so the API's own
 * overhead shows as a ratio. Then watch delivery latency: 100 watchers while
 * 10 writers churn, through the API vs straight from the store's watch.
 *
 * BENCH_SCALE=small runs a reduced set (CI smoke); BENCH_ONLY=list runs only
 * the list figures (list.ts; BENCH_WORKER=0 leaves out the real Worker's);
 * BENCH_ONLY=watch only the watch delivery figures; BENCH_ONLY=worker only the
 * real Worker's (worker.ts: through the front end, then create at 10 clients by
 * local topology side by side; BENCH_PROFILE=<dir> profiles workerd there).
 */

import { MemoryStore } from "../../durable-objects/store/memory.ts";
import type { Store } from "../../durable-objects/store/types.ts";
import { createApiServer } from "../../workers/apiserver/app.ts";
import { RESOURCES } from "../../workers/apiserver/kinds/index.ts";
import { WatchCache } from "../../workers/apiserver/registry/watch-cache.ts";
import { ADMIN_USER } from "../../workers/apiserver/tokens.ts";
import { closedLoop, percentile } from "../lib/stats.ts";
import { benchList, benchWorkerList } from "./list.ts";
import { benchTopologies, benchWorker } from "./worker.ts";

const small = process.env.BENCH_SCALE === "small";
const TOKEN = "bench-token";

function pod(name: string, extra: Record<string, string> = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: "bench", ...extra } },
    spec: { containers: [{ name: "c", image: "busybox:1.36", command: ["sleep", "3600"] }] },
  };
}

interface Result {
  ops: number;
  seconds: number;
  p50: number;
  p99: number;
}

/** Run `total` operations with `clients` concurrent loops; op(i) is awaited and timed. */
async function run(total: number, clients: number, op: (i: number) => Promise<void>): Promise<Result> {
  const { seconds, latencies } = await closedLoop(total, clients, op);
  return { ops: total, seconds, p50: percentile(latencies, 50), p99: percentile(latencies, 99) };
}

function server(store: Store, watchCache?: WatchCache) {
  const app = createApiServer({
    store,
    watchCache,
    resources: RESOURCES,
    authenticate: async (r) =>
      r.headers.get("Authorization") === `Bearer ${TOKEN}` ? ADMIN_USER : undefined,
  });
  const headers = { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" };
  return {
    app,
    async send(method: string, path: string, body?: unknown, contentType?: string) {
      const response = await app.request(`http://bench${path}`, {
        method,
        headers: contentType ? { ...headers, "Content-Type": contentType } : headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      if (response.status >= 300)
        throw new Error(`${method} ${path}: ${response.status} ${text.slice(0, 200)}`);
      return text;
    },
  };
}

const fmt = (r: Result) =>
  `${String(Math.round(r.ops / r.seconds)).padStart(7)} ops/s  p50 ${r.p50.toFixed(2).padStart(6)} ms  p99 ${r.p99.toFixed(2).padStart(6)} ms`;

async function crud(clients: number, count: number) {
  const apiStore = new MemoryStore();
  const api = server(apiStore);
  const direct = new MemoryStore();
  const key = (i: number) => `/registry/core/pods/default/p${i}`;
  const value = (i: number) => JSON.stringify(pod(`p${i}`));

  const aCreate = await run(count, clients, async (i) => {
    await api.send("POST", "/api/v1/namespaces/default/pods", pod(`p${i}`));
  });
  const sCreate = await run(count, clients, async (i) => {
    await direct.create(key(i), value(i));
  });
  const aGet = await run(count, clients, async (i) => {
    await api.send("GET", `/api/v1/namespaces/default/pods/p${i}`);
  });
  const sGet = await run(count, clients, async (i) => {
    await direct.get(key(i));
  });
  const aUpdate = await run(count, clients, async (i) => {
    await api.send(
      "PATCH",
      `/api/v1/namespaces/default/pods/p${i}`,
      { metadata: { labels: { v: "2" } } },
      "application/merge-patch+json",
    );
  });
  const sUpdate = await run(count, clients, async (i) => {
    const { kv } = await direct.get(key(i));
    const obj = JSON.parse(kv!.value);
    obj.metadata.labels.v = "2";
    await direct.update(key(i), JSON.stringify(obj), kv!.modRevision);
  });
  // Lists are heavy (whole collection each): a bounded number of them, `clients` at a time.
  const lists = Math.min(clients, 10);
  const aList = await run(lists, clients, async () => {
    await api.send("GET", "/api/v1/namespaces/default/pods");
  });
  const sList = await run(lists, clients, async () => {
    const r = await direct.list("/registry/core/pods/default/");
    for (const kv of r.kvs) JSON.parse(kv.value);
  });
  const row = (name: string, a: Result, s: Result) =>
    console.log(
      `  ${name.padEnd(8)} api ${fmt(a)} | store ${fmt(s)} | api/store throughput ${((a.ops / a.seconds / (s.ops / s.seconds)) * 100).toFixed(1)}%`,
    );
  console.log(`\n${count} pods, ${clients} client${clients > 1 ? "s" : ""}:`);
  row("create", aCreate, sCreate);
  row("get", aGet, sGet);
  row("update", aUpdate, sUpdate);
  row(`list(${count})`, aList, sList);
}

/** Watch delivery latency: each write stamps its send time; each watcher records receive - send. */
async function watchLatency(watchers: number, writers: number, writesPerWriter: number) {
  const store = new MemoryStore();
  // BENCH_WATCH_CACHE=0: every API watcher opens its own store watch (no watch cache).
  const cached = process.env.BENCH_WATCH_CACHE !== "0";
  const api = server(store, cached ? new WatchCache() : undefined);
  for (let i = 0; i < writers; i++)
    await api.send("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: `c${i}` },
      data: { t: "0" },
    });
  const list = JSON.parse(await api.send("GET", "/api/v1/namespaces/default/configmaps"));
  const rv = list.metadata.resourceVersion;
  const expected = writers * writesPerWriter;

  const apiLat: number[] = [];
  const storeLat: number[] = [];
  const abort = new AbortController();
  const apiDone = Array.from({ length: watchers }, async () => {
    const response = await api.app.request(
      `http://bench/api/v1/namespaces/default/configmaps?watch=true&resourceVersion=${rv}`,
      {
        headers: { Authorization: `Bearer ${TOKEN}` },
        signal: abort.signal,
      },
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    let seen = 0;
    while (seen < expected) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const event = JSON.parse(buffer.slice(0, nl));
        buffer = buffer.slice(nl + 1);
        apiLat.push(performance.now() - Number(event.object.data.t));
        seen++;
        nl = buffer.indexOf("\n");
      }
    }
    await reader.cancel();
  });
  const storeDone = Array.from({ length: watchers }, async () => {
    let seen = 0;
    for await (const msg of store.watch("/registry/core/configmaps/default/", {
      afterRevision: Number(rv),
      signal: abort.signal,
    })) {
      if (msg.type !== "events") continue;
      for (const e of msg.events) {
        storeLat.push(performance.now() - Number(JSON.parse(e.kv.value).data.t));
        seen++;
      }
      if (seen >= expected) break;
    }
  });
  const start = performance.now();
  await Promise.all(
    Array.from({ length: writers }, async (_, w) => {
      for (let n = 0; n < writesPerWriter; n++)
        await api.send(
          "PATCH",
          `/api/v1/namespaces/default/configmaps/c${w}`,
          { data: { t: String(performance.now()) } },
          "application/merge-patch+json",
        );
    }),
  );
  await Promise.all([...apiDone, ...storeDone]);
  const seconds = (performance.now() - start) / 1000;
  abort.abort();
  apiLat.sort((a, b) => a - b);
  storeLat.sort((a, b) => a - b);
  console.log(
    `\nwatch: ${watchers} watchers, ${writers} writers x ${writesPerWriter} updates (${(expected / seconds).toFixed(0)} writes/s), watch cache ${cached ? "on" : "off"}:`,
  );
  console.log(
    `  via API   events ${apiLat.length}  p50 ${percentile(apiLat, 50).toFixed(2)} ms  p99 ${percentile(apiLat, 99).toFixed(2)} ms`,
  );
  console.log(
    `  via store events ${storeLat.length}  p50 ${percentile(storeLat, 50).toFixed(2)} ms  p99 ${percentile(storeLat, 99).toFixed(2)} ms`,
  );
  console.log(
    `  API/store p99 ratio ${(percentile(apiLat, 99) / Math.max(percentile(storeLat, 99), 0.001)).toFixed(2)}x`,
  );
}

async function main() {
  console.log(
    "API server benchmark: in-process app over MemoryStore vs the same MemoryStore directly (Node",
    process.version,
    ")",
  );
  if (process.env.BENCH_ONLY === "list") {
    await benchList(small ? [1000] : [1000, 10000], [1, 10]);
    if (process.env.BENCH_WORKER !== "0") await benchWorkerList(small ? 200 : 1000);
    return;
  }
  if (process.env.BENCH_ONLY === "worker") {
    await benchWorker(small ? 50 : 500);
    await benchTopologies(small ? 50 : 500);
    return;
  }
  if (process.env.BENCH_ONLY === "watch") {
    await watchLatency(small ? 10 : 100, 10, small ? 5 : 20);
    return;
  }
  const clientCounts = small ? [1, 10] : [1, 10, 100];
  for (const clients of clientCounts) await crud(clients, small ? 200 : 1000);
  if (!small) await crud(10, 10000);
  await benchList(small ? [1000] : [1000, 10000], [1, 10]);
  await watchLatency(small ? 10 : 100, 10, small ? 5 : 20);
  await benchWorker(small ? 50 : 500);
  await benchTopologies(small ? 50 : 500);
}

await main();
