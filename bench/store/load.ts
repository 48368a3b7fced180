/**
 * Closed-loop load: `clients` workers each issue one request at a time for
 * `seconds`, over keep-alive connections; reports throughput and latency
 * percentiles.
 */
import { Pool } from "undici";

/** One run's figures. */
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

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Runs the load against `origin` and measures it. */
export async function runLoad(
  origin: string,
  clients: number,
  seconds: number,
  req: RequestFor,
): Promise<LoadResult> {
  const pool = new Pool(origin, { connections: clients, pipelining: 1 });
  const latencies: number[] = [];
  let errors = 0;
  const end = performance.now() + seconds * 1000;
  const start = performance.now();
  try {
    await Promise.all(
      Array.from({ length: clients }, async (_, c) => {
        for (let i = 0; performance.now() < end; i++) {
          const r = req(c, i);
          const t0 = performance.now();
          try {
            const res = await pool.request({
              method: r.method,
              path: r.path,
              body: r.body,
              headers: r.body ? { "content-type": "application/json" } : undefined,
            });
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
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    ops: latencies.length,
    perSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    errors,
  };
}
