/**
 * First-start sample pushes: every wasm/*.wasm (and wasm/build/*.wasm, the built components) goes into the built-in
 * registry as samples/<name>:v1, so the examples run with no outside
 * registry. The record of what was pushed (samples.json in the state dir)
 * makes later starts skip it.
 */
import { existsSync } from "node:fs";
import { readdir, readFile, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import type { ClusterFetch } from "../lib/client.ts";
import { type Pushed, pushWasm } from "../lib/oci-push.ts";

/** Push the samples unless this state dir already has them; returns what was pushed now ([] when skipped). */
export async function pushSamples(
  root: string,
  stateDir: string,
  fetcher: ClusterFetch,
  say: (message: string) => void,
): Promise<Pushed[]> {
  const record = join(stateDir, "samples.json");
  if (existsSync(record)) return [];
  await buildComponents(root, say);
  // wasm/*.wasm are committed; wasm/build/*.wasm are components built by wasm/build-components.mjs.
  const files: string[] = [];
  for (const dir of [join(root, "wasm"), join(root, "wasm", "build")]) {
    if (!existsSync(dir)) continue;
    for (const f of (await readdir(dir)).sort()) if (f.endsWith(".wasm")) files.push(join(dir, f));
  }
  const pushed: Pushed[] = [];
  for (const file of files) {
    const bytes = new Uint8Array(await readFile(file));
    pushed.push(await pushWasm(fetcher, `samples/${basename(file, ".wasm")}`, "v1", bytes));
  }
  await writeFile(record, `${JSON.stringify(pushed, null, 2)}\n`);
  return pushed;
}

/**
 * The sample components are built from source with `jco componentize`
 * (wasm/build-components.mjs; slow, so once, and the output is git-ignored).
 * A failure only costs the examples that use them.
 */
async function buildComponents(root: string, say: (message: string) => void): Promise<void> {
  const script = join(root, "wasm", "build-components.mjs");
  if (!existsSync(script)) return;
  try {
    const { ensureComponents } = (await import(script)) as { ensureComponents(): Promise<unknown> };
    if (!existsSync(join(root, "wasm", "build", "http-hello.wasm"))) {
      say("building the sample wasm components (jco componentize, first start only: 10-30 s)...");
    }
    await ensureComponents();
  } catch (error) {
    say(
      `could not build the sample components (${(error as Error).message}); the HTTP example will not pull`,
    );
  }
}
