/**
 * The manifest directory as a source of static pods (the kubelet's file
 * source): a full read of every manifest file, plus a directory watch that
 * says when to read again. Files that cannot be read or parsed come back
 * with their error instead of a pod; they never stop the others.
 */
import { type FSWatcher, watch } from "node:fs";
import { mkdir, readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import type { Pod } from "../pod/k8s.ts";
import { isManifestName, parseManifest } from "./manifest.ts";

/** One manifest file: its pod, or why it has none. */
export type Manifest = { file: string; pod: Pod } | { file: string; error: string };

/** Read every manifest in `dir` (created when missing), in name order. */
export async function readManifests(dir: string, nodeName: string, seen: Date): Promise<Manifest[]> {
  await mkdir(dir, { recursive: true });
  const entries = await readdir(dir, { withFileTypes: true });
  const out: Manifest[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    if (!isManifestName(entry.name) || !(entry.isFile() || entry.isSymbolicLink())) continue;
    const file = join(dir, entry.name);
    try {
      out.push({ file, pod: parseManifest(await readFile(file, "utf8"), file, nodeName, seen) });
    } catch (error) {
      const e = error as NodeJS.ErrnoException;
      // A file removed between readdir and read is simply gone.
      if (e.code !== "ENOENT") out.push({ file, error: e.message });
    }
  }
  return out;
}

/** Call `changed` whenever something in `dir` changes, until `signal` aborts. Returns false when the watch is unavailable. */
export function watchDirectory(
  dir: string,
  changed: () => void,
  signal: AbortSignal,
  log: (message: string) => void,
): boolean {
  let watcher: FSWatcher;
  try {
    watcher = watch(dir, { signal }, () => changed());
  } catch (error) {
    log(`static pods: cannot watch ${dir} (${(error as Error).message}); rescanning periodically only`);
    return false;
  }
  watcher.on("error", (error) => {
    if (!signal.aborted)
      log(`static pods: watch of ${dir} failed (${error.message}); rescanning periodically only`);
  });
  return true;
}
