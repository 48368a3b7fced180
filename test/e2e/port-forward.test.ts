/**
 * kubectl port-forward end to end: real kubectl (1.33 default, 1.30 with
 * KUBECTL_PORT_FORWARD_WEBSOCKETS=true, 1.27 refused clearly) against the
 * local control plane under workerd, through the node tunnel to the real
 * agent, which speaks SPDY/3.1 and connects to the pod's IP: a busybox httpd
 * container (containerd + runc + CNI) and a wasi:http WASM component.
 */
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { ensureComponents } from "../../wasm/build-components.mjs";
import { type ControlPlane, type KubectlStream, type KubectlVersion, startControlPlane } from "./harness.ts";

const NODE = `pf-node-${randomBytes(2).toString("hex")}`;
const BIG = 20 * 1024 * 1024;

describe("kubectl port-forward through the node tunnel", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let podCidr: string;
  let releaseSubnet: () => void = () => {};
  const bridge = `epf${randomBytes(3).toString("hex")}`;
  const agentDir = () => join(dir, "agent");

  async function apply(yaml: string): Promise<void> {
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
  }

  /** Start `kubectl port-forward` and resolve with its local port once it listens; stop() it after. */
  async function forward(
    target: string,
    remote: number,
    version?: KubectlVersion,
  ): Promise<{ local: number; pf: KubectlStream }> {
    const pf = cp.kubectlStream(["port-forward", target, `:${remote}`], { version });
    const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/, 30_000);
    const local = Number(/Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out)?.[1]);
    return { local, pf };
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-port-forward-"));
    const subnet = claimSubnet();
    podCidr = subnet.cidr;
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    const { httpHello } = await ensureComponents();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const hello = wasmRegistry.push("samples/http-hello", "v1", [
      {
        mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        bytes: new Uint8Array(readFileSync(httpHello)),
      },
    ]).image;
    agent = spawnAgent(
      [
        "--server",
        cp.url,
        "--ca-file",
        pki.caCert,
        "--name",
        NODE,
        "--data-dir",
        agentDir(),
        "--node-ip",
        "127.0.0.1",
        "--runtimes",
        "wasm,cri",
        "--containerd",
        "managed",
        "--pod-cidr",
        podCidr,
        "--cni-bridge",
        bridge,
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    // The httpd pod makes a 20 MiB random file and its checksum, computed inside the pod.
    await apply(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: { name: runc }
handler: runc
scheduling: { nodeSelector: { edgeplane.dev/runtime-runc: "true" } }
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: { name: wasm }
handler: wasm
scheduling: { nodeSelector: { edgeplane.dev/runtime-wasm: "true" } }
---
apiVersion: v1
kind: Pod
metadata: { name: httpd }
spec:
  runtimeClassName: runc
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${busybox}
    command: ["sh", "-c", "mkdir -p /www && echo hello from httpd > /www/index.html && head -c ${BIG} /dev/urandom > /www/big && sha256sum /www/big | cut -c1-64 > /www/big.sha && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      exec: { command: ["test", "-s", "/www/big.sha"] }
      periodSeconds: 1
---
apiVersion: v1
kind: Pod
metadata: { name: wasm-web }
spec:
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${hello}
    ports: [{ containerPort: 8090 }]
    readinessProbe:
      httpGet: { path: /healthz, port: 8090 }
      periodSeconds: 1
`);
    for (const name of ["httpd", "wasm-web"]) {
      const r = await cp.kubectl(["wait", "--for=condition=Ready", `pod/${name}`, "--timeout=120s"], {
        timeoutMs: 130_000,
      });
      expect(r.code, `${name}: ${r.stderr}\n${agent.output().slice(-3000)}`).toBe(0);
    }
  }, 300_000);

  afterAll(async () => {
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
      await agent.stop();
    }
    if (dir) await removeAgentPods(agentDir(), NODE);
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it("forwards to a busybox httpd container: parallel requests and 20 MiB intact (kubectl 1.33)", async () => {
    const { local, pf } = await forward("pod/httpd", 8080);
    try {
      const bodies = await Promise.all(
        Array.from({ length: 12 }, () => fetch(`http://127.0.0.1:${local}/`).then((r) => r.text())),
      );
      expect(bodies).toEqual(Array(12).fill("hello from httpd\n"));
      const [big, sha] = await Promise.all([
        fetch(`http://127.0.0.1:${local}/big`).then(async (r) => Buffer.from(await r.arrayBuffer())),
        fetch(`http://127.0.0.1:${local}/big.sha`).then((r) => r.text()),
      ]);
      expect(big.length).toBe(BIG);
      expect(createHash("sha256").update(big).digest("hex")).toBe(sha.trim());
    } finally {
      await pf.stop();
    }
  }, 120_000);

  it("forwards to a wasi:http WASM pod with parallel requests", async () => {
    const { local, pf } = await forward("pod/wasm-web", 8090);
    try {
      const bodies = await Promise.all(
        Array.from({ length: 10 }, (_, i) => fetch(`http://127.0.0.1:${local}/p${i}`).then((r) => r.text())),
      );
      expect(bodies).toEqual(
        Array.from({ length: 10 }, (_, i) => `hello from a wasi:http component, path /p${i}\n`),
      );
    } finally {
      await pf.stop();
    }
  }, 60_000);

  it("speaks v4.channel.k8s.io port-forward to a WebSocket client (port prefix, data and error channels)", async () => {
    const url = `${cp.url.replace(/^http/, "ws")}/api/v1/namespaces/default/pods/httpd/portforward?ports=8080`;
    const ws = new WebSocket(url, ["v4.channel.k8s.io"], {
      rejectUnauthorized: false,
      headers: { Authorization: `Bearer ${cp.token}` },
    });
    const channels: Buffer[][] = [[], []];
    const closed = new Promise<void>((resolve) => ws.once("close", () => resolve()));
    ws.on("message", (data: Buffer) => channels[data[0]]?.push(data.subarray(1)));
    await new Promise<void>((resolve, reject) => {
      ws.once("open", resolve);
      ws.once("error", reject);
    });
    expect(ws.protocol).toBe("v4.channel.k8s.io");
    ws.send(Buffer.concat([Buffer.from([0]), Buffer.from("GET / HTTP/1.0\r\n\r\n")]));
    // httpd closes after an HTTP/1.0 answer; then the agent ends the stream and the socket closes.
    await closed;
    const [first, ...rest] = channels[0];
    expect([...first]).toEqual([8080 & 0xff, 8080 >> 8]);
    expect([...channels[1][0]]).toEqual([8080 & 0xff, 8080 >> 8]);
    expect(Buffer.concat(rest).toString()).toMatch(/^HTTP\/1\.[01] 200 OK[\s\S]*hello from httpd\n$/);
    expect(channels[1].slice(1)).toEqual([]);
  }, 60_000);

  it("serves kubectl 1.30 with KUBECTL_PORT_FORWARD_WEBSOCKETS=true", async () => {
    process.env.KUBECTL_PORT_FORWARD_WEBSOCKETS = "true";
    let started: { local: number; pf: KubectlStream };
    try {
      started = await forward("pod/httpd", 8080, "1.30");
    } finally {
      delete process.env.KUBECTL_PORT_FORWARD_WEBSOCKETS;
    }
    try {
      expect(await fetch(`http://127.0.0.1:${started.local}/`).then((r) => r.text())).toBe(
        "hello from httpd\n",
      );
    } finally {
      await started.pf.stop();
    }
  }, 60_000);

  it("tells kubectl 1.27 and 1.30 without the env var (SPDY only) which version or setting it needs, and exits", async () => {
    for (const version of ["1.27", "1.30"] as KubectlVersion[]) {
      const r = await cp.kubectl(["port-forward", "pod/httpd", ":8080"], { version, timeoutMs: 30_000 });
      expect(r.code, version).not.toBe(0);
      expect(r.stderr).toMatch(
        /kubectl 1\.31 or newer, or kubectl 1\.30 with KUBECTL_PORT_FORWARD_WEBSOCKETS=true/,
      );
    }
    // A missing pod is reported as such, not as a protocol problem.
    const missing = await cp.kubectl(["port-forward", "pod/nope", ":8080"], {
      version: "1.27",
      timeoutMs: 30_000,
    });
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/not found/);
  }, 60_000);
});
