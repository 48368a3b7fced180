/**
 * Shared setup for the controller/scheduler end-to-end tests: the real
 * control plane (harness.ts), a KubeClient over its HTTPS endpoint, simulated
 * nodes, and a bounded wait on a condition (never a fixed sleep).
 */
import {
  type SimulatedNodes,
  type SimulatedNodesOptions,
  startSimulatedNodes,
} from "../../node-agent/src/sim/index.ts";
import { createKubeClient, type KubeClient } from "../../workers/client/kube.ts";
import { type ControlPlane, type ControlPlaneOptions, startControlPlane } from "./harness.ts";

/** A control plane with simulated nodes and an API client. */
export interface Cluster {
  cp: ControlPlane;
  client: KubeClient;
  sim: SimulatedNodes;
  /** Run kubectl and fail loudly (with its stderr) on a non-zero exit. */
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<string>;
  stop(): Promise<void>;
}

/** A KubeClient that goes through the harness's fetch (self-signed TLS, admin token). */
export function clientFor(cp: ControlPlane): KubeClient {
  return createKubeClient({
    baseUrl: cp.url,
    fetch: async (url, init) => {
      const { pathname, search } = new URL(url);
      return cp.fetch(pathname + search, init);
    },
  });
}

/** Start the control plane and `nodes` simulated nodes. */
export async function startCluster(
  options: ControlPlaneOptions & { nodes?: number; sim?: Partial<SimulatedNodesOptions> } = {},
): Promise<Cluster> {
  const cp = await startControlPlane(options);
  try {
    const client = clientFor(cp);
    const sim = await startSimulatedNodes({
      client,
      count: options.nodes ?? 3,
      ...options.sim,
      onError: () => {},
    });
    return {
      cp,
      client,
      sim,
      kubectl: async (args, opts) => {
        const result = await cp.kubectl(args, opts);
        if (result.code !== 0)
          throw new Error(`kubectl ${args.join(" ")} failed (${result.code}): ${result.stderr}`);
        return result.stdout;
      },
      stop: async () => {
        await sim.stop();
        await cp.stop();
      },
    };
  } catch (error) {
    await cp.stop();
    throw error;
  }
}

/** Poll `check` until it returns a value (not undefined), or fail after timeoutMs. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}
