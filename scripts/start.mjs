#!/usr/bin/env node
// `npm start`: installs the npm dependencies when they are missing (a fresh
// clone), then runs the TypeScript launcher (scripts/local/main.ts) in this
// same process through tsx, so Ctrl-C reaches the code that stops everything.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const [major, minor] = process.versions.node.split(".").map(Number);
if (major < 20 || (major === 20 && minor < 19)) {
  console.error(`edgeplane: Node ${process.versions.node} is too old; Node 20.19 or newer is needed`);
  process.exit(1);
}
if (!existsSync(join(root, "node_modules", "tsx")) || !existsSync(join(root, "node_modules", "miniflare"))) {
  console.log("edgeplane: installing npm dependencies (npm install)...");
  const r = spawnSync("npm", ["install", "--no-audit", "--no-fund"], { cwd: root, stdio: "inherit" });
  if (r.status !== 0) {
    console.error("edgeplane: npm install failed");
    process.exit(1);
  }
}
const { register } = await import("tsx/esm/api");
register();
await import("./local/main.ts");
