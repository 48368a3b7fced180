/** The front end thread's body (front-end-thread.ts bundles and starts it): options in workerData, then messages. */
import { parentPort, workerData } from "node:worker_threads";
import { startFrontEnd } from "./front-end.ts";
import type { FromThread, ToThread } from "./front-end-thread.ts";

const port = parentPort;
if (!port) throw new Error("front-end-main.ts runs as a worker thread (front-end-thread.ts)");
const say = (message: FromThread) => port.postMessage(message);
// No top-level await: front-end-thread.ts runs this bundled as a CommonJS script.
startFrontEnd({
  ...workerData,
  upstreams: (workerData.upstreams as string[]).map((u) => new URL(u)),
}).then(
  (front) => {
    port.on("message", async (message: ToThread) => {
      if (message.type === "upstreams") front.setUpstreams(message.upstreams.map((u) => new URL(u)));
      else if (message.type === "stop") {
        await front.stop();
        say({ type: "stopped" });
        port.close();
      }
    });
    say({ type: "ready", url: front.url, port: front.port });
  },
  (error: Error) => say({ type: "failed", message: error.message }),
);
