/**
 * Port-forward throughput through the whole path: real kubectl 1.33
 * port-forward → the local control plane (workerd) → the node's TunnelObject
 * → the real agent (SPDY/3.1 terminated there) → a busybox httpd container
 * (containerd + runc + CNI). The same file is also fetched straight from the
 * pod's IP in the same run, and the ratio printed. Prints figures; not a test.
 *
 *   node --import tsx bench/streams/portforward.ts [--mib 200] [--runs 3]
 *
 * BENCH_PROFILE=<dir>: CPU profiles of workerd (its V8 inspector, over the
 * port-forwarded downloads only) and of the agent (--cpu-prof, whole run)
 * written there, to see both ends of the tunnel in the same run.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { loadavg, tmpdir } from "node:os";
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
} from "../../node-agent/src/runtime/cri/testing.ts";
import { spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";
import { profileWorker } from "../lib/inspector.ts";
import { type CpuUse, cpuMeter } from "../lib/proc-cpu.ts";

/** Port-forward figures in MB/s (10^6 bytes per second). */
export interface PortForwardFigures {
  mib: number;
  direct: number;
  forwarded: number;
  ratio: number;
}

/**
 * Download `path` from host:port fully over HTTP/1.0 (the server closes after
 * the body); MB/s of body, or throws if the body's size is wrong. A raw socket
 * reading into one buffer (`onread`), not fetch: the client shares the two
 * cores with the path it measures, and undici's streams and a fresh buffer per
 * read cost this process ~0.3 s of CPU per 200 MiB.
 */
function download(host: string, port: number, path: string, bytes: number): Promise<number> {
  const started = performance.now();
  const buffer = Buffer.allocUnsafe(256 * 1024);
  let head = "";
  let body = -1;
  return new Promise((resolve, reject) => {
    const socket = connect({
      host,
      port,
      onread: {
        buffer,
        callback: (n) => {
          if (body >= 0) body += n;
          else {
            // The answer's head is short; the body starts after its blank line.
            head += buffer.toString("latin1", 0, n);
            const end = head.indexOf("\r\n\r\n");
            if (end >= 0) body = head.length - end - 4;
          }
          return true;
        },
      },
    });
    socket.on("connect", () => socket.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\n\r\n`));
    socket.on("error", reject);
    socket.on("end", () => {
      const seconds = (performance.now() - started) / 1000;
      if (body !== bytes)
        reject(new Error(`${host}:${port}${path}: got ${body} body bytes, expected ${bytes}`));
      else resolve(bytes / 1e6 / seconds);
    });
    socket.resume();
  });
}

const PROFILE_DIR = process.env.BENCH_PROFILE;
const INSPECTOR_PORT = 9229 + (process.pid % 500);

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** Run the benchmark; undefined when containers cannot run here. */
export async function runPortForwardBench(mib = 200, runs = 3): Promise<PortForwardFigures | undefined> {
  const unavailable = criUnavailableReason();
  if (unavailable) {
    console.log(`streams/portforward: skipped (${unavailable})`);
    return undefined;
  }
  const node = `bench-pf-${randomBytes(2).toString("hex")}`;
  const bridge = `epb${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "ep-bench-pf-"));
  const subnet = claimSubnet();
  const pki = await ensurePki(join(dir, "pki"));
  const images = await buildTestImages();
  const [cp, registry] = await Promise.all([
    startControlPlane({
      tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
      ...(PROFILE_DIR ? { inspectorPort: INSPECTOR_PORT } : {}),
    }),
    startLocalRegistry(join(dir, "registry")),
  ]);
  const agentDir = join(dir, "agent");
  const agent = spawnAgent(
    [
      ...["--server", cp.url, "--ca-file", pki.caCert, "--name", node, "--data-dir", agentDir],
      ...["--node-ip", "127.0.0.1", "--runtimes", "cri", "--containerd", "managed"],
      ...["--pod-cidr", subnet.cidr, "--cni-bridge", bridge],
    ],
    {
      token: cp.token,
      ...(PROFILE_DIR ? { nodeArgs: ["--cpu-prof", `--cpu-prof-dir=${PROFILE_DIR}`] } : {}),
    },
  );
  try {
    await agent.waitFor(/tunnel connected/, 90_000);
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const bytes = mib * 1024 * 1024;
    const applied = await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: { name: runc }
handler: runc
---
apiVersion: v1
kind: Pod
metadata: { name: big }
spec:
  runtimeClassName: runc
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${busybox}
    command: ["sh", "-c", "mkdir -p /www && head -c ${bytes} /dev/urandom > /www/big && touch /www/ready && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      exec: { command: ["test", "-e", "/www/ready"] }
      periodSeconds: 1
`,
    });
    if (applied.code !== 0) throw new Error(applied.stderr);
    const ready = await cp.kubectl(["wait", "--for=condition=Ready", "pod/big", "--timeout=120s"], {
      timeoutMs: 130_000,
    });
    if (ready.code !== 0) throw new Error(ready.stderr);
    const pod = JSON.parse((await cp.kubectl(["get", "pod", "big", "-o", "json"])).stdout);
    const ip = pod.status.podIP as string;
    const pf = cp.kubectlStream(["port-forward", "pod/big", ":8080"]);
    try {
      const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/, 30_000);
      const local = Number(/Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out)?.[1]);
      const direct: number[] = [];
      const forwarded: number[] = [];
      const cpu = new Map<string, CpuUse>();
      for (let i = 0; i < runs; i++) {
        direct.push(await download(ip, 8080, "/big", bytes));
        const profile = PROFILE_DIR ? await profileWorker(INSPECTOR_PORT) : undefined;
        const meter = cpuMeter(["httpd"]);
        forwarded.push(await download("127.0.0.1", local, "/big", bytes));
        for (const [name, use] of meter()) {
          const sum = cpu.get(name) ?? { cpu: 0, system: 0 };
          cpu.set(name, { cpu: sum.cpu + use.cpu, system: sum.system + use.system });
        }
        await profile?.stop(join(PROFILE_DIR ?? "", `workerd-${i}.cpuprofile`));
      }
      const figures = {
        mib,
        direct: median(direct),
        forwarded: median(forwarded),
        ratio: median(forwarded) / median(direct),
      };
      // Each run too: on a shared machine the spread between runs says how far to trust the median.
      const each = (xs: number[]) => xs.map((x) => x.toFixed(1)).join(" / ");
      console.log(
        `streams/portforward: ${mib} MiB x${runs}, median: port-forward ${figures.forwarded.toFixed(1)} MB/s, ` +
          `direct ${figures.direct.toFixed(1)} MB/s, ratio ${(figures.ratio * 100).toFixed(1)}% ` +
          `(runs: port-forward ${each(forwarded)}, direct ${each(direct)}; load ${loadavg()[0].toFixed(2)})`,
      );
      // Where the CPU went while bytes moved through the tunnel ("bench" is this process: the local front end, TLS to
      // kubectl and to the agent, and the download client).
      const shares = [...cpu]
        .sort((a, b) => b[1].cpu - a[1].cpu)
        .map(([n, u]) => `${n} ${(u.cpu / runs).toFixed(2)} (kernel ${(u.system / runs).toFixed(2)})`);
      console.log(`  CPU seconds per port-forwarded ${mib} MiB: ${shares.join(", ")}`);
      return figures;
    } finally {
      await pf.stop();
    }
  } finally {
    await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
    await agent.stop();
    const containerd = await startContainerd({ dataDir: join(agentDir, "cri", "containerd") }).catch(
      () => undefined,
    );
    if (containerd) {
      const rt = new CriRuntime({ endpoint: containerd.socket, cgroupRoot: "/edgeplane" });
      await rt.removeOrphans(new Set()).catch(() => []);
      await rt.close();
      await containerd.stop();
    }
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry.stop(), cp.stop()]);
    subnet.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { values } = parseArgs({ options: { mib: { type: "string" }, runs: { type: "string" } } });
  await runPortForwardBench(Number(values.mib ?? 200), Number(values.runs ?? 3));
}
