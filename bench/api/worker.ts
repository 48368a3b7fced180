/**
 * The full local path (HTTPS → workerd → API server → SQLite Durable Object
 * store) measured with real HTTP clients against the Worker under Miniflare.
 * `npm run bench -- api` runs it after the in-process comparison.
 */

import { startControlPlane } from "../../test/e2e/harness.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

async function timed(total: number, clients: number, op: (i: number) => Promise<void>) {
  const { seconds, latencies: lat } = await closedLoop(total, clients, op);
  return `${String(Math.round(total / seconds)).padStart(6)} ops/s  p50 ${percentile(lat, 50).toFixed(1).padStart(6)} ms  p99 ${percentile(lat, 99).toFixed(1).padStart(6)} ms`;
}

/** Create/get/update/list of pods through the real Worker at 1 and 10 clients. */
export async function benchWorker(count: number): Promise<void> {
  const cp = await startControlPlane();
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
      console.log(
        `    create ${await timed(count, clients, (i) => send("POST", `/api/v1/namespaces/${ns}/pods`, pod(`p${i}`)))}`,
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
