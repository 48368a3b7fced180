/**
 * The edge's topology, locally: the API Worker in N workerd processes of its
 * own (isolates, as Cloudflare runs a Worker in many), each reaching the one
 * set of Durable Objects (store, tunnels, controllers, metrics) that live in
 * another workerd process, as at the edge a Durable Object lives in one place
 * and every isolate calls it. Miniflare's dev registry does the crossing: a
 * process registers its workers (their workerd debug port) in a shared
 * directory, and a Durable Object binding naming a script that is not in this
 * process goes through a proxy object to that script's process. Only the
 * objects process persists anything; the API processes hold no state of
 * their own (their watch caches are per isolate, as at the edge).
 *
 * Measured on this 2-core machine it is slower than one process (each store
 * call crosses processes twice; bench/api/worker.ts prints both side by
 * side), so it is a setting of the e2e harness and the bench, not `npm
 * start`'s default.
 */
import { type Log, Miniflare, type WorkerOptions } from "miniflare";

/** The objects process's worker name: the API processes' bindings name it. */
const OBJECTS_SCRIPT = "edgeplane";

/** `worker`'s Durable Object bindings, pointed at the objects process's script. */
function remoteObjects(worker: WorkerOptions): WorkerOptions["durableObjects"] {
  return Object.fromEntries(
    Object.entries(worker.durableObjects ?? {}).map(([binding, designator]) => [
      binding,
      {
        ...(typeof designator === "string" ? { className: designator } : designator),
        scriptName: OBJECTS_SCRIPT,
      },
    ]),
  );
}

/** N API processes of `worker` (the objects process already registered in `registryPath`). */
export async function startApiProcesses(options: {
  worker: WorkerOptions;
  count: number;
  registryPath: string;
  log?: Log;
}): Promise<{ processes: Miniflare[]; urls: URL[] }> {
  const processes: Miniflare[] = [];
  try {
    for (let i = 1; i <= options.count; i++) {
      const mf = new Miniflare({
        workers: [
          {
            ...options.worker,
            name: `edgeplane-api-${i}`,
            durableObjects: remoteObjects(options.worker),
            // Ingress is served by the objects process alone.
            unsafeDirectSockets: undefined,
          } as WorkerOptions,
        ],
        host: "127.0.0.1",
        port: 0,
        cf: false,
        unsafeDevRegistryPath: options.registryPath,
        ...(options.log && { log: options.log }),
      });
      processes.push(mf);
      await mf.ready;
    }
    return { processes, urls: await Promise.all(processes.map((mf) => mf.ready)) };
  } catch (error) {
    await Promise.all(processes.map((mf) => mf.dispose().catch(() => {})));
    throw error;
  }
}
