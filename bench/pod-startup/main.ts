/**
 * `npm run bench -- pod-startup`: WASM pod start-up through the whole system
 * (wasm.ts). The container runtime's benchmarks are containers.ts and
 * containers-full.ts (run them directly).
 */
import { printFigures, runWasmStartupBench } from "./wasm.ts";

printFigures(await runWasmStartupBench(100, 20));
process.exit(0);
