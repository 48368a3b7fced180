#!/usr/bin/env node
// The `edgeplane` CLI (scripts/edgeplane.ts) run through tsx: `node scripts/edgeplane.mjs push hello.wasm samples/hello:v1`.
const { register } = await import("tsx/esm/api");
register();
const { main } = await import("./edgeplane.ts");
main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    console.error(`edgeplane: ${error.message}`);
    process.exit(1);
  },
);
