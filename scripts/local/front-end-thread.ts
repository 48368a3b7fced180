/**
 * The front end (front-end.ts) on a thread of its own, which is how the
 * control plane and the e2e harness run it. Why: every byte a port-forward or
 * `kubectl cp` moves crosses the front end twice (TLS from the agent, plain to
 * workerd and back, TLS to kubectl), and Node hands each read over in a fresh
 * buffer (16 KiB per TLS record, 64 KiB per plain read): external memory that
 * V8 answers with full garbage collections. A full collection marks the whole
 * heap, and in the control plane's process that heap holds Miniflare and the
 * rest (in the bench process, GC was ~0.9 s of CPU per port-forwarded 200
 * MiB). On its own thread the front end has a heap of a few MiB, so those
 * collections cost next to nothing, and its TLS runs beside the main thread.
 */
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";
import { build } from "esbuild";
import type { FrontEnd, FrontEndOptions } from "./front-end.ts";

/** Messages from the thread. */
export type FromThread =
  | { type: "ready"; url: string; port: number }
  | { type: "failed"; message: string }
  | { type: "stopped" };
/** Messages to the thread. */
export type ToThread = { type: "upstreams"; upstreams: string[] } | { type: "stop" };

/**
 * The thread's code: front-end-main.ts and front-end.ts bundled to one
 * CommonJS script (they import only node: modules). A worker inherits
 * neither `node --import tsx`'s loader nor vitest's, and registering tsx in
 * it took 1.2-1.6 s per start on this machine; esbuild bundles in tens of ms.
 */
let bundled: Promise<string> | undefined;
function threadCode(): Promise<string> {
  bundled ??= build({
    entryPoints: [fileURLToPath(new URL("./front-end-main.ts", import.meta.url))],
    bundle: true,
    platform: "node",
    format: "cjs",
    write: false,
    logLevel: "silent",
  }).then((out) => out.outputFiles[0].text);
  return bundled;
}

/** Start the front end on its own thread; the same FrontEnd as startFrontEnd's. */
export async function startFrontEndThread(options: FrontEndOptions): Promise<FrontEnd> {
  const worker = new Worker(await threadCode(), {
    eval: true,
    workerData: { ...options, upstreams: options.upstreams.map(String) },
  });
  const next = () =>
    new Promise<FromThread>((resolve, reject) => {
      const onMessage = (message: FromThread) => {
        worker.off("error", onError);
        resolve(message);
      };
      const onError = (error: Error) => {
        worker.off("message", onMessage);
        reject(error);
      };
      worker.once("message", onMessage);
      worker.once("error", onError);
    });
  const started = await next().catch(async (error) => {
    await worker.terminate();
    throw error;
  });
  if (started.type !== "ready") {
    await worker.terminate();
    throw new Error(started.type === "failed" ? started.message : "front end thread stopped");
  }
  return {
    url: started.url,
    port: started.port,
    setUpstreams(upstreams) {
      worker.postMessage({ type: "upstreams", upstreams: upstreams.map(String) } satisfies ToThread);
    },
    async stop() {
      const stopped = next();
      worker.postMessage({ type: "stop" } satisfies ToThread);
      await stopped.catch(() => {});
      await worker.terminate();
    },
  };
}
