#!/usr/bin/env node
// `npx node-agent ...`. The agent is TypeScript: it is bundled once with
// esbuild (cached under node_modules/.cache/edgeplane, rebuilt when a source
// file changes) and run as plain JS, which starts faster and idles in ~35 MB
// less than loading it through tsx. With --runtimes cri it runs through tsx's
// loader instead (the CRI runtime reads files next to its sources).
import { mkdirSync, readdirSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { setFlagsFromString } from "node:v8";

// Idle memory (docs/node-agent.md, Benchmark): fetch's HTTP parser (Node's bundled undici, used for
// image pulls; the API client is node:https) is WebAssembly; without tier-up it stays Liftoff code and
// skips TurboFan's compile and code; parsing is a small share of the agent's work. Set before it loads. (Capping V8's young generation at runtime
// with --semi-space-growth-factor=1 saved more, but cost 7x the GC time during a pod burst.)
setFlagsFromString("--no-wasm-tier-up");

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const args = process.argv.slice(2);
process.env.EDGEPLANE_WASM_RUNNER = join(root, "node-agent/src/runtime/wasm/runner.cjs");

function newestMtime(dir) {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

async function bundled() {
  const sources = ["node-agent/src", "workers/client", "durable-objects/tunnel"].map((d) => join(root, d));
  const stamp = Math.floor(Math.max(...sources.map(newestMtime)));
  const cache = join(root, "node_modules", ".cache", "edgeplane");
  const out = join(cache, `node-agent-${stamp}.mjs`);
  try {
    statSync(out);
    return out;
  } catch {}
  mkdirSync(cache, { recursive: true });
  const { build } = await import("esbuild");
  const tmp = `${out}.${process.pid}.tmp.mjs`;
  await build({
    entryPoints: [join(root, "node-agent/src/cli.ts")],
    outfile: tmp,
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    packages: "external",
    logLevel: "silent",
    plugins: [
      {
        // The CRI runtime is loaded only with --runtimes cri, which never uses the bundle. convert.ts is
        // bundled: the agent imports its image-name helper statically, and Node 20 cannot load .ts.
        name: "cri-external",
        setup(b) {
          b.onResolve({ filter: /runtime\/cri\// }, (a) =>
            a.path.endsWith("/convert.ts") ? undefined : { path: join(a.resolveDir, a.path), external: true },
          );
        },
      },
    ],
  });
  const { renameSync } = await import("node:fs");
  renameSync(tmp, out);
  return out;
}

const runtimesArg = args.find((a) => a.startsWith("--runtimes="))?.slice("--runtimes=".length);
const runtimes =
  runtimesArg ?? (args.includes("--runtimes") ? (args[args.indexOf("--runtimes") + 1] ?? "") : "");
let entry;
if (runtimes.split(",").includes("cri")) {
  const { register } = await import("tsx/esm/api");
  register();
  entry = await import("../src/cli.ts");
} else {
  entry = await import(pathToFileURL(await bundled()).href);
}
await entry.main(args);
