/**
 * The preview1 runner's startup snapshot: `node --build-snapshot runner.cjs`
 * gives a ~4 MB blob holding the runner's functions with node:fs and
 * node:wasi loaded, so a pod's Node starts straight into the runner's main
 * (~44 ms of CPU against ~73 ms through the ESM loader, per pod, on the two
 * cores every pod shares: docs/node-agent.md, Benchmark). Built by the agent
 * itself, on demand, with the node binary the sandbox runs and the runners'
 * V8 flags (node refuses a snapshot built by another V8 or under other
 * flags), and kept under its data dir, never in the repository. Named by
 * what it depends on, so a node upgrade or a new runner builds a new one.
 */
import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdir, rename, rm } from "node:fs/promises";
import { join } from "node:path";

/** Build (once) the snapshot of `runner` for `node` under these V8 flags; resolves to its path. */
export async function runnerSnapshot(
  runner: string,
  dir: string,
  flags: string[],
  node: string = process.execPath,
): Promise<string> {
  const binary = statSync(node);
  const key = createHash("sha256")
    .update(JSON.stringify([process.version, binary.size, binary.mtimeMs, flags]))
    .update(readFileSync(runner))
    .digest("hex")
    .slice(0, 16);
  const path = join(dir, `runner-${key}.blob`);
  if (existsSync(path)) return path;
  await mkdir(dir, { recursive: true });
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await new Promise<void>((resolve, reject) => {
      // A clean environment: NODE_OPTIONS would change the flags the snapshot is tied to.
      const child = spawn(node, [...flags, "--snapshot-blob", tmp, "--build-snapshot", runner], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
      });
      let stderr = "";
      child.stderr.on("data", (chunk) => {
        stderr += chunk;
      });
      child.on("error", reject);
      child.on("exit", (exit) =>
        exit === 0 ? resolve() : reject(new Error(`exit ${exit}: ${stderr.trim()}`)),
      );
    });
  } catch (error) {
    await rm(tmp, { force: true });
    throw new Error(`building the runner snapshot: ${(error as Error).message}`);
  }
  await rename(tmp, path);
  return path;
}
