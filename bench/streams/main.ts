/**
 * Stream benchmarks (issue 14): port-forward throughput against a direct
 * connection to the same pod in the same run. `npm run bench -- streams`.
 */
import { runPortForwardBench } from "./portforward.ts";

await runPortForwardBench();
