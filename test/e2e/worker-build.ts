/**
 * The Worker as every e2e control plane runs it (test/e2e/harness.ts): workers/index.ts bundled as
 * `npm start` bundles it, and wrangler.toml's options. The node project's global setup makes it once per
 * `vitest run` and provides it to every test file: made per file, esbuild and importing wrangler took
 * seconds of each file's start.
 */
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import type { WorkerOptions } from "miniflare";
import { bundleWorker, wranglerConfig } from "../../scripts/local/controlplane.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

export interface WorkerBuild {
  script: string;
  workerOptions: WorkerOptions;
}

declare module "vitest" {
  export interface ProvidedContext {
    edgeplaneWorker?: WorkerBuild;
  }
}

export async function buildWorker(): Promise<WorkerBuild> {
  const [script, { workerOptions }] = await Promise.all([bundleWorker(ROOT), wranglerConfig(ROOT)]);
  return { script, workerOptions };
}
