// Builds the sample WASM workloads from wasm/src/*.wat into wasm/*.wasm with
// jco's WAT parser (no wabt needed). The outputs are tiny and committed;
// run `node wasm/build.mjs` after editing a .wat file.
import { readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parse } from "@bytecodealliance/jco";

const here = dirname(fileURLToPath(import.meta.url));
for (const file of readdirSync(join(here, "src")).filter((f) => f.endsWith(".wat"))) {
  const bytes = await parse(readFileSync(join(here, "src", file), "utf8"));
  writeFileSync(join(here, file.replace(/\.wat$/, ".wasm")), bytes);
  console.log(`wasm/${file.replace(/\.wat$/, ".wasm")}: ${bytes.length} bytes`);
}
