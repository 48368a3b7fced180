#!/usr/bin/env node
// Benchmark dispatcher: `npm run bench -- <name>...` runs bench/<name>/main.ts
// (through tsx) for each name; with no name it lists what there is.
// Benchmarks print figures; they are not tests.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const available = readdirSync(here, { withFileTypes: true })
  .filter((d) => d.isDirectory() && ["main.ts", "main.mjs"].some((f) => existsSync(join(here, d.name, f))))
  .map((d) => d.name);
const names = process.argv.slice(2);
if (names.length === 0) {
  console.log(`usage: npm run bench -- <name>...   available: ${available.join(", ") || "(none)"}`);
  process.exit(0);
}
for (const name of names) {
  if (!available.includes(name)) {
    console.error(`bench: no benchmark "${name}" (available: ${available.join(", ")})`);
    process.exit(2);
  }
  const ts = join(here, name, "main.ts");
  const file = existsSync(ts) ? ts : join(here, name, "main.mjs");
  const r = spawnSync(process.execPath, ["--import", "tsx", file], { stdio: "inherit" });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
