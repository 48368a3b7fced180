/**
 * Starts the store fixture Worker (durable-objects/store/testing/worker.ts)
 * under Miniflare/workerd on a random loopback port, with its SQLite Durable
 * Objects persisted in a directory. Shared by the store benchmark and the
 * store durability test (which SIGKILLs the workerd process it started).
 */
import { readdir, readFile } from "node:fs/promises";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** A running store server. */
export interface StoreServer {
  /** http://127.0.0.1:<port> */
  url: string;
  mf: Miniflare;
  /** Pid of the workerd process this server started. */
  pid: number;
  /** Stops it cleanly. */
  stop(): Promise<void>;
}

let bundle: Promise<string> | undefined;

/** Bundles the fixture Worker once per process. */
function bundleFixture(): Promise<string> {
  bundle ??= build({
    entryPoints: [join(ROOT, "durable-objects/store/testing/worker.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    external: ["cloudflare:*", "node:*"],
    write: false,
    logLevel: "silent",
  }).then((r) => r.outputFiles[0].text);
  return bundle;
}

/** Pids of this process's direct children named workerd. */
async function workerdChildren(): Promise<Set<number>> {
  const pids = new Set<number>();
  for (const entry of await readdir("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = await readFile(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid ...: comm may hold spaces, so split after the last ")".
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === process.pid && comm.startsWith("workerd")) pids.add(Number(entry));
    } catch {
      // The process went away while we looked.
    }
  }
  return pids;
}

/** Options for startStoreServer. */
export interface StoreServerOptions {
  /**
   * Serve the Worker on its own socket instead of through Miniflare's entry
   * worker (a dev-only wrapper that costs a second worker hop per request;
   * production has no such hop). The benchmark uses it.
   */
  direct?: boolean;
  /** Open workerd's V8 inspector on this port (CPU profiles, bench/lib/inspector.ts). */
  inspectorPort?: number;
}

/** Starts the fixture Worker, persisting Durable Objects under `persistDir`. */
export async function startStoreServer(
  persistDir: string,
  options: StoreServerOptions = {},
): Promise<StoreServer> {
  const script = await bundleFixture();
  const before = await workerdChildren();
  const mf = new Miniflare({
    host: "127.0.0.1",
    port: 0,
    modules: [{ type: "ESModule", path: join(ROOT, "store-fixture.js"), contents: script }],
    compatibilityDate: "2026-04-20",
    compatibilityFlags: ["nodejs_compat"],
    durableObjects: { STORE: { className: "StoreObject", useSQLite: true } },
    durableObjectsPersist: persistDir,
    ...(options.direct ? { unsafeDirectSockets: [{ host: "127.0.0.1", port: 0 }] } : {}),
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
  });
  let url: string;
  try {
    const entry = await mf.ready;
    url = (options.direct ? await mf.unsafeGetDirectURL() : entry).toString().replace(/\/$/, "");
  } catch (e) {
    await mf.dispose().catch(() => {});
    throw e;
  }
  const mine = [...(await workerdChildren())].filter((p) => !before.has(p));
  if (mine.length !== 1) {
    await mf.dispose().catch(() => {});
    throw new Error(`expected one new workerd child, found ${mine.length}`);
  }
  return { url, mf, pid: mine[0], stop: () => mf.dispose() };
}
