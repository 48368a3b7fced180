// Builds the sample WASM workloads from wasm/src/*.wat into wasm/*.wasm with
// jco's WAT parser (no wabt needed). The outputs are tiny and committed;
// run `node wasm/build.mjs` after editing a .wat file.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { componentNew, parse, preview1AdapterCommandPath } from "@bytecodealliance/jco";

const here = dirname(fileURLToPath(import.meta.url));
for (const file of readdirSync(join(here, "src")).filter((f) => f.endsWith(".wat"))) {
  const bytes = await parse(readFileSync(join(here, "src", file), "utf8"));
  writeFileSync(join(here, file.replace(/\.wat$/, ".wasm")), bytes);
  console.log(`wasm/${file.replace(/\.wat$/, ".wasm")}: ${bytes.length} bytes`);
}

// A wasi:cli/run component: the hello module adapted to preview2 with the
// preview1 command adapter shipped in jco (no componentize step needed).
const adapter = readFileSync(preview1AdapterCommandPath());
const component = await componentNew(readFileSync(join(here, "hello.wasm")), [
  ["wasi_snapshot_preview1", adapter],
]);
writeFileSync(join(here, "hello.component.wasm"), component);
console.log(`wasm/hello.component.wasm: ${component.length} bytes`);
