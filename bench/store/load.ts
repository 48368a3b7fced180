/**
 * Closed-loop load: `clients` workers each issue one request at a time for
 * `seconds`, over keep-alive connections. Samples of several runs can be
 * merged, so a benchmark can interleave two targets in short rounds and a
 * swing in machine load hits both alike.
 */
import { Pool } from "undici";
import { percentile } from "../lib/stats.ts";

/** Raw samples of one or more runs. */
export interface LoadSamples {
  latencies: number[];
  seconds: number;
  errors: number;
}

/** Figures of merged samples. */
export interface LoadResult {
  ops: number;
  perSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
}

/** What one request is: method, path, body. */
export type RequestFor = (
  client: number,
  i: number,
) => { method: "GET" | "POST"; path: string; body?: string };

/**
 * Runs the load against `origin` and returns its samples. Each connection
 * first carries one untimed request, so connection setup (100 at once at 100
 * clients, a cost of the client pool, not of the target) stays out of the
 * figures for either target.
 */
export async function runLoadSamples(
  origin: string,
  clients: number,
  seconds: number,
  req: RequestFor,
  offset = 0,
): Promise<LoadSamples> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, c) => {
      const r = req(c, offset - 1);
      await (await pool.request({ method: r.method, path: r.path, body: r.body })).body.text();
    }),
  );
  const start = performance.now();
  const end = start + seconds * 1000;
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = offset; performance.now() < end; i++) {
          const r = req(c, i);
          const t0 = performance.now();
          try {
            const res = await pool.request({ method: r.method, path: r.path, body: r.body });
            await res.body.text();
            if (res.statusCode >= 400) errors++;
            else latencies.push(performance.now() - t0);
          } catch {
            errors++;
          }
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return { latencies, seconds: (performance.now() - start) / 1000, errors };
}

/** Merges samples into throughput and latency percentiles. */
export function summarize(runs: LoadSamples[]): LoadResult {
  const latencies = runs.flatMap((r) => r.latencies).sort((a, b) => a - b);
  const seconds = runs.reduce((s, r) => s + r.seconds, 0);
  return {
    ops: latencies.length,
    perSecond: latencies.length / seconds,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors: runs.reduce((s, r) => s + r.errors, 0),
  };
}

/** One run, summarized. */
export async function runLoad(
  origin: string,
  clients: number,
  seconds: number,
  req: RequestFor,
): Promise<LoadResult> {
  return summarize([await runLoadSamples(origin, clients, seconds, req)]);
}
