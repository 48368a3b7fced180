/**
 * The full local path (HTTPS → workerd → API server → SQLite Durable Object
 * store) measured with real HTTP clients against the Worker under Miniflare.
 * `npm run bench -- api` runs it after the in-process comparison.
 */

import { readFile } from "node:fs/promises";
import { bundleWorker } from "../../scripts/local/controlplane.ts";
import { ROOT, startControlPlane } from "../../test/e2e/harness.ts";
import { profileWorker } from "../lib/inspector.ts";
import { type CpuProfile, formatShares, summarizeProfile } from "../lib/profile-summary.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

/** BENCH_PROFILE=<dir>: a CPU profile of workerd during the 10-client creates, written there and summarized. */
const PROFILE_DIR = process.env.BENCH_PROFILE;
const INSPECTOR_PORT = 9229 + (process.pid % 500);

/** Run `fn` under workerd's profiler when BENCH_PROFILE asks for it, and print where the thread's time went. */
async function profiled<T>(name: string, fn: () => Promise<T>): Promise<T> {
  if (!PROFILE_DIR) return fn();
  const profile = await profileWorker(INSPECTOR_PORT);
  const result = await fn();
  const file = `${PROFILE_DIR}/${name}.cpuprofile`;
  await profile.stop(file);
  const shares = summarizeProfile(
    JSON.parse(await readFile(file, "utf8")) as CpuProfile,
    await bundleWorker(ROOT),
  );
  console.log(`    profile ${file} (${shares.wallMs.toFixed(0)} ms of workerd's thread)`);
  console.log(
    `      busy ${((1 - shares.idle) * 100).toFixed(0)}%, of the wall time by code that ran: ${formatShares(shares.self)}`,
  );
  console.log(`      by part that was entered first (who it was for): ${formatShares(shares.owner)}`);
  return result;
}

async function timed(total: number, clients: number, op: (i: number) => Promise<void>) {
  const { seconds, latencies: lat } = await closedLoop(total, clients, op);
  return `${String(Math.round(total / seconds)).padStart(6)} ops/s  p50 ${percentile(lat, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(lat, 99).toFixed(1).padStart(6)} ms`;
}

/** Create/get/update/list of pods through the real Worker at 1 and 10 clients. */
export async function benchWorker(count: number): Promise<void> {
  const cp = await startControlPlane(PROFILE_DIR ? { inspectorPort: INSPECTOR_PORT } : {});
  try {
    const send = async (method: string, path: string, body?: unknown, type = "application/json") => {
      const r = await cp.fetch(path, {
        method,
        headers: { "Content-Type": type },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await r.text();
      if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${text.slice(0, 200)}`);
    };
    const pod = (name: string) => ({
      metadata: { name, labels: { app: "bench" } },
      spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
    });
    console.log(`\nreal Worker (HTTPS, workerd, Durable Object store), ${count} pods per run:`);
    for (const clients of [1, 10]) {
      const ns = `bench-${clients}`;
      await send("POST", "/api/v1/namespaces", { metadata: { name: ns } });
      console.log(`  ${clients} client(s):`);
      const create = () =>
        timed(count, clients, (i) => send("POST", `/api/v1/namespaces/${ns}/pods`, pod(`p${i}`)));
      console.log(`    create ${clients === 10 ? await profiled("create-10", create) : await create()}`);
      console.log(
        `    get    ${await timed(count, clients, (i) => send("GET", `/api/v1/namespaces/${ns}/pods/p${i}`))}`,
      );
      console.log(
        `    update ${await timed(count, clients, (i) =>
          send(
            "PATCH",
            `/api/v1/namespaces/${ns}/pods/p${i}`,
            { metadata: { labels: { v: "2" } } },
            "application/merge-patch+json",
          ),
        )}`,
      );
      console.log(
        `    list   ${await timed(clients, clients, () => send("GET", `/api/v1/namespaces/${ns}/pods`))}`,
      );
    }
  } finally {
    await cp.stop();
  }
}
