/**
 * Edge ingress end to end: real kubectl against the local control plane
 * under workerd, a real agent (containerd + runc + CNI, and WASM), and
 * requests from curl/Node by Host header to the Worker, which matches the
 * Ingress and carries each request through the node tunnel to a pod: a
 * busybox httpd Deployment (each pod serves its own name) and a wasi:http
 * WASM pod. Hosts under INGRESS_DOMAINS on the API's port are ingress (the
 * edge's routing); the server certificate names *.ingress.test, so curl
 * verifies it with the cluster CA.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
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
import { ensurePki, signLeaf } from "../../scripts/local/pki.ts";
import { ensureComponents } from "../../wasm/build-components.mjs";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = `ing-node-${randomBytes(2).toString("hex")}`;
const DOMAIN = "ingress.test";
const run = promisify(execFile);

describe("edge Ingress through the node tunnel", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let ca: string;
  let caFile: string;
  let port: number;
  let releaseSubnet: () => void = () => {};
  const bridge = `eig${randomBytes(3).toString("hex")}`;
  const agentDir = () => join(dir, "agent");

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, { input, timeoutMs: 130_000 });
    expect(r.code, `${args.join(" ")}: ${r.stderr}\n${agent?.output().slice(-2000)}`).toBe(0);
    return r.stdout;
  }

  /** GET https://<host>:<port><path> with the Host header and SNI of `host`, verified with the cluster CA. */
  function get(host: string, path: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: "127.0.0.1",
          port,
          path,
          servername: host,
          headers: { Host: `${host}:${port}` },
          ca,
          agent: false,
        },
        (res) => {
          let body = "";
          res.setEncoding("utf8");
          res.on("data", (c: string) => {
            body += c;
          });
          res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
          res.on("error", reject);
        },
      );
      req.on("error", reject);
      req.end();
    });
  }

  /** GET repeatedly until `done` says so (bounded by `tries`); every answer must be 200. */
  async function getUntil(host: string, path: string, done: (bodies: string[]) => boolean, tries: number) {
    const bodies: string[] = [];
    for (let i = 0; i < tries && !done(bodies); i++) {
      const r = await get(host, path);
      expect(r.status, r.body).toBe(200);
      bodies.push(r.body.trim());
    }
    return bodies;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-ingress-"));
    const subnet = claimSubnet();
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    const cert = { cert: join(dir, "pki", "ingress.crt"), key: join(dir, "pki", "ingress.key") };
    await signLeaf(
      join(dir, "pki"),
      "ingress",
      "localhost",
      ["IP:127.0.0.1", "DNS:localhost", `DNS:*.${DOMAIN}`],
      {
        caCert: pki.caCert,
        caKey: pki.caKey,
        ...cert,
      },
    );
    caFile = pki.caCert;
    ca = readFileSync(pki.caCert, "utf8");
    const images = await buildTestImages();
    const { httpHello } = await ensureComponents();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({
        tls: { certPath: cert.cert, keyPath: cert.key },
        env: { INGRESS_DOMAINS: DOMAIN, INGRESS_ADDRESS: "127.0.0.1" },
      }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    port = Number(new URL(cp.url).port);
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
        subnet.cidr,
        "--cni-bridge",
        bridge,
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: node.k8s.io/v1
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
apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
  replicas: 1
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      runtimeClassName: runc
      terminationGracePeriodSeconds: 1
      containers:
      - name: httpd
        image: ${busybox}
        command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
        readinessProbe:
          httpGet: { path: /, port: 8080 }
          periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
---
apiVersion: v1
kind: Pod
metadata: { name: wasm-web, labels: { app: wasm-web } }
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
---
apiVersion: v1
kind: Service
metadata: { name: wasm }
spec:
  selector: { app: wasm-web }
  ports: [{ port: 80, targetPort: 8090 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: apps }
spec:
  rules:
  - host: web.${DOMAIN}
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: web, port: { name: http } } } }
      - { path: /wasm, pathType: Prefix, backend: { service: { name: wasm, port: { number: 80 } } } }
  - host: wasm.${DOMAIN}
    http:
      paths:
      - { path: /, pathType: Prefix, backend: { service: { name: wasm, port: { number: 80 } } } }
`,
    );
    await kubectl(["rollout", "status", "deployment/web", "--timeout=120s"]);
    await kubectl(["wait", "--for=condition=Ready", "pod/wasm-web", "--timeout=120s"]);
  }, 300_000);

  afterAll(async () => {
    if (cp && agent) {
      await cp.kubectl(["delete", "deployment,pods", "--all", "--wait=true", "--timeout=60s"], {
        timeoutMs: 70_000,
      });
      await agent.stop();
    }
    if (dir) await removeAgentPods(agentDir(), NODE);
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it("serves the Ingress under the default edgeplane class and shows its address", async () => {
    await kubectl([
      "wait",
      "--for=jsonpath={.status.loadBalancer.ingress[0].ip}=127.0.0.1",
      "ingress/apps",
      "--timeout=60s",
    ]);
    const table = await kubectl(["get", "ingress", "apps"]);
    expect(table).toMatch(/^NAME\s+CLASS\s+HOSTS\s+ADDRESS\s+PORTS\s+AGE\n/);
    expect(table).toMatch(/apps\s+edgeplane\s+web\.ingress\.test,wasm\.ingress\.test\s+127\.0\.0\.1\s+80\s+/);
    expect(await kubectl(["get", "ingressclass"])).toMatch(/edgeplane\s+edgeplane\.dev\/ingress\s+<none>/);
  });

  it("routes by host and path to the right backends (curl with the cluster CA), and 404s an unknown host", async () => {
    const pod = (
      await kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].metadata.name}"])
    ).trim();
    const curl = async (host: string, path: string) =>
      (
        await run("curl", [
          "-sS",
          "-w",
          "\\n%{http_code}",
          "--cacert",
          caFile,
          "--resolve",
          `${host}:${port}:127.0.0.1`,
          `https://${host}:${port}${path}`,
        ])
      ).stdout;
    expect(await curl(`web.${DOMAIN}`, "/")).toBe(`${pod}\n\n200`);
    expect(await curl(`web.${DOMAIN}`, "/wasm/x")).toBe(
      "hello from a wasi:http component, path /wasm/x\n\n200",
    );
    expect(await curl(`wasm.${DOMAIN}`, "/p")).toBe("hello from a wasi:http component, path /p\n\n200");
    expect(await curl(`nope.${DOMAIN}`, "/")).toMatch(/no Ingress serves this host and path\n\n404$/);
    // kubectl create ingress (a protobuf body from kubectl's typed client): served within the routes' TTL.
    await kubectl(["create", "ingress", "made", `--rule=made.${DOMAIN}/*=wasm:80`]);
    let made = await get(`made.${DOMAIN}`, "/m");
    const deadline = Date.now() + 20_000;
    while (made.status === 404 && Date.now() < deadline) made = await get(`made.${DOMAIN}`, "/m");
    expect(made).toEqual({ status: 200, body: "hello from a wasi:http component, path /m\n" });
    // The API keeps its own host.
    expect((await cp.fetch("/version")).status).toBe(200);
  });

  it("spreads requests over two pods, and moves traffic off a deleted pod without errors", async () => {
    await kubectl(["scale", "deployment/web", "--replicas=2"]);
    await kubectl(["rollout", "status", "deployment/web", "--timeout=120s"]);
    const pods = (await kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[*].metadata.name}"]))
      .trim()
      .split(" ");
    expect(pods).toHaveLength(2);
    // Both pods answer (the front door's view refreshes within seconds of the new endpoint).
    const seen = await getUntil(`web.${DOMAIN}`, "/", (b) => new Set(b).size === 2, 400);
    expect(new Set(seen)).toEqual(new Set(pods));

    // Delete one: every request keeps succeeding (a dead endpoint is retried on the other) until only the survivor answers.
    const [gone, kept] = pods;
    await kubectl(["delete", "pod", gone, "--wait=false"]);
    const after = await getUntil(
      `web.${DOMAIN}`,
      "/",
      (b) => b.slice(-20).length === 20 && b.slice(-20).every((x) => x !== gone),
      600,
    );
    expect(after.slice(-20).every((x) => x === kept || !pods.includes(x))).toBe(true);
  }, 180_000);
});
