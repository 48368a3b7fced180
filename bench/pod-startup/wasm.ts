/**
 * WASM pod start-up through the whole system: the real control plane
 * (workerd), the real node agent CLI and real WASM modules from a loopback
 * OCI registry. Pods (spec.nodeName set, module already pulled) are created
 * at a fixed rate (default 100 at 20/s, Kubernetes' SLO churn); the time
 * from each create request to the pod's first Running status, seen through a
 * watch, is reported as p50/p90/p99. Also: the agent's idle RSS and the
 * memory each running pod adds on the node. Prints figures; not a test.
 *
 *   node --import tsx bench/pod-startup/wasm.ts [--pods 100] [--rate 20]
 */
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { removeWasmPods, sample, spawnAgent, until } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";
import { percentile } from "../lib/stats.ts";

/** What the WASM start-up benchmark measured (ms and MiB). */
export interface WasmStartupFigures {
  pods: number;
  ratePerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  notRunning: number;
  agentIdleRssMiB: number;
  perPodRssMiB: number;
  perPodPssMiB: number;
  agentIdlePssMiB: number;
}

function rssKiB(pid: number): number {
  try {
    return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** Proportional set size: shared pages (the node binary, libraries) split between the processes sharing them. */
function pssKiB(pid: number): number {
  try {
    return Number(/^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, "utf8"))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/** RSS of every process whose command line mentions `needle` (the pods' runner processes and shims). */
function rssOfProcesses(needle: string): { count: number; kib: number; pss: number } {
  const out = execFileSync("ps", ["-eo", "pid=,args="], { encoding: "utf8" });
  let count = 0;
  let kib = 0;
  let pss = 0;
  for (const line of out.split("\n")) {
    if (!line.includes(needle)) continue;
    const pid = Number(line.trim().split(/\s+/)[0]);
    kib += rssKiB(pid);
    pss += pssKiB(pid);
    if (line.includes("runner.mjs")) count++;
  }
  return { count, kib, pss };
}

/** Run the benchmark and return its figures. */
export async function runWasmStartupBench(pods = 100, rate = 20): Promise<WasmStartupFigures> {
  const dir = mkdtempSync(join(tmpdir(), "bench-wasm-"));
  const pki = await ensurePki(join(dir, "pki"));
  const [cp, registry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startTestRegistry(),
  ]);
  const node = "bench-wasm-node";
  const dataDir = join(dir, "agent");
  const agent = spawnAgent(
    [
      ...["--server", cp.url, "--ca-file", pki.caCert],
      ...["--name", node, "--data-dir", dataDir, "--node-ip", "127.0.0.1", "--max-pods", String(pods + 10)],
    ],
    { token: cp.token },
  );
  try {
    await agent.waitFor(/tunnel connected/, 60_000);
    const image = registry.push("bench/ticker", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
    ]).image;
    const podJson = (name: string) => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { bench: "wasm" } },
      spec: {
        nodeName: node,
        terminationGracePeriodSeconds: 1,
        containers: [{ name: "main", image, imagePullPolicy: "IfNotPresent" }],
      },
    });
    const create = (name: string) =>
      cp.fetch("/api/v1/namespaces/default/pods", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(podJson(name)),
      });
    const phase = async (name: string) =>
      (
        (await (await cp.fetch(`/api/v1/namespaces/default/pods/${name}`)).json()) as {
          status?: { phase?: string };
        }
      ).status?.phase;

    // Warm-up: pull the module once (start-up SLOs exclude image pulls), then let the agent go idle.
    await create("warmup");
    await until(async () => (await phase("warmup")) === "Running", 60_000, "warm-up pod Running");
    await cp.fetch("/api/v1/namespaces/default/pods/warmup", { method: "DELETE" });
    await until(
      async () => (await cp.fetch("/api/v1/namespaces/default/pods/warmup")).status === 404,
      60_000,
      "warm-up deleted",
    );
    const idleRss = rssKiB(agent.child.pid ?? 0);
    const idlePss = pssKiB(agent.child.pid ?? 0);
    const baseline = rssOfProcesses(dataDir);

    // Watch first, then create at the fixed rate; record when each pod is first seen Running.
    const created = new Map<string, number>();
    const running = new Map<string, number>();
    const list = (await (
      await cp.fetch("/api/v1/namespaces/default/pods?labelSelector=bench%3Dwasm")
    ).json()) as {
      metadata: { resourceVersion: string };
    };
    const watch = await cp.fetch(
      `/api/v1/namespaces/default/pods?watch=true&labelSelector=bench%3Dwasm&resourceVersion=${list.metadata.resourceVersion}`,
    );
    const reader = watch.body!.pipeThrough(new TextDecoderStream()).getReader();
    const watching = (async () => {
      let buffer = "";
      while (running.size < pods) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += value;
        let nl = buffer.indexOf("\n");
        while (nl >= 0) {
          const event = JSON.parse(buffer.slice(0, nl)) as {
            object: { metadata: { name: string }; status?: { phase?: string } };
          };
          buffer = buffer.slice(nl + 1);
          const name = event.object.metadata.name;
          if (event.object.status?.phase === "Running" && !running.has(name))
            running.set(name, performance.now());
          nl = buffer.indexOf("\n");
        }
      }
    })();
    const start = performance.now();
    const creations: Promise<unknown>[] = [];
    for (let i = 0; i < pods; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      const name = `bench-${i}`;
      created.set(name, performance.now());
      creations.push(create(name).then((r) => r.arrayBuffer()));
    }
    await Promise.all(creations);
    await Promise.race([
      watching,
      until(async () => running.size >= pods, 120_000, "all pods Running").catch(() => {}),
    ]);
    await reader.cancel().catch(() => {});
    const latencies = [...created]
      .filter(([n]) => running.has(n))
      .map(([n, t]) => (running.get(n) ?? t) - t)
      .sort((a, b) => a - b);
    const loaded = rssOfProcesses(dataDir);
    const figures: WasmStartupFigures = {
      pods,
      ratePerSecond: rate,
      p50: Math.round(percentile(latencies, 50)),
      p90: Math.round(percentile(latencies, 90)),
      p99: Math.round(percentile(latencies, 99)),
      max: Math.round(latencies[latencies.length - 1] ?? Number.NaN),
      notRunning: pods - latencies.length,
      agentIdleRssMiB: Math.round((idleRss / 1024) * 10) / 10,
      perPodRssMiB:
        Math.round(((loaded.kib - baseline.kib) / 1024 / Math.max(1, loaded.count - baseline.count)) * 10) /
        10,
      perPodPssMiB:
        Math.round(((loaded.pss - baseline.pss) / 1024 / Math.max(1, loaded.count - baseline.count)) * 10) /
        10,
      agentIdlePssMiB: Math.round((idlePss / 1024) * 10) / 10,
    };
    return figures;
  } finally {
    await agent.stop();
    await removeWasmPods(dataDir, node).catch(() => {});
    await registry.close();
    await cp.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Print the figures (shared with main.ts). */
export function printFigures(f: WasmStartupFigures): void {
  console.log(
    `wasm pod start-up: ${f.pods} preview1 pods at ${f.ratePerSecond}/s (module cached), creation → Running via watch`,
  );
  console.log(
    `  p50 ${f.p50} ms   p90 ${f.p90} ms   p99 ${f.p99} ms   max ${f.max} ms   not running: ${f.notRunning}`,
  );
  console.log(`  agent idle: RSS ${f.agentIdleRssMiB} MiB, PSS ${f.agentIdlePssMiB} MiB`);
  console.log(
    `  per running pod (runner process + shim): RSS ${f.perPodRssMiB} MiB, PSS ${f.perPodPssMiB} MiB`,
  );
  console.log("  targets: p99 <= 500 ms (preview1), agent idle RSS <= 80 MB");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { pods: { type: "string" }, rate: { type: "string" } } });
  printFigures(await runWasmStartupBench(Number(values.pods ?? 100), Number(values.rate ?? 20)));
  process.exit(0);
}
