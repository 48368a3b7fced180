/**
 * Pod start-up through the whole path, container and WASM pods side by side:
 * the local control plane (workerd), the real node agent CLI with
 * `--runtimes wasm,cri --containerd managed`, real containerd + runc + CNI.
 * Pods (pre-pulled images) are POSTed at a fixed rate, alternating RuntimeClass
 * `runc` and `wasm`; a watch records when each is first seen Running.
 * Figures are creation (client POST) → Running, p50/p90/p99 per runtime.
 *
 *   node --import tsx bench/pod-startup/containers-full.ts [--pods 40] [--rate 20]
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { startContainerd } from "../../node-agent/src/runtime/cri/containerd.ts";
import { CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import {
  buildTestImages,
  claimSubnet,
  criUnavailableReason,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { removeWasmPods, sample, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";

/** Figures for one runtime, milliseconds. */
export interface RuntimeFigures {
  pods: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  missing: number;
}

function figures(latencies: number[], pods: number): RuntimeFigures {
  const s = [...latencies].sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)] ?? Number.NaN);
  return { pods, p50: at(50), p90: at(90), p99: at(99), max: at(100), missing: pods - s.length };
}

/** Runs the benchmark; returns figures for container (runc) and WASM pods. */
export async function runFullPathBench(
  pods = 40,
  rate = 20,
): Promise<{ runc: RuntimeFigures; wasm: RuntimeFigures }> {
  const dir = mkdtempSync(join(tmpdir(), "ep-bench-pods-"));
  const subnet = claimSubnet();
  const bridge = `epb${randomBytes(3).toString("hex")}`;
  const node = "bench-node";
  const pki = await ensurePki(join(dir, "pki"));
  const images = await buildTestImages();
  const [cp, registry, wasmRegistry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startLocalRegistry(join(dir, "registry")),
    startTestRegistry(),
  ]);
  const agentDir = join(dir, "agent");
  let agent: ReturnType<typeof spawnAgent> | undefined;
  try {
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const wasm = wasmRegistry.push("samples/ticker", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
    ]).image;
    const rc = (name: string) =>
      `apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: ${name}\nhandler: ${name}\n---\n`;
    await cp.kubectl(["apply", "-f", "-"], { input: `${rc("runc")}${rc("wasm")}` });
    agent = spawnAgent(
      [
        ...["--server", cp.url, "--ca-file", pki.caCert, "--name", node],
        ...[
          "--data-dir",
          agentDir,
          "--node-ip",
          "127.0.0.1",
          "--runtimes",
          "wasm,cri",
          "--containerd",
          "managed",
        ],
        ...["--pod-cidr", subnet.cidr, "--cni-bridge", bridge, "--max-pods", String(pods + 10)],
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);

    const pod = (name: string, runtime: "runc" | "wasm") => ({
      apiVersion: "v1",
      kind: "Pod",
      metadata: { name, labels: { bench: "pods" } },
      spec: {
        runtimeClassName: runtime,
        terminationGracePeriodSeconds: 1,
        containers: [
          runtime === "runc"
            ? { name: "main", image: busybox, command: ["sleep", "3600"] }
            : { name: "main", image: wasm },
        ],
      },
    });
    const post = (body: unknown) =>
      cp.fetch("/api/v1/namespaces/default/pods", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(body),
      });
    const phase = async (name: string) =>
      (
        (await (await cp.fetch(`/api/v1/namespaces/default/pods/${name}`)).json()) as {
          status?: { phase?: string };
        }
      ).status?.phase;
    // Warm-up: pull both images and start each runtime once.
    for (const r of ["runc", "wasm"] as const) {
      await post(pod(`warm-${r}`, r));
      await waitFor(async () => (await phase(`warm-${r}`)) === "Running", 60_000, `warm-${r} Running`);
    }

    // Watch first, then create: every pod's first Running is seen as it happens.
    const created = new Map<string, number>();
    const running = new Map<string, number>();
    const watchAbort = new AbortController();
    const list = (await (
      await cp.fetch("/api/v1/namespaces/default/pods?labelSelector=bench%3Dpods")
    ).json()) as {
      metadata: { resourceVersion: string };
    };
    const watch = (async () => {
      const res = await cp.fetch(
        `/api/v1/namespaces/default/pods?watch=true&labelSelector=bench%3Dpods&resourceVersion=${list.metadata.resourceVersion}`,
        { signal: watchAbort.signal },
      );
      const reader = res.body!.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += decoder.decode(value, { stream: true });
        let nl = buf.indexOf("\n");
        while (nl >= 0) {
          const ev = JSON.parse(buf.slice(0, nl)) as {
            object: { metadata: { name: string }; status?: { phase?: string } };
          };
          buf = buf.slice(nl + 1);
          nl = buf.indexOf("\n");
          const name = ev.object.metadata.name;
          if (ev.object.status?.phase === "Running" && !running.has(name))
            running.set(name, performance.now());
        }
      }
    })().catch(() => {});

    const t0 = performance.now();
    const posts: Promise<unknown>[] = [];
    for (let i = 0; i < pods; i++) {
      const at = t0 + (i * 1000) / rate;
      const delay = at - performance.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      const name = `${i % 2 === 0 ? "runc" : "wasm"}-${i}`;
      created.set(name, performance.now());
      posts.push(post(pod(name, i % 2 === 0 ? "runc" : "wasm")));
    }
    await Promise.all(posts);
    await waitFor(() => running.size >= pods, 120_000, "all pods Running").catch(() => undefined);
    watchAbort.abort();
    await watch;
    const lat = (prefix: string) =>
      [...created]
        .filter(([n]) => n.startsWith(prefix) && running.has(n))
        .map(([n, t]) => running.get(n)! - t);
    const count = (prefix: string) => [...created.keys()].filter((n) => n.startsWith(prefix)).length;
    return { runc: figures(lat("runc-"), count("runc-")), wasm: figures(lat("wasm-"), count("wasm-")) };
  } finally {
    await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=120s"], { timeoutMs: 130_000 });
    await agent?.stop();
    // Sweep anything left (pods outlive the agent by design).
    const containerd = await startContainerd({ dataDir: join(agentDir, "cri", "containerd") }).catch(
      () => undefined,
    );
    if (containerd) {
      const rt = new CriRuntime({ endpoint: containerd.socket });
      await rt.removeOrphans(new Set()).catch(() => []);
      await rt.close();
      await containerd.stop();
    }
    await removeWasmPods(agentDir, node).catch(() => {});
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry.stop(), wasmRegistry.close(), cp.stop()]);
    subnet.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const unavailable = criUnavailableReason();
  if (unavailable) {
    console.log(`pod-startup full-path bench skipped: ${unavailable}`);
  } else {
    const { values } = parseArgs({
      options: { pods: { type: "string", default: "40" }, rate: { type: "string", default: "20" } },
    });
    const f = await runFullPathBench(Number(values.pods), Number(values.rate));
    for (const [name, r] of Object.entries(f)) {
      console.log(
        `${name === "runc" ? "container" : "wasm     "} pods via kubectl API → agent: ${r.pods} at ${Number(values.rate) / 2}/s each ` +
          `(${values.rate}/s total) → creation→Running p50 ${r.p50} ms, p90 ${r.p90} ms, p99 ${r.p99} ms, max ${r.max} ms, not Running ${r.missing}`,
      );
    }
  }
}
