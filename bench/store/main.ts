/**
 * Store benchmark (prints figures; not a test): puts and gets of 256-byte
 * values at 1/10/100 concurrent clients, through a Worker into the SQLite
 * Durable Object store (Miniflare/workerd, persisted to a temp dir) and
 * against etcd 3.4 (v3 JSON gateway), side by side on this machine; then the
 * in-object write rate and the no-op Worker → object call rate (the ceiling).
 *
 *   npm run bench -- store          BENCH_SECONDS=5 to run each row longer
 *   BENCH_PROFILE=<dir>             CPU profiles of workerd during the put and get rows at 100
 *                                   clients, written there (bench/lib/inspector.ts)
 */
import { mkdtemp, rm } from "node:fs/promises";
import { loadavg, tmpdir } from "node:os";
import { join } from "node:path";
import { request } from "undici";
import { profileWorker } from "../lib/inspector.ts";
import { startEtcd } from "./etcd.ts";
import {
  type LoadResult,
  type LoadSamples,
  type RequestFor,
  runLoad,
  runLoadSamples,
  summarize,
} from "./load.ts";
import { startStoreServer } from "./server.ts";
import { openStream, type WatchTarget, watchLatency } from "./watch.ts";

const SECONDS = Number(process.env.BENCH_SECONDS ?? 4);
const ROUNDS = 4;
const CLIENTS = [1, 10, 100];
const GET_KEYS = 100;
const VALUE = "v".repeat(256);
const b64 = (s: string) => Buffer.from(s).toString("base64");
const PROFILE_DIR = process.env.BENCH_PROFILE;
const INSPECTOR_PORT = 9229 + (process.pid % 500);
const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

function row(label: string, etcd: LoadResult, store: LoadResult): string {
  const f = (r: LoadResult) =>
    `${r.perSecond.toFixed(0).padStart(7)}/s ${r.p50Ms.toFixed(2).padStart(7)} ${r.p99Ms.toFixed(2).padStart(7)}`;
  const ratio = (store.perSecond / etcd.perSecond).toFixed(2);
  const errs = etcd.errors + store.errors > 0 ? `  (errors etcd ${etcd.errors}, store ${store.errors})` : "";
  return `${label.padEnd(12)} ${f(etcd)}   ${f(store)}   ${ratio.padStart(5)}${errs}`;
}

/** Watch delivery latency with 10 writers, etcd and the store interleaved in rounds. */
async function watchRows(etcdUrl: string, storeUrl: string): Promise<void> {
  const writers = 10;
  const etcdRuns: LoadSamples[] = [];
  const storeRuns: LoadSamples[] = [];
  const storeAtWorker: LoadSamples[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    const prefix = `/registry/bench/watch${round}/ns/`;
    const etcdTarget: WatchTarget = {
      url: etcdUrl,
      open: (signal, onValue) =>
        openStream(
          `${etcdUrl}/v3/watch`,
          {
            method: "POST",
            body: JSON.stringify({
              create_request: { key: b64(prefix), range_end: b64(`${prefix.slice(0, -1)}0`) },
            }),
          },
          signal,
          (line) => {
            const msg = JSON.parse(line) as { result?: { events?: Array<{ kv: { value: string } }> } };
            for (const e of msg.result?.events ?? []) onValue(Buffer.from(e.kv.value, "base64").toString());
          },
          (line) => (JSON.parse(line) as { result?: { created?: boolean } }).result?.created === true,
        ),
      put: (c, i, value) => ({
        method: "POST",
        path: "/v3/kv/put",
        body: JSON.stringify({ key: b64(`${prefix}w${c}-${i}`), value: b64(value) }),
      }),
    };
    const rev = (await (
      await request(`${storeUrl}/revisions?prefix=${encodeURIComponent(prefix)}`)
    ).body.json()) as {
      current: number;
    };
    const storeTarget: WatchTarget = {
      url: storeUrl,
      open: (signal, onValue) =>
        openStream(
          `${storeUrl}/watch?prefix=${encodeURIComponent(prefix)}&after=${rev.current}`,
          { method: "GET" },
          signal,
          (line) => {
            const msg = JSON.parse(line) as { value?: string; seenAt?: number };
            if (msg.value) onValue(msg.value, msg.seenAt);
          },
          (line) => line === "{}",
        ),
      put: (c, i, value) => ({
        method: "POST",
        path: `/put?key=${encodeURIComponent(`${prefix}w${c}-${i}`)}`,
        body: value,
      }),
    };
    etcdRuns.push((await watchLatency(etcdTarget, writers, SECONDS / ROUNDS)).seen);
    const store = await watchLatency(storeTarget, writers, SECONDS / ROUNDS);
    storeRuns.push(store.seen);
    storeAtWorker.push(store.server);
  }
  const e = summarize(etcdRuns);
  const s = summarize(storeRuns);
  const w = summarize(storeAtWorker);
  const f = (r: LoadResult) => `p50 ${r.p50Ms.toFixed(2)} ms  p99 ${r.p99Ms.toFixed(2)} ms`;
  console.log(
    `watch delivery, put sent → event seen, ${writers} writers (${e.errors + s.errors} events missing):`,
  );
  console.log(`  etcd watch stream                     ${f(e)}  (${e.ops} events)`);
  console.log(`  store: at the Worker (WebSocket leg)  ${f(w)}  (ms clock)`);
  console.log(`  store: at the client (+ HTTP stream)  ${f(s)}  (${s.ops} events)`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), "edgeplane-bench-store-"));
  const etcd = await startEtcd();
  const server = await startStoreServer(join(dir, "do"), {
    direct: true,
    ...(PROFILE_DIR ? { inspectorPort: INSPECTOR_PORT } : {}),
  });
  try {
    console.log(`load average before: ${load()} (2 shared cores)`);
    console.log(
      `store bench: 256-byte values, ${SECONDS}s per target per row (${ROUNDS} interleaved rounds), same machine`,
    );
    console.log(
      `${"".padEnd(12)} ${"etcd 3.4: ops/s   p50ms   p99ms".padEnd(34)} ${"Worker+DO: ops/s   p50ms   p99ms".padEnd(34)} ratio`,
    );
    // Gets read a fixed set of keys written up front to both.
    const getKey = (c: number, i: number) => `/registry/bench/get/ns/k${(c * 31 + i) % GET_KEYS}`;
    for (let j = 0; j < GET_KEYS; j++) {
      const key = getKey(0, j);
      await (
        await request(`${etcd.url}/v3/kv/put`, {
          method: "POST",
          body: JSON.stringify({ key: b64(key), value: b64(VALUE) }),
        })
      ).body.text();
      await (
        await request(`${server.url}/put?key=${encodeURIComponent(key)}`, { method: "POST", body: VALUE })
      ).body.text();
    }
    const perCommit: string[] = [];
    for (const op of ["put", "get"] as const) {
      for (const clients of CLIENTS) {
        // Each put row writes fresh keys into its own shard, so its commit counters are its own.
        const putKey = (c: number, i: number) => `/registry/bench/put${clients}/ns/c${c}-${i}`;
        const key = op === "put" ? putKey : getKey;
        const etcdReq: RequestFor = (c, i) =>
          op === "put"
            ? {
                method: "POST",
                path: "/v3/kv/put",
                body: JSON.stringify({ key: b64(key(c, i)), value: b64(VALUE) }),
              }
            : { method: "POST", path: "/v3/kv/range", body: JSON.stringify({ key: b64(key(c, i)) }) };
        const storeReq: RequestFor = (c, i) =>
          op === "put"
            ? { method: "POST", path: `/put?key=${encodeURIComponent(key(c, i))}`, body: VALUE }
            : { method: "GET", path: `/get?key=${encodeURIComponent(key(c, i))}` };
        // Alternate the two targets in short rounds so load swings on the machine hit both alike.
        const etcdRuns: LoadSamples[] = [];
        const storeRuns: LoadSamples[] = [];
        const profile = PROFILE_DIR && clients === 100 ? await profileWorker(INSPECTOR_PORT) : undefined;
        for (let round = 0; round < ROUNDS; round++) {
          const offset = round * 1_000_000;
          etcdRuns.push(await runLoadSamples(etcd.url, clients, SECONDS / ROUNDS, etcdReq, offset));
          storeRuns.push(await runLoadSamples(server.url, clients, SECONDS / ROUNDS, storeReq, offset));
        }
        if (profile) {
          const file = join(PROFILE_DIR as string, `${op}${clients}.cpuprofile`);
          await profile.stop(file);
          console.log(`  profile of workerd: ${file}`);
        }
        const etcdResult = summarize(etcdRuns);
        const storeResult = summarize(storeRuns);
        console.log(row(`${op} x${clients}`, etcdResult, storeResult));
        if (op === "put") {
          const st = (await (await request(`${server.url}/stats?shard=bench/put${clients}`)).body.json()) as {
            commits: number;
            writes: number;
          };
          perCommit.push(`x${clients}: ${(st.writes / st.commits).toFixed(1)}`);
        }
      }
    }
    console.log(`group commit, writes per commit: ${perCommit.join(", ")}`);
    await watchRows(etcd.url, server.url);
    // Writes inside one object call: the object's own limit, without per-request overhead.
    const n = 20_000;
    const t0 = performance.now();
    const res = await request(
      `${server.url}/inobject?prefix=${encodeURIComponent("/registry/bench/inobject/")}&n=${n}&size=256`,
      {
        method: "POST",
      },
    );
    await res.body.text();
    const inObject = n / ((performance.now() - t0) / 1000);
    console.log(`in-object writes (one call, ${n} writes): ${inObject.toFixed(0)}/s`);
    for (const clients of [10, 100]) {
      const ping = await runLoad(server.url, clients, SECONDS, () => ({ method: "GET", path: "/ping" }));
      console.log(
        `Worker alone, no object call x${clients}: ${ping.perSecond.toFixed(0)}/s  p50 ${ping.p50Ms.toFixed(2)} ms  p99 ${ping.p99Ms.toFixed(2)} ms`,
      );
      const noop = await runLoad(server.url, clients, SECONDS, () => ({
        method: "GET",
        path: "/noop?shard=bench/items",
      }));
      console.log(
        `no-op Worker → object call x${clients}: ${noop.perSecond.toFixed(0)}/s  p50 ${noop.p50Ms.toFixed(2)} ms  p99 ${noop.p99Ms.toFixed(2)} ms`,
      );
    }
    console.log(`load average after: ${load()}`);
  } finally {
    await server.stop().catch(() => {});
    await etcd.stop().catch(() => {});
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
