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
import type { FrontEnd, FrontEndOptions } from "./front-end.ts";

/** Messages from the thread. */
export type FromThread =
  | { type: "ready"; url: string; port: number }
  | { type: "failed"; message: string }
  | { type: "stopped" };
/** Messages to the thread. */
export type ToThread = { type: "upstreams"; upstreams: string[] } | { type: "stop" };

/** Start the front end on its own thread; the same FrontEnd as startFrontEnd's. */
export async function startFrontEndThread(options: FrontEndOptions): Promise<FrontEnd> {
  // The thread loads TypeScript as this process does: tsx's loader, registered inside it (a worker
  // does not inherit the loader hooks of `node --import tsx`, nor vitest's).
  const tsx = import.meta.resolve("tsx/esm/api");
  const main = fileURLToPath(new URL("./front-end-main.ts", import.meta.url));
  const worker = new Worker(
    `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(main)}); })`,
    {
      eval: true,
      workerData: { ...options, upstreams: options.upstreams.map(String) },
    },
  );
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
