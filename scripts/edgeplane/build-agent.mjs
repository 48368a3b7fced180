#!/usr/bin/env node
// Build the node agent bundle into the Worker's static assets (wrangler.toml [build] runs this before deploy).
const { register } = await import("tsx/esm/api");
register();
const { dirname, resolve } = await import("node:path");
const { fileURLToPath } = await import("node:url");
const { buildAgentBundle } = await import("./agent-bundle.ts");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const built = await buildAgentBundle(root);
console.log(`agent bundle ${built.version}: ${(built.bytes / 1024).toFixed(1)} KiB, sha256 ${built.sha256}`);
