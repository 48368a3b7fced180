/**
 * The full local path (HTTPS → the local front end → workerd → API server →
 * SQLite Durable Object store) measured with real HTTP clients against the
 * Worker under Miniflare, then create at 10 clients by local topology (one
 * workerd without the front end, as before it; the front end; the API split
 * into processes of its own, scripts/local/split.ts) side by side.
 * `npm run bench -- api` runs it after the in-process comparison;
 * BENCH_ONLY=worker runs only this.
 */

import { readFile } from "node:fs/promises";
import { loadavg } from "node:os";
import { Agent, fetch as undiciFetch } from "undici";
import { bundleWorker } from "../../scripts/local/controlplane.ts";
import { ROOT, startControlPlane } from "../../test/e2e/harness.ts";
import { profileWorker } from "../lib/inspector.ts";
import { type CpuUse, cpuMeter } from "../lib/proc-cpu.ts";
import { type CpuProfile, formatShares, summarizeProfile } from "../lib/profile-summary.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

/** BENCH_PROFILE=<dir>: a CPU profile of workerd during the 10-client creates, written there and summarized. */
const PROFILE_DIR = process.env.BENCH_PROFILE;
const INSPECTOR_PORT = 9229 + (process.pid % 500);

/**
 * Run `fn` under workerd's profiler when BENCH_PROFILE asks for it, and print where the thread's time
 * went; with `ops`, also workerd's CPU time per operation (from /proc: unlike the profile's wall
 * time, a thread descheduled by other load on the shared machine does not count).
 */
async function profiled<T>(name: string, fn: () => Promise<T>, ops?: number): Promise<T> {
  const cpu = ops ? cpuMeter() : undefined;
  if (!PROFILE_DIR) {
    const result = await fn();
    if (cpu && ops) printCpu(cpu(), ops);
    return result;
  }
  const profile = await profileWorker(INSPECTOR_PORT);
  const result = await fn();
  if (cpu && ops) printCpu(cpu(), ops);
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

function printCpu(used: Map<string, CpuUse>, ops: number): void {
  const ms = ((used.get("workerd")?.cpu ?? 0) * 1000) / ops;
  console.log(
    `    workerd CPU ${ms.toFixed(2)} ms per operation (every workerd process and thread, from /proc)`,
  );
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
    console.log(
      `\nreal Worker (HTTPS through the local front end, workerd, Durable Object store), ${count} pods per run:`,
    );
    for (const clients of [1, 10]) {
      const ns = `bench-${clients}`;
      await send("POST", "/api/v1/namespaces", { metadata: { name: ns } });
      console.log(`  ${clients} client(s):`);
      const create = () =>
        timed(count, clients, (i) => send("POST", `/api/v1/namespaces/${ns}/pods`, pod(`p${i}`)));
      console.log(
        `    create ${clients === 10 ? await profiled("create-10", create, count) : await create()}`,
      );
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

/** The issue's goal for create p99 at 10 clients, and the figure it was last measured at (one workerd, no front end). */
const GOAL_P99_MS = 50;
const LAST_P99_MS = 359;

/** The local topologies compared: the old path, the front end alone, and the edge's split (scripts/local/split.ts). */
const TOPOLOGIES = [
  { name: "workerd HTTPS, no front end (before)", slug: "before", apiProcesses: 0, frontEnd: false },
  { name: "front end -> 1 workerd", slug: "front-end", apiProcesses: 0, frontEnd: true },
  { name: "front end -> 1 API process + objects", slug: "split-1", apiProcesses: 1, frontEnd: true },
  { name: "front end -> 2 API processes + objects", slug: "split-2", apiProcesses: 2, frontEnd: true },
];

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");

/**
 * Create at 10 clients through each local topology, side by side, `rounds`
 * times interleaved (the machine is shared: a round's conditions hit every
 * topology alike). Each gets a fresh control plane.
 */
export async function benchTopologies(count: number, rounds = 2): Promise<void> {
  console.log(
    `\ncreate at 10 clients by local topology, ${count} pods each (goal p99 <= ${GOAL_P99_MS} ms; last measured ${LAST_P99_MS} ms):`,
  );
  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    for (let round = 1; round <= rounds; round++) {
      for (const topology of TOPOLOGIES) {
        // BENCH_PROFILE: the profile is of the process holding the Durable Objects (the only one when not split).
        const cp = await startControlPlane({
          apiProcesses: topology.apiProcesses,
          frontEnd: topology.frontEnd,
          ...(PROFILE_DIR ? { inspectorPort: INSPECTOR_PORT } : {}),
        });
        try {
          const base = cp.url;
          const post = async (path: string, body: unknown) => {
            const r = await undiciFetch(base + path, {
              method: "POST",
              headers: { Authorization: `Bearer ${cp.token}`, "Content-Type": "application/json" },
              body: JSON.stringify(body),
              dispatcher,
            });
            const text = await r.text();
            if (r.status >= 300) throw new Error(`POST ${path}: ${r.status} ${text.slice(0, 200)}`);
          };
          await post("/api/v1/namespaces", { metadata: { name: "bench" } });
          const before = load();
          const { seconds, latencies } = await profiled(
            `topology-${round}-${topology.slug}`,
            () =>
              closedLoop(count, 10, (i) =>
                post("/api/v1/namespaces/bench/pods", {
                  metadata: { name: `p${i}`, labels: { app: "bench" } },
                  spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
                }),
              ),
            count,
          );
          const p99 = percentile(latencies, 99);
          console.log(
            `  round ${round}  ${topology.name.padEnd(40)} ${String(Math.round(count / seconds)).padStart(4)} ops/s  p50 ${percentile(latencies, 50).toFixed(0).padStart(4)} ms  p99 ${p99.toFixed(0).padStart(4)} ms  (${(p99 / GOAL_P99_MS).toFixed(1)}x goal)  load ${before} -> ${load()}`,
          );
        } finally {
          await cp.stop();
        }
      }
    }
  } finally {
    await dispatcher.close();
  }
}
