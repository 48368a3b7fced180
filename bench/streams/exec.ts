/**
 * Exec echo round-trip through the whole path — WebSocket v5 client → Worker
 * (workerd via Miniflare) → TunnelObject → tunnel v2 → agent → CRI streaming
 * server (SPDY) → `cat` in a busybox container — against the same `cat`
 * reached directly over containerd's streaming server (what the agent does
 * locally), in the same run. Prints p50/p99 and their ratio. Not a test.
 *
 *   npm run bench -- streams        (ROUNDS=500 by default; run by main.ts)
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import WebSocket from "ws";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { CriClient } from "../../node-agent/src/runtime/cri/client.ts";
import {
  buildTestImages,
  claimSubnet,
  criUnavailableReason,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { SpdyClient } from "../../node-agent/src/streams/spdy.ts";
import { spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";
import { percentile } from "../lib/stats.ts";

const ROUNDS = Number(process.env.ROUNDS ?? 500);

/** Times `rounds` sequential write → echo round-trips; `send` writes a line, `echoed` resolves on its echo. */
async function measure(rounds: number, send: (line: Buffer) => void, echoes: AsyncIterator<void>) {
  const samples: number[] = [];
  for (let i = 0; i < rounds + 20; i++) {
    const t = performance.now();
    send(Buffer.from(`${i}\n`));
    await echoes.next();
    if (i >= 20) samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { p50: percentile(samples, 50), p99: percentile(samples, 99) };
}

/** One `void` per echoed line of `chunks` (lines end with \n). */
function lines(): { push(chunk: Buffer): void; iterator: AsyncIterator<void> } {
  let pending = 0;
  let wake: (() => void) | undefined;
  return {
    push(chunk) {
      for (const b of chunk) if (b === 10) pending++;
      wake?.();
    },
    iterator: {
      async next() {
        while (pending === 0) await new Promise<void>((r) => (wake = r));
        pending--;
        return { value: undefined, done: false };
      },
    },
  };
}

/** The exec echo round-trip bench (main.ts runs it after port-forward). */
export async function runExecBench(): Promise<void> {
  const unavailable = criUnavailableReason();
  if (unavailable) {
    console.log(`bench streams skipped: ${unavailable}`);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), "ep-bench-streams-"));
  const subnet = claimSubnet();
  const bridge = `epb${randomBytes(3).toString("hex")}`;
  const pki = await ensurePki(join(dir, "pki"));
  const images = await buildTestImages();
  const [cp, registry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startLocalRegistry(join(dir, "registry")),
  ]);
  const agentDir = join(dir, "agent");
  const agent = spawnAgent(
    [
      ...["--server", cp.url, "--ca-file", pki.caCert, "--name", "bench-streams", "--data-dir", agentDir],
      ...["--node-ip", "127.0.0.1", "--runtimes", "cri", "--containerd", "managed"],
      ...["--pod-cidr", subnet.cidr, "--cni-bridge", bridge],
    ],
    { token: cp.token },
  );
  try {
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    await agent.waitFor(/tunnel connected/, 90_000);
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: v1
kind: Pod
metadata: { name: echo }
spec:
  terminationGracePeriodSeconds: 1
  containers: [{ name: main, image: "${busybox}", command: ["sleep", "3600"] }]
`,
    });
    if (apply.code !== 0) throw new Error(apply.stderr);
    const containerId = await waitFor(
      async () => {
        const pod = (await (await cp.fetch("/api/v1/namespaces/default/pods/echo")).json()) as {
          status?: { phase?: string; containerStatuses?: { containerID?: string }[] };
        };
        const id = pod.status?.containerStatuses?.[0]?.containerID;
        return pod.status?.phase === "Running" && id ? id.replace(/^containerd:\/\//, "") : undefined;
      },
      90_000,
      "pod echo Running",
    );

    // Through the tunnel: kubectl's protocol, spoken by a ws client.
    const query = "command=cat&stdin=true&stdout=true&stderr=true";
    const ws = new WebSocket(
      `${cp.url.replace(/^https/, "wss")}/api/v1/namespaces/default/pods/echo/exec?${query}`,
      ["v5.channel.k8s.io"],
      { headers: { Authorization: `Bearer ${cp.token}` }, ca: readFileSync(pki.caCert) },
    );
    const tunnelLines = lines();
    ws.on("message", (data: Buffer) => {
      if (data[0] === 1) tunnelLines.push(data.subarray(1));
    });
    await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
    const tunnel = await measure(
      ROUNDS,
      (line) => ws.send(Buffer.concat([Buffer.from([0]), line])),
      tunnelLines.iterator,
    );
    ws.close();

    // Direct: the same container's streaming server, as the agent dials it.
    const cri = new CriClient(join(agentDir, "cri", "containerd", "containerd.sock"));
    const url = await cri.streamUrl(containerId, {
      cmd: ["cat"],
      tty: false,
      stdin: true,
      stdout: true,
      stderr: true,
    });
    const spdy = await SpdyClient.dial(url, "v4.channel.k8s.io");
    const directLines = lines();
    spdy.open(
      { streamType: "error" },
      () => {},
      () => {},
    );
    const stdin = spdy.open(
      { streamType: "stdin" },
      () => {},
      () => {},
    );
    spdy.open(
      { streamType: "stdout" },
      (d) => directLines.push(d),
      () => {},
    );
    spdy.open(
      { streamType: "stderr" },
      () => {},
      () => {},
    );
    const direct = await measure(ROUNDS, (line) => void stdin.write(line), directLines.iterator);
    spdy.close();
    cri.close();

    const f = (n: number) => n.toFixed(2);
    console.log(`exec echo round-trip, ${ROUNDS} rounds (ms):`);
    console.log(`  through the tunnel  p50 ${f(tunnel.p50)}  p99 ${f(tunnel.p99)}`);
    console.log(`  direct CRI stream   p50 ${f(direct.p50)}  p99 ${f(direct.p99)}`);
    console.log(
      `  ratio               p50 ${f(tunnel.p50 / direct.p50)}x  p99 ${f(tunnel.p99 / direct.p99)}x`,
    );
  } finally {
    await cp.kubectl(["delete", "pod", "echo", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
    await agent.stop();
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry.stop(), cp.stop()]);
    subnet.release();
    rmSync(dir, { recursive: true, force: true });
  }
}
