/**
 * Stream benchmarks (issue 14), each against a direct connection to the same
 * pod in the same run: port-forward throughput (portforward.ts) and exec echo
 * round-trip (exec.ts). `npm run bench -- streams`.
 */
import { runExecBench } from "./exec.ts";
import { runPortForwardBench } from "./portforward.ts";

await runPortForwardBench();
await runExecBench();
