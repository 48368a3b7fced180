#!/usr/bin/env node
// Build the dashboard into the Worker's static assets (wrangler.toml [build] runs this before deploy).
const { register } = await import("tsx/esm/api");
register();
const { dirname, resolve } = await import("node:path");
const { fileURLToPath } = await import("node:url");
const { buildDashboard } = await import("./dashboard-build.ts");
const root = resolve(dirname(fileURLToPath(import.meta.url)), "../..");
const built = await buildDashboard(root);
console.log(
  `dashboard: ${built.files.join(", ")}: a page load ${(built.bytes / 1024).toFixed(1)} KiB, ` +
    `${(built.gzipBytes / 1024).toFixed(1)} KiB gzipped (budget 200 KiB gzipped); ` +
    `the terminal adds ${(built.lazyGzipBytes / 1024).toFixed(1)} KiB gzipped when opened`,
);
