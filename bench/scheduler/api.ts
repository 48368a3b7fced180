/**
 * Scheduling through the real control plane: Miniflare running the Worker
 * (API server, store Durable Objects, controller manager with its fast path),
 * simulated nodes registered over HTTPS, pods created over HTTPS, bindings
 * observed on a watch. Times are taken on this side: creation = when the
 * create call returned, binding = when the watch delivered spec.nodeName.
 */
import { retryTransport, startSimulatedNodes } from "../../node-agent/src/sim/index.ts";
import { clientFor } from "../../test/e2e/controllers-harness.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";
import type { KubeClient } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import type { Pod } from "../../workers/controllers/k8s.ts";

const pct = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

async function eachLimit<T>(items: T[], limit: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await fn(items[next++]);
    }),
  );
}

/** Watch pods in a namespace and note when each was first seen bound. */
function watchBindings(client: KubeClient, namespace: string, signal: AbortSignal): Map<string, number> {
  const bound = new Map<string, number>();
  void (async () => {
    while (!signal.aborted) {
      try {
        for await (const e of client.watch<Pod>(R.pods, namespace, { signal, resourceVersion: "0" })) {
          const name = e.object.metadata?.name;
          if (name && e.object.spec?.nodeName && !bound.has(name)) bound.set(name, performance.now());
        }
      } catch {
        // the watch ended; resume
      }
    }
  })();
  return bound;
}

async function until(
  what: string,
  check: () => boolean,
  timeoutMs: number,
  progress?: () => string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let report = Date.now() + 10_000;
  while (!check()) {
    if (Date.now() > deadline)
      throw new Error(`bench: timed out waiting for ${what}${progress ? ` (${progress()})` : ""}`);
    if (progress && Date.now() > report) {
      console.log(`  ... ${progress()}`);
      report = Date.now() + 10_000;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Run the through-the-API benchmark and print its figures. */
export async function runApi(nodeCount: number, podCount: number): Promise<void> {
  const cp = await startControlPlane();
  const client = clientFor(cp);
  const abort = new AbortController();
  let sim: Awaited<ReturnType<typeof startSimulatedNodes>> | undefined;
  try {
    let t = performance.now();
    sim = await startSimulatedNodes({
      client,
      count: nodeCount,
      capacity: { cpu: "32", memory: "128Gi", pods: "110", "ephemeral-storage": "500Gi" },
      renewIntervalMs: 30_000,
      concurrency: 16,
      kubelet: false,
      onError: () => {},
    });
    console.log(
      `through the API (Miniflare, HTTPS): ${nodeCount} simulated nodes registered in ${((performance.now() - t) / 1000).toFixed(1)} s`,
    );
    await client.create(R.namespaces, undefined, {
      apiVersion: "v1",
      kind: "Namespace",
      metadata: { name: "bench" },
    });
    const bound = watchBindings(client, "bench", abort.signal);
    const created = new Map<string, number>();
    const names = Array.from({ length: podCount }, (_, i) => `pod-${i}`);
    t = performance.now();
    const creating = setInterval(
      () => console.log(`  ... ${created.size} created, ${bound.size} bound`),
      15_000,
    );
    await eachLimit(names, 32, async (name) => {
      const i = Number(name.slice(4));
      await retryTransport(() =>
        client
          .create(R.pods, "bench", {
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name },
            spec: {
              containers: [
                {
                  name: "c",
                  image: "x",
                  resources: { requests: { cpu: `${100 + (i % 5) * 100}m`, memory: "128Mi" } },
                },
              ],
            },
          })
          .catch((error: unknown) => {
            // A retried create may find its first attempt already committed.
            if ((error as { code?: number }).code !== 409) throw error;
          }),
      );
      created.set(name, performance.now());
    });
    clearInterval(creating);
    const createSecs = (performance.now() - t) / 1000;
    console.log(
      `  created          ${podCount} pods in ${createSecs.toFixed(1)} s (${(podCount / createSecs).toFixed(0)} pods/s, 32 concurrent)`,
    );
    await until(
      `${podCount} pods bound`,
      () => bound.size >= podCount,
      10 * 60_000,
      () => `${bound.size} bound`,
    );
    const firstCreated = Math.min(...created.values());
    const lastBound = Math.max(...bound.values());
    const latencies = names.map((n) => (bound.get(n) ?? 0) - (created.get(n) ?? 0)).sort((a, b) => a - b);
    console.log(
      `  bound            ${bound.size} pods, ${(podCount / ((lastBound - firstCreated) / 1000)).toFixed(0)} pods/s (first create → last binding)`,
    );
    console.log(
      `  create→binding   p50 ${pct(latencies, 50).toFixed(0)} ms, p99 ${pct(latencies, 99).toFixed(0)} ms`,
    );

    const labels = { app: "bench-deploy" };
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "bench-deploy" },
      spec: {
        replicas: 100,
        selector: { matchLabels: labels },
        template: {
          metadata: { labels },
          spec: { containers: [{ name: "c", image: "x", resources: { requests: { cpu: "100m" } } }] },
        },
      },
    };
    const before = bound.size;
    t = performance.now();
    await client.create(R.deployments, "bench", deployment);
    await until("100 deployment pods bound", () => bound.size >= before + 100, 10 * 60_000);
    console.log(
      `  Deployment       100 replicas from create to all pods bound in ${(performance.now() - t).toFixed(0)} ms`,
    );
  } finally {
    abort.abort();
    await sim?.stop();
    await cp.stop();
  }
}
