/**
 * First-start sample pushes: every wasm/*.wasm goes into the built-in
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
export async function pushSamples(root: string, stateDir: string, fetcher: ClusterFetch): Promise<Pushed[]> {
  const record = join(stateDir, "samples.json");
  if (existsSync(record)) return [];
  const dir = join(root, "wasm");
  const files = existsSync(dir) ? (await readdir(dir)).filter((f) => f.endsWith(".wasm")).sort() : [];
  const pushed: Pushed[] = [];
  for (const file of files) {
    const bytes = new Uint8Array(await readFile(join(dir, file)));
    pushed.push(await pushWasm(fetcher, `samples/${basename(file, ".wasm")}`, "v1", bytes));
  }
  await writeFile(record, `${JSON.stringify(pushed, null, 2)}\n`);
  return pushed;
}
