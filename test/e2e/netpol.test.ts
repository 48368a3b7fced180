/**
 * NetworkPolicy enforced on the real kernel: the real control plane
 * (workerd), real kubectl, a real agent (CLI) with containerd/runc and the
 * WASM runtime on a private bridge, busybox pods (httpd server, wget client)
 * and a wasi:http WASM pod. Each check waits for the traffic outcome itself
 * (the agent reloads its rules within a second of a change).
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { hostIPv4 } from "../../node-agent/src/node.ts";
import {
  buildTestImages,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
} from "../../node-agent/src/runtime/cri/testing.ts";
import {
  type AgentProcess,
  privateNetwork,
  spawnAgent,
  until,
} from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { ensureComponents } from "../../wasm/build-components.mjs";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const execFileP = promisify(execFile);

const NODE = `np-node-${randomBytes(2).toString("hex")}`;

describe("NetworkPolicy on a real node (containers and WASM pods)", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let wasmWeb: string;
  const { bridge, podCidr } = privateNetwork();
  const ip: Record<string, string> = {};
  let clusterIP = "";

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, { input, timeoutMs: 150_000 });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  function pod(
    name: string,
    ns: string,
    labels: string,
    runtime: string,
    image: string,
    rest: string,
  ): string {
    return `apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}, labels: {${labels}}}
spec:
  runtimeClassName: ${runtime}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${image}
${rest}`;
  }

  /**
   * Whether `from` (ns/name) gets an answer from http://target/ over a new connection: wget in the pod through
   * the real kubectl exec. busybox's static wget cannot take -T, so `timeout` bounds a dropped connection.
   */
  async function reaches(from: string, target: string): Promise<boolean> {
    const [ns, name] = from.split("/") as [string, string];
    const r = await cp.kubectl(
      ["exec", "-n", ns, name, "--", "timeout", "2", "wget", "-q", "-O", "-", `http://${target}/`],
      { timeoutMs: 20_000 },
    );
    return r.code === 0 && r.stdout.length > 0;
  }

  /** Waits until `from` → `target` has the expected outcome (rules load asynchronously), then checks it holds once more. */
  async function expectReach(from: string, target: string, allowed: boolean): Promise<void> {
    await until(
      async () => (await reaches(from, target)) === allowed,
      30_000,
      `${from} -> ${target} ${allowed ? "allowed" : "blocked"}`,
    );
    expect(await reaches(from, target), `${from} -> ${target}`).toBe(allowed);
  }

  /** GET from this (host) process: the kubelet-probe path, host → pod. */
  function hostGet(target: string): Promise<number> {
    const [host, port] = target.split(":");
    return new Promise((resolve, reject) => {
      const req = httpGet({ host, port: Number(port), path: "/", agent: false, timeout: 3000 }, (res) => {
        res.resume();
        res.on("end", () => resolve(res.statusCode ?? 0));
      });
      req.on("timeout", () => req.destroy(new Error(`${target} timed out`)));
      req.on("error", reject);
    });
  }

  async function applyPolicy(yaml: string): Promise<void> {
    await kubectl(["apply", "-f", "-"], yaml);
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-netpol-"));
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const { httpHello } = await ensureComponents();
    wasmWeb = wasmRegistry.push("samples/http-hello", "v1", [
      {
        mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        bytes: new Uint8Array(readFileSync(httpHello)),
      },
    ]).image;
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: runc}
handler: runc
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: wasm}
handler: wasm
---
apiVersion: v1
kind: Namespace
metadata: {name: other, labels: {team: other}}
`,
    );
    agent = spawnAgent(
      [
        ...["--server", cp.url, "--ca-file", pki.caCert, "--name", NODE, "--data-dir", join(dir, "agent")],
        ...["--node-ip", hostIPv4(), "--runtimes", "cri,wasm", "--containerd", "managed"],
        ...["--pod-cidr", podCidr, "--cni-bridge", bridge, "--service-proxy", "--cluster-cidr", podCidr],
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    await agent.waitFor(/network policy on/, 10_000);
    const serve = `  command: ["sh", "-c", "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www"]
    ports: [{name: http, containerPort: 8080}]
`;
    const idle = `    command: ["sleep", "3600"]\n`;
    await kubectl(
      ["apply", "-f", "-"],
      [
        pod("server", "default", "app: server", "runc", busybox, `  ${serve}`),
        pod("client", "default", "app: client", "runc", busybox, idle),
        pod("client", "other", "app: client", "runc", busybox, idle),
        pod(
          "wasm-web",
          "default",
          "app: wasm-web",
          "wasm",
          wasmWeb,
          "    ports: [{name: http, containerPort: 8080}]\n",
        ),
        `apiVersion: v1
kind: Service
metadata: {name: server}
spec:
  selector: {app: server}
  ports: [{port: 80, targetPort: 8080}]
`,
      ].join("---\n"),
    );
    await kubectl([
      "wait",
      "--for=condition=Ready",
      "--timeout=120s",
      "-n",
      "default",
      "pod/server",
      "pod/client",
      "pod/wasm-web",
    ]);
    await kubectl(["wait", "--for=condition=Ready", "--timeout=120s", "-n", "other", "pod/client"]);
    for (const name of ["server", "wasm-web"])
      ip[name] = (await kubectl(["get", "pod", name, "-o", "jsonpath={.status.podIP}"])).trim();
    clusterIP = (await kubectl(["get", "service", "server", "-o", "jsonpath={.spec.clusterIP}"])).trim();
  }, 300_000);

  afterAll(async () => {
    if (process.env.NETPOL_DEBUG) {
      console.log(agent?.output().slice(-6000));
      console.log(
        (await execFileP("nft", ["list", "table", "ip", `edgeplane-netpol-${bridge}`]).catch((e) => e))
          .stdout,
      );
    }
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "-A", "--wait=true", "--timeout=60s"], {
        timeoutMs: 70_000,
      });
      await agent.stop();
    }
    if (dir) await removeAgentPods(join(dir, "agent"), NODE);
    for (const table of [`edgeplane-${bridge}`, `edgeplane-netpol-${bridge}`])
      await execFileP("nft", ["delete", "table", "ip", table]).catch(() => {});
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it("serves NetworkPolicy to kubectl (table, short name) and gives the WASM pod an address on the pod network", async () => {
    expect(ip["wasm-web"]?.split(".").slice(0, 3).join(".")).toBe(podCidr.split(".").slice(0, 3).join("."));
    await applyPolicy(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: placeholder}
spec:
  podSelector: {matchLabels: {app: nobody}}
`);
    const table = await kubectl(["get", "netpol"]);
    expect(await kubectl(["explain", "networkpolicy.spec.ingress.ports"])).toContain("endPort");
    // kube's field errors, as a 422 Status kubectl prints.
    const bad = await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: bad}
spec:
  podSelector: {}
  ingress: [{ports: [{port: http, endPort: 90}], from: [{ipBlock: {cidr: 10.0.0.0/16, except: [10.1.0.0/24]}}]}]
`,
    });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('The NetworkPolicy "bad" is invalid');
    expect(bad.stderr).toContain(
      "spec.ingress[0].ports[0].endPort: Invalid value: 90: may not be specified when `port` is non-numeric",
    );
    expect(bad.stderr).toContain(
      'spec.ingress[0].from[0].ipBlock.except[0]: Invalid value: "10.1.0.0/24": must be a strict subset of `cidr`',
    );
    expect(table).toMatch(/^NAME\s+POD-SELECTOR\s+AGE\n/);
    expect(table).toMatch(/placeholder\s+app=nobody\s+\d+s/);
    // Without any isolating policy everyone reaches everyone, through the Service too.
    await expectReach("default/client", `${ip.server}:8080`, true);
    await expectReach("default/client", `${ip["wasm-web"]}:8080`, true);
    await expectReach("other/client", `${ip.server}:8080`, true);
  }, 120_000);

  it("default-deny ingress stops client -> server (container and WASM), not the host; a podSelector rule restores it", async () => {
    await applyPolicy(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: default-deny}
spec:
  podSelector: {}
  policyTypes: [Ingress]
`);
    const described = await kubectl(["describe", "networkpolicy", "default-deny"]);
    expect(described).toMatch(
      /PodSelector:\s+<none> \(Allowing the specific traffic to all pods in this namespace\)/,
    );
    expect(described).toContain("Not affecting egress traffic");
    await expectReach("default/client", `${ip.server}:8080`, false);
    await expectReach("default/client", `${ip["wasm-web"]}:8080`, false);
    // Traffic from the node itself (kubelet's probes) stays allowed, as kube CNI plugins do.
    expect(await hostGet(`${ip.server}:8080`)).toBe(200);

    // Allow app=client on the named port "http" (each pod's own containerPort 8080).
    await applyPolicy(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-client}
spec:
  podSelector: {matchExpressions: [{key: app, operator: In, values: [server, wasm-web]}]}
  ingress:
  - from: [{podSelector: {matchLabels: {app: client}}}]
    ports: [{port: http}]
`);
    await expectReach("default/client", `${ip.server}:8080`, true);
    await expectReach("default/client", `${ip["wasm-web"]}:8080`, true);
    // Through the Service (port 80, DNATed to the pod's 8080, which the rule allows).
    await expectReach("default/client", `${clusterIP}:80`, true);
    // A podSelector peer is the policy's own namespace: the same labels elsewhere do not count.
    await expectReach("other/client", `${ip.server}:8080`, false);
  }, 180_000);

  it("a namespaceSelector rule lets another namespace in", async () => {
    await applyPolicy(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: allow-team-other}
spec:
  podSelector: {matchLabels: {app: server}}
  ingress:
  - from: [{namespaceSelector: {matchLabels: {team: other}}, podSelector: {matchLabels: {app: client}}}]
    ports: [{protocol: TCP, port: 8000, endPort: 8100}]
`);
    await expectReach("other/client", `${ip.server}:8080`, true);
    await expectReach("other/client", `${ip["wasm-web"]}:8080`, false);
  }, 120_000);

  it("egress default-deny blocks the client; an ipBlock with except lets it reach the pods but the excepted one, Services judged after DNAT", async () => {
    await applyPolicy(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
`);
    await expectReach("default/client", `${ip.server}:8080`, false);
    await expectReach("default/client", `${ip["wasm-web"]}:8080`, false);
    // Another namespace's client is not selected.
    await expectReach("other/client", `${ip.server}:8080`, true);

    await applyPolicy(`apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata: {name: client-egress}
spec:
  podSelector: {matchLabels: {app: client}}
  policyTypes: [Egress]
  egress:
  - to: [{ipBlock: {cidr: ${podCidr}, except: [${ip["wasm-web"]}/32]}}]
`);
    await expectReach("default/client", `${ip.server}:8080`, true);
    await expectReach("default/client", `${ip["wasm-web"]}:8080`, false);
    // The ClusterIP is outside the block; the policy sees the pod address it was DNATed to, inside it: allowed.
    await expectReach("default/client", `${clusterIP}:80`, true);

    // Removing the policies restores everything.
    await kubectl(["delete", "networkpolicy", "--all"]);
    await expectReach("default/client", `${ip.server}:8080`, true);
    await expectReach("other/client", `${ip["wasm-web"]}:8080`, true);
  }, 180_000);
});
