/**
 * `npm run bench -- pod-startup`: WASM pod start-up through the whole system
 * (wasm.ts): 100 preview1 pods at 20/s, then 100 wasi:http component pods
 * at 10/s. The container runtime's benchmarks are containers.ts and
 * containers-full.ts (run them directly).
 */
import { printFigures, runWasmStartupBench } from "./wasm.ts";

printFigures(await runWasmStartupBench(100, 20, "preview1"));
printFigures(await runWasmStartupBench(100, 10, "component"));
process.exit(0);
