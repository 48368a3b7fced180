/**
 * Disruption budgets, quotas and limit ranges end to end: the real control
 * plane (workerd via Miniflare, HTTPS with a private CA), one real node agent
 * running WASM pods from an in-test registry, real kubectl. `kubectl drain`
 * is held by a PodDisruptionBudget (minAvailable = replicas: kubectl retries
 * the 429) and proceeds once the Deployment is scaled up (its pods tolerate
 * the cordon, so the extra replica lands on the same node: the cheapest way
 * to give the budget room with one agent); a ResourceQuota refuses the pod
 * that would exceed it with kube's message; a LimitRange default shows on a
 * created pod; deletion frees quota; `kubectl get pdb,quota,limits` prints
 * kube's tables. One control plane and one agent for the whole file.
 */
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentProcess,
  removeWasmPods,
  sample,
  spawnAgent,
  until,
} from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = "budgets-node-1";
let cp: ControlPlane;
let registry: TestRegistry;
let dir: string;
let agent: AgentProcess;
let ticker: string;

async function apply(yaml: string): Promise<void> {
  const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
  expect(r.code, r.stderr).toBe(0);
}

async function jsonpath(args: string[], path: string): Promise<string> {
  const r = await cp.kubectl([...args, "-o", `jsonpath=${path}`]);
  return r.code === 0 ? r.stdout : "";
}

/** A kubectl run whose stderr can be awaited while it runs (drain reports its retries there). */
function kubectlWatchingStderr(args: string[]) {
  const child = spawn("kubectl", ["--kubeconfig", cp.kubeconfig, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KUBECONFIG: "" },
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c) => {
    stdout += String(c);
  });
  child.stderr.on("data", (c) => {
    stderr += String(c);
  });
  const exited = new Promise<number>((res) => child.once("exit", (code) => res(code ?? 1)));
  return { child, exited, stdout: () => stdout, stderr: () => stderr };
}

function namespace(name: string): string {
  return `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${name}\n---\n`;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "budgets-e2e-"));
  const pki = await ensurePki(join(dir, "pki"));
  [cp, registry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startTestRegistry(),
  ]);
  ticker = registry.push("samples/ticker", "v1", [
    { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
  ]).image;
  await apply(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
`);
  agent = spawnAgent(
    [
      "--server",
      cp.url,
      "--ca-file",
      pki.caCert,
      "--name",
      NODE,
      "--data-dir",
      join(dir, "agent"),
      "--node-ip",
      "127.0.0.1",
    ],
    { token: cp.token },
  );
  await agent.waitFor(/tunnel connected/);
}, 120_000);

afterAll(async () => {
  // Every step runs even if one fails: pods outlive the agent by design and must not leak.
  await agent?.stop().catch(() => {});
  await removeWasmPods(join(dir, "agent"), NODE).catch(() => {});
  await registry?.close().catch(() => {});
  await cp?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("PodDisruptionBudget and kubectl drain", () => {
  it("holds a drain while the budget allows no disruption, and lets it finish once a replica is added", async () => {
    await apply(`${namespace("drain")}apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: drain
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      runtimeClassName: wasm
      terminationGracePeriodSeconds: 2
      # Tolerate the cordon: with one node, the added replica must land where the drain runs.
      tolerations:
      - key: node.kubernetes.io/unschedulable
        operator: Exists
        effect: NoSchedule
      containers:
      - name: ticker
        image: ${ticker}
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: drain
spec:
  minAvailable: 2
  selector:
    matchLabels: { app: web }
`);
    const rollout = await cp.kubectl(
      ["rollout", "status", "-n", "drain", "deployment/web", "--timeout=90s"],
      {
        timeoutMs: 100_000,
      },
    );
    expect(rollout.code, rollout.stderr).toBe(0);
    await until(
      async () =>
        (await jsonpath(
          ["get", "pdb", "web", "-n", "drain"],
          "{.status.currentHealthy}/{.status.disruptionsAllowed}",
        )) === "2/0",
      30_000,
      "the budget to count 2 healthy pods and allow no disruption",
    );

    const drainArgs = ["drain", NODE, "--ignore-daemonsets", "--delete-emptydir-data", "--timeout=150s"];
    const drain = kubectlWatchingStderr(drainArgs);
    try {
      await until(
        async () =>
          drain.stderr().includes("Cannot evict pod as it would violate the pod's disruption budget."),
        60_000,
        "kubectl drain to report the budget's 429",
      );
      expect(drain.child.exitCode).toBeNull();
      expect(
        await jsonpath(
          ["get", "pods", "-n", "drain", "-l", "app=web"],
          "{.items[*].metadata.deletionTimestamp}",
        ),
      ).toBe("");

      const scale = await cp.kubectl(["scale", "-n", "drain", "deployment/web", "--replicas=3"]);
      expect(scale.code, scale.stderr).toBe(0);
      // kubectl drain retries its eviction exactly 5 s after a 429, on its kept connection: the
      // front end holds that connection as the edge does, so workerd's 5 s idle close no longer
      // races it (test/e2e/keepalive.test.ts; docs/apiserver.md "Keep-alive, locally").
      const code = await drain.exited;
      const out = drain.stdout();
      expect(code, drain.stderr()).toBe(0);
      expect(out).toMatch(/evicted/);
      expect(out).toContain(`node/${NODE} drained`);
    } finally {
      if (drain.child.exitCode === null) drain.child.kill("SIGTERM");
      await cp.kubectl(["uncordon", NODE]);
    }
    const pdb = await cp.kubectl(["get", "pdb", "-n", "drain"]);
    expect(pdb.stdout).toMatch(/^NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\n/);
    expect(pdb.stdout).toMatch(/\nweb\s+2\s+N\/A\s+\d+\s+\S+\n/);
  }, 240_000);
});

describe("ResourceQuota and LimitRange", () => {
  const podYaml = (name: string, resources = "") => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  namespace: team
spec:
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${ticker}
${resources}`;

  it("applies the LimitRange default, refuses the pod that would exceed the quota, and frees usage on delete", async () => {
    await apply(`${namespace("team")}apiVersion: v1
kind: LimitRange
metadata:
  name: defaults
  namespace: team
spec:
  limits:
  - type: Container
    default: { cpu: 500m, memory: 64Mi }
    defaultRequest: { cpu: 200m, memory: 32Mi }
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: compute
  namespace: team
spec:
  hard: { pods: "5", requests.cpu: "1", limits.memory: 1Gi }
`);
    await until(
      async () =>
        (await jsonpath(["get", "quota", "compute", "-n", "team"], "{.status.used.requests\\.cpu}")) === "0",
      30_000,
      "the quota controller to publish status",
    );
    await until(
      async () => (await cp.kubectl(["get", "serviceaccount", "default", "-n", "team"])).code === 0,
      30_000,
      "the namespace's default ServiceAccount",
    );
    await apply(podYaml("defaulted"));
    const resources = JSON.parse(
      await jsonpath(["get", "pod", "defaulted", "-n", "team"], "{.spec.containers[0].resources}"),
    );
    expect(resources).toEqual({
      limits: { cpu: "500m", memory: "64Mi" },
      requests: { cpu: "200m", memory: "32Mi" },
    });
    expect(
      await jsonpath(
        ["get", "pod", "defaulted", "-n", "team"],
        "{.metadata.annotations.kubernetes\\.io/limit-ranger}",
      ),
    ).toBe(
      "LimitRanger plugin set: cpu, memory request for container main; cpu, memory limit for container main",
    );

    const refused = await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml(
        "greedy",
        "    resources:\n      requests: { cpu: 900m }\n      limits: { cpu: 900m }\n",
      ),
    });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'pods "greedy" is forbidden: exceeded quota: compute, requested: requests.cpu=900m, used: requests.cpu=200m, limited: requests.cpu=1',
    );

    const quota = await cp.kubectl(["get", "quota", "-n", "team"]);
    expect(quota.stdout).toMatch(/^NAME\s+AGE\s+REQUEST\s+LIMIT\n/);
    expect(quota.stdout).toMatch(
      /\ncompute\s+\S+\s+pods: 1\/5, requests.cpu: 200m\/1\s+limits.memory: 64Mi\/1Gi\n/,
    );

    const deleted = await cp.kubectl(
      ["delete", "pod", "defaulted", "-n", "team", "--wait=true", "--timeout=60s"],
      {
        timeoutMs: 70_000,
      },
    );
    expect(deleted.code, deleted.stderr).toBe(0);
    await until(
      async () =>
        (await jsonpath(["get", "quota", "compute", "-n", "team"], "{.status.used.requests\\.cpu}")) === "0",
      30_000,
      "the quota controller to free the deleted pod's usage",
    );
    expect(
      (
        await cp.kubectl(["apply", "-f", "-"], {
          input: podYaml(
            "greedy",
            "    resources:\n      requests: { cpu: 900m }\n      limits: { cpu: 900m }\n",
          ),
        })
      ).code,
    ).toBe(0);
  }, 180_000);

  it("takes kubectl's typed creates (create pdb, create quota: protobuf bodies) and its explain", async () => {
    const pdb = await cp.kubectl([
      "create",
      "pdb",
      "typed",
      "-n",
      "team",
      "--selector=app=typed",
      "--max-unavailable=25%",
    ]);
    expect(pdb.code, pdb.stderr).toBe(0);
    expect(
      await jsonpath(
        ["get", "pdb", "typed", "-n", "team"],
        "{.spec.maxUnavailable} {.spec.selector.matchLabels.app}",
      ),
    ).toBe("25% typed");
    const quota = await cp.kubectl([
      "create",
      "quota",
      "typed",
      "-n",
      "team",
      "--hard=pods=3,count/configmaps=4",
      "--scopes=BestEffort",
    ]);
    expect(quota.code, quota.stderr).toBe(0);
    expect(
      await jsonpath(
        ["get", "quota", "typed", "-n", "team"],
        "{.spec.hard.pods} {.spec.hard.count/configmaps} {.spec.scopes[0]}",
      ),
    ).toBe("3 4 BestEffort");
    const explain = await cp.kubectl(["explain", "pdb.spec.minAvailable"]);
    expect(explain.code, explain.stderr).toBe(0);
    expect(explain.stdout).toContain("minAvailable");
  });

  it("prints pdb, quota and limits together as kubectl get does against kube", async () => {
    const all = await cp.kubectl(["get", "pdb,quota,limits", "-A"]);
    expect(all.code, all.stderr).toBe(0);
    expect(all.stdout).toMatch(
      /NAMESPACE\s+NAME\s+MIN AVAILABLE\s+MAX UNAVAILABLE\s+ALLOWED DISRUPTIONS\s+AGE\ndrain\s+poddisruptionbudget.policy\/web\s+2/,
    );
    expect(all.stdout).toMatch(/NAMESPACE\s+NAME\s+AGE\s+REQUEST\s+LIMIT\nteam\s+resourcequota\/compute\s+/);
    expect(all.stdout).toMatch(
      /NAMESPACE\s+NAME\s+CREATED AT\nteam\s+limitrange\/defaults\s+\d{4}-\d\d-\d\dT/,
    );
  });
});
