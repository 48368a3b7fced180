/**
 * Hostile-actor checks for Pod Security Admission and node credentials,
 * against the real local control plane (Miniflare/workerd) with real kubectl
 * and a real node agent: privileged, hostPath and hostNetwork pods are refused
 * in a namespace without labels (cluster default baseline) with kube's
 * message, created where the namespace opts in, warned about where a warn
 * label asks, and a started agent's command line holds no token.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;
let pki: LocalPki;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hostile-psa-"));
  pki = await ensurePki(join(dir, "pki"));
  cp = await startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } });
}, 120_000);

afterAll(async () => {
  await cp?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

function pod(name: string, namespace: string, spec: string): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: ${namespace}
spec:
${spec}  containers:
  - name: c
    image: busybox
`;
}

const privileged = (name: string, ns: string) =>
  pod(name, ns, "").replace(
    "image: busybox\n",
    "image: busybox\n    securityContext: { privileged: true }\n",
  );
const hostPath = (name: string, ns: string) =>
  pod(name, ns, "  volumes:\n  - name: root\n    hostPath: { path: / }\n");
const hostNetwork = (name: string, ns: string) => pod(name, ns, "  hostNetwork: true\n");

describe("Pod Security Admission", () => {
  it("refuses privileged, hostPath and hostNetwork pods in default with kube's message; kubectl exits non-zero", async () => {
    const cases: [string, string][] = [
      [
        privileged("priv", "default"),
        'pods "priv" is forbidden: violates PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
      ],
      [
        hostPath("hostpath", "default"),
        'pods "hostpath" is forbidden: violates PodSecurity "baseline:latest": hostPath volumes (volume "root")',
      ],
      [
        hostNetwork("hostnet", "default"),
        'pods "hostnet" is forbidden: violates PodSecurity "baseline:latest": host namespaces (hostNetwork=true)',
      ],
    ];
    for (const [yaml, message] of cases) {
      const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
      expect(r.code, r.stdout).not.toBe(0);
      expect(r.stderr).toContain("Error from server (Forbidden)");
      expect(r.stderr).toContain(message);
    }
    const left = await cp.kubectl(["get", "pods", "-n", "default", "-o", "name"]);
    expect(left.stdout).toBe("");
  });

  it("creates the same pods in a namespace labeled enforce=privileged", async () => {
    const ns = await cp.kubectl(["create", "namespace", "opt-in"]);
    expect(ns.code, ns.stderr).toBe(0);
    const label = await cp.kubectl([
      "label",
      "namespace",
      "opt-in",
      "pod-security.kubernetes.io/enforce=privileged",
    ]);
    expect(label.code, label.stderr).toBe(0);
    const r = await cp.kubectl(["apply", "-f", "-"], {
      input: [
        privileged("priv", "opt-in"),
        hostPath("hostpath", "opt-in"),
        hostNetwork("hostnet", "opt-in"),
      ].join("---\n"),
    });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe("");
    const names = await cp.kubectl(["get", "pods", "-n", "opt-in", "-o", "name"]);
    expect(names.stdout.trim().split("\n").sort()).toEqual(["pod/hostnet", "pod/hostpath", "pod/priv"]);
  });

  it("prints kube's warning on kubectl's stderr for a plain pod in a warn=restricted namespace, and creates it", async () => {
    const yaml = `apiVersion: v1
kind: Namespace
metadata:
  name: warned
  labels:
    pod-security.kubernetes.io/warn: restricted
---
${pod("plain", "warned", "")}`;
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'Warning: would violate PodSecurity "restricted:latest": allowPrivilegeEscalation != false (container "c" must set securityContext.allowPrivilegeEscalation=false)',
    );
    expect((await cp.kubectl(["get", "pod", "plain", "-n", "warned"])).code).toBe(0);
  });

  it("creates a Deployment with a privileged template, with a warning", async () => {
    const yaml = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: privileged-template
  namespace: default
spec:
  replicas: 0
  selector: { matchLabels: { app: p } }
  template:
    metadata: { labels: { app: p } }
    spec:
      containers:
      - name: c
        image: busybox
        securityContext: { privileged: true }
`;
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'Warning: would violate PodSecurity "baseline:latest": privileged (container "c" must not set securityContext.privileged=true)',
    );
    expect((await cp.kubectl(["get", "deployment", "privileged-template"])).code).toBe(0);
  });

  it("warns about existing pods when a namespace's enforce level is tightened", async () => {
    const r = await cp.kubectl([
      "label",
      "--overwrite",
      "namespace",
      "opt-in",
      "pod-security.kubernetes.io/enforce=baseline",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(
      'Warning: existing pods in namespace "opt-in" violate the new PodSecurity enforce level "baseline:latest"',
    );
    expect(r.stderr).toContain("Warning: hostnet: host namespaces");
  });
});

describe("node credentials", () => {
  let agent: AgentProcess | undefined;
  let fromEnv: AgentProcess | undefined;
  afterAll(async () => {
    await agent?.stop().catch(() => {});
    await fromEnv?.stop().catch(() => {});
  });

  it("an agent started with --token-file has no token on its command line", async () => {
    const tokenFile = join(dir, "node.token");
    writeFileSync(tokenFile, `${cp.token}\n`, { mode: 0o600 });
    agent = spawnAgent([
      "--server",
      cp.url,
      "--token-file",
      tokenFile,
      "--ca-file",
      pki.caCert,
      "--name",
      "psa-node",
      "--data-dir",
      join(dir, "agent"),
      "--node-ip",
      "127.0.0.1",
    ]);
    await agent.waitFor(/tunnel connected/, 60_000);
    const pid = agent.child.pid;
    expect(pid).toBeDefined();
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    expect(cmdline).toContain("--token-file");
    expect(cmdline).not.toContain(cp.token);
    expect(agent.output()).not.toContain(cp.token);
    expect(agent.output()).not.toMatch(/deprecated|readable by group/);
  });

  it("an agent given its token in EDGEPLANE_TOKEN joins, with no token on its command line", async () => {
    fromEnv = spawnAgent(
      [
        "--server",
        cp.url,
        "--ca-file",
        pki.caCert,
        "--name",
        "psa-env-node",
        "--data-dir",
        join(dir, "env-agent"),
      ],
      { token: cp.token },
    );
    await fromEnv.waitFor(/tunnel connected/, 60_000);
    expect(readFileSync(`/proc/${fromEnv.child.pid}/cmdline`, "utf8")).not.toContain(cp.token);
    expect(fromEnv.output()).not.toContain(cp.token);
  });
});
