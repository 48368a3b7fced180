/**
 * CPU profiles of the Worker: the control plane runs in workerd, not in the
 * bench's Node process (so `node --cpu-prof` sees only the clients), and
 * workerd's V8 inspector (ControlPlaneOptions.inspectorPort) is the way in.
 */
import { writeFile } from "node:fs/promises";
import WebSocket from "ws";

/** A running profile of one inspector target; stop() writes it as a .cpuprofile file. */
export interface WorkerProfile {
  stop(file: string): Promise<void>;
}

/** Start the V8 profiler on the inspector at `port` (the first target: the Worker and its Durable Objects). */
export async function profileWorker(port: number): Promise<WorkerProfile> {
  const targets = (await (await fetch(`http://127.0.0.1:${port}/json`)).json()) as {
    webSocketDebuggerUrl: string;
  }[];
  if (!targets.length) throw new Error(`inspector on ${port}: no targets`);
  const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
  });
  let id = 0;
  const pending = new Map<number, (result: unknown) => void>();
  ws.on("message", (data) => {
    const message = JSON.parse(String(data)) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
  });
  const call = (method: string, params: object = {}) =>
    new Promise<unknown>((resolve) => {
      pending.set(++id, resolve);
      ws.send(JSON.stringify({ id, method, params }));
    });
  await call("Profiler.enable");
  await call("Profiler.setSamplingInterval", { interval: 1000 });
  await call("Profiler.start");
  return {
    async stop(file) {
      const { profile } = (await call("Profiler.stop")) as { profile: unknown };
      ws.close();
      await writeFile(file, JSON.stringify(profile));
    },
  };
}
