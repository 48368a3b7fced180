/**
 * Shared benchmark arithmetic: percentiles over sorted samples and a
 * closed-loop runner (N clients, each issuing one operation at a time), so
 * every bench reports p50/p99 the same way.
 */

/** The p-th percentile (0–100) of ascending `sorted` samples; NaN when there are none. */
export function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** What a closed-loop run measured: wall time and every operation's latency (ms, ascending). */
export interface ClosedLoopResult {
  seconds: number;
  latencies: number[];
}

/** Run `total` operations spread over `clients` concurrent loops; op(i) is awaited and timed. */
export async function closedLoop(
  total: number,
  clients: number,
  op: (i: number) => Promise<void>,
): Promise<ClosedLoopResult> {
  const latencies: number[] = [];
  let next = 0;
  const start = performance.now();
  await Promise.all(
    Array.from({ length: clients }, async () => {
      for (;;) {
        const i = next++;
        if (i >= total) return;
        const t = performance.now();
        await op(i);
        latencies.push(performance.now() - t);
      }
    }),
  );
  latencies.sort((a, b) => a - b);
  return { seconds: (performance.now() - start) / 1000, latencies };
}
