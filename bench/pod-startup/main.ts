/**
 * `npm run bench -- pod-startup`: WASM pod start-up through the whole system
 * (wasm.ts). The container runtime's benchmarks are containers.ts and
 * containers-full.ts (run them directly).
 */
import { runWasmStartupBench } from "./wasm.ts";

const f = await runWasmStartupBench(100, 20);
console.log(
  `wasm pod start-up: ${f.pods} preview1 pods at ${f.ratePerSecond}/s (module cached), creation → Running via watch`,
);
console.log(
  `  p50 ${f.p50} ms   p90 ${f.p90} ms   p99 ${f.p99} ms   max ${f.max} ms   not running: ${f.notRunning}`,
);
console.log(`  agent idle: RSS ${f.agentIdleRssMiB} MiB, PSS ${f.agentIdlePssMiB} MiB`);
console.log(
  `  per running pod (runner process + shim): RSS ${f.perPodRssMiB} MiB, PSS ${f.perPodPssMiB} MiB`,
);
console.log("  targets: p99 <= 500 ms (preview1), agent idle RSS <= 80 MB");
process.exit(0);
