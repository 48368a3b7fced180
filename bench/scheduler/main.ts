/**
 * Scheduler benchmark (prints figures; not a test).
 *   1. the pure algorithm in memory: 1,000 nodes, 10,000 pending pods;
 *   2. through the real control plane (Miniflare + the API server + the
 *      controller manager's fast path) with simulated nodes: pods created over
 *      HTTP, bound by the scheduler; pods bound/s and p50/p99 creation→binding;
 *      then a 100-replica Deployment from apply to all pods bound.
 * Sizes: BENCH_NODES (1000), BENCH_PODS (10000), BENCH_API_NODES, BENCH_API_PODS, BENCH_SKIP_API=1;
 * BENCH_API_ONLY=steady|backlog runs one API part; BENCH_PROFILE=<dir> profiles workerd (api.ts).
 */
import { runApi } from "./api.ts";
import { runAccounting, runPure } from "./pure.ts";

const num = (name: string, d: number) => Number(process.env[name] ?? d) || d;
runPure(num("BENCH_NODES", 1000), num("BENCH_PODS", 10_000));
runAccounting(num("BENCH_NODES", 1000), num("BENCH_PODS", 10_000));
if (!process.env.BENCH_SKIP_API) {
  await runApi(
    num("BENCH_API_NODES", num("BENCH_NODES", 1000)),
    num("BENCH_API_PODS", num("BENCH_PODS", 10_000)),
    process.env.BENCH_API_ONLY,
  );
}
