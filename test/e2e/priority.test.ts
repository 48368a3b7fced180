/**
 * PriorityClass and preemption end to end: the local control plane (workerd via Miniflare, HTTPS with a
 * private CA), the real agent CLI with --max-pods 3 (its Node offers room for three pods), WASM pods pulled
 * from an in-test registry, real kubectl. A low-priority Deployment fills the node; a high-priority pod
 * preempts exactly one of its pods (DisruptionTarget, Preempted event, graceful delete) and runs there,
 * while the Deployment's replacement waits Pending. `kubectl get priorityclass` shows the system classes,
 * and a pod naming a class that does not exist is refused with kube's message.
 */
import { randomBytes } from "node:crypto";
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

const NODE = `prio-node-${randomBytes(2).toString("hex")}`;
const MAX_PODS = 3;

interface PodJson {
  metadata: { name: string; labels?: Record<string, string>; deletionTimestamp?: string };
  spec: { nodeName?: string; priority?: number; priorityClassName?: string };
  status?: {
    phase?: string;
    nominatedNodeName?: string;
    conditions?: { type: string; status: string; reason?: string; message?: string }[];
  };
}

let cp: ControlPlane;
let registry: TestRegistry;
let agent: AgentProcess;
let dir: string;
let ticker: string;
const agentDir = () => join(dir, "agent");

async function apply(yaml: string): Promise<void> {
  const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
  expect(r.code, r.stderr).toBe(0);
}

async function pods(selector = ""): Promise<PodJson[]> {
  const query = selector ? `?labelSelector=${encodeURIComponent(selector)}` : "";
  const r = await cp.fetch(`/api/v1/namespaces/default/pods${query}`);
  return ((await r.json()) as { items: PodJson[] }).items;
}

const running = (p: PodJson) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ep-priority-"));
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
      agentDir(),
      "--node-ip",
      "127.0.0.1",
      "--max-pods",
      String(MAX_PODS),
    ],
    { token: cp.token },
  );
  await agent.waitFor(/tunnel connected/, 90_000);
}, 180_000);

afterAll(async () => {
  // Every step runs even if one fails: pods outlive the agent by design and must not leak.
  if (cp && agent) {
    await cp.kubectl(["delete", "deployment", "--all", "--wait=true", "--timeout=30s"], {
      timeoutMs: 40_000,
    });
    await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=30s"], { timeoutMs: 40_000 });
  }
  await agent?.stop().catch(() => {});
  if (dir) await removeWasmPods(agentDir(), NODE).catch(() => {});
  await Promise.all([registry?.close().catch(() => {}), cp?.stop().catch(() => {})]);
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("PriorityClass and preemption through kubectl", () => {
  it("kubectl get priorityclass shows the two system classes as kube prints them", async () => {
    const r = await cp.kubectl(["get", "priorityclass"]);
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split("\n");
    expect(lines[0].split(/\s+/)).toEqual(["NAME", "VALUE", "GLOBAL-DEFAULT", "AGE", "PREEMPTIONPOLICY"]);
    expect(r.stdout).toMatch(/^system-cluster-critical\s+2000000000\s+false\s+\S+\s+PreemptLowerPriority$/m);
    expect(r.stdout).toMatch(/^system-node-critical\s+2000001000\s+false\s+\S+\s+PreemptLowerPriority$/m);
    const explained = await cp.kubectl(["explain", "priorityclass.preemptionPolicy"]);
    expect(explained.stdout).toMatch(/KIND:\s+PriorityClass/);
    expect(explained.stdout).toMatch(/GROUP:\s+scheduling.k8s.io\n/);
    expect(explained.stdout).toMatch(/FIELD:\s+preemptionPolicy <string>/);
    const del = await cp.kubectl(["delete", "priorityclass", "system-node-critical"]);
    expect(del.stderr).toContain(
      'Error from server (Forbidden): priorityclasses.scheduling.k8s.io "system-node-critical" is forbidden: this is a system priority class and cannot be deleted',
    );
  });

  it("kubectl create priorityclass (a protobuf body from kubectl 1.32+) makes the class it asks for", async () => {
    const r = await cp.kubectl([
      "create",
      "priorityclass",
      "batch",
      "--value=-5",
      "--description=background work",
      "--preemption-policy=Never",
    ]);
    expect(r.code, r.stderr).toBe(0);
    const got = await cp.kubectl(["get", "priorityclass", "batch", "-o", "json"]);
    expect(JSON.parse(got.stdout)).toMatchObject({
      value: -5,
      description: "background work",
      preemptionPolicy: "Never",
    });
    const second = await cp.kubectl(["create", "priorityclass", "dflt", "--value=1", "--global-default"]);
    expect(second.code, second.stderr).toBe(0);
    const third = await cp.kubectl(["create", "priorityclass", "dflt2", "--value=2", "--global-default"]);
    expect(third.stderr).toContain(
      "PriorityClass dflt is already marked as default. Only one default can exist",
    );
    // A default class would give the fillers below its priority: remove it again.
    expect((await cp.kubectl(["delete", "priorityclass", "dflt"])).code).toBe(0);
  });

  it("refuses a pod naming a PriorityClass that does not exist, with kube's message", async () => {
    const r = await cp.kubectl([
      "run",
      "lost",
      "--image",
      ticker,
      "--overrides",
      JSON.stringify({ spec: { priorityClassName: "missing" } }),
    ]);
    expect(r.code).not.toBe(0);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): pods "lost" is forbidden: no PriorityClass with name missing was found',
    );
  });

  it("a high-priority pod preempts one low-priority pod on the full node and runs there", async () => {
    await apply(`apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: low
value: 10
description: fillers
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: high
value: 1000
description: the important one
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: filler
spec:
  replicas: ${MAX_PODS}
  selector:
    matchLabels: { app: filler }
  template:
    metadata:
      labels: { app: filler }
    spec:
      priorityClassName: low
      runtimeClassName: wasm
      terminationGracePeriodSeconds: 1
      containers:
      - name: ticker
        image: ${ticker}
`);
    const fillers = await until(
      async () => {
        const list = await pods("app=filler");
        return list.filter(running).length === MAX_PODS && list;
      },
      90_000,
      `${MAX_PODS} filler pods Running`,
    );
    expect(fillers.every((p) => p.spec.priority === 10 && p.spec.nodeName === NODE)).toBe(true);

    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: vip
spec:
  priorityClassName: high
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 1
  containers:
  - name: ticker
    image: ${ticker}
`);
    const vip = await until(
      async () => {
        const [p] = (await pods()).filter((x) => x.metadata.name === "vip");
        return p && running(p) && p;
      },
      90_000,
      "vip Running",
    );
    expect(vip.spec).toMatchObject({ nodeName: NODE, priority: 1000 });
    expect(vip.status?.nominatedNodeName).toBe(NODE);

    // Exactly one filler was preempted: one Preempted event, naming the preemptor and the node.
    const events = await cp.kubectl(["get", "events", "--field-selector", "reason=Preempted", "-o", "json"]);
    const preempted = (
      JSON.parse(events.stdout) as { items: { involvedObject: { name: string }; message: string }[] }
    ).items;
    expect(preempted).toHaveLength(1);
    expect(fillers.map((p) => p.metadata.name)).toContain(preempted[0].involvedObject.name);
    expect(preempted[0].message).toMatch(new RegExp(`^Preempted by pod \\S+ on node ${NODE}$`));

    // The Deployment replaced it, but its replacement finds no room and no lower pod to take.
    const waiting = await until(
      async () => {
        const list = await pods("app=filler");
        const pending = list.filter((p) => !p.spec.nodeName);
        const scheduled = pending[0]?.status?.conditions?.find((c) => c.type === "PodScheduled");
        return (
          list.filter(running).length === MAX_PODS - 1 &&
          pending.length === 1 &&
          scheduled?.reason === "Unschedulable" &&
          scheduled
        );
      },
      60_000,
      "two fillers Running and one Unschedulable",
    );
    expect(waiting.message).toBe(`0/1 nodes are available: 1 Too many pods.`);
  }, 240_000);

  // Needs policy/v1 PodDisruptionBudget and its disruption controller (the "budgets" work, on main).
  it("spares the pods a PodDisruptionBudget protects when another victim will do", async () => {
    const clean = await cp.kubectl(["delete", "deployment,pod", "--all", "--wait=true", "--timeout=60s"], {
      timeoutMs: 70_000,
    });
    expect(clean.code, clean.stderr).toBe(0);
    const deployment = (name: string, replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: ${replicas}
  selector:
    matchLabels: { app: ${name} }
  template:
    metadata:
      labels: { app: ${name} }
    spec:
      priorityClassName: low
      runtimeClassName: wasm
      terminationGracePeriodSeconds: 1
      containers:
      - name: ticker
        image: ${ticker}
`;
    // "old" starts first, so without a budget it is the one kept (kube keeps the pods that started earlier).
    await apply(deployment("old", 1));
    await until(async () => (await pods("app=old")).filter(running).length === 1, 60_000, "old Running");
    await apply(`${deployment("guarded", 2)}---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: guarded
spec:
  minAvailable: 2
  selector:
    matchLabels: { app: guarded }
`);
    await until(
      async () => {
        const r = await cp.fetch("/apis/policy/v1/namespaces/default/poddisruptionbudgets/guarded");
        const pdb = (await r.json()) as { status?: { currentHealthy?: number; disruptionsAllowed?: number } };
        return pdb.status?.currentHealthy === 2 && pdb.status.disruptionsAllowed === 0;
      },
      60_000,
      "guarded budget: 2 healthy, no disruption allowed",
    );
    const before = (await pods()).filter(running).map((p) => p.metadata.name);
    expect(before).toHaveLength(MAX_PODS);
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: vip2
spec:
  priorityClassName: high
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 1
  containers:
  - name: ticker
    image: ${ticker}
`);
    await until(
      async () => (await pods()).some((p) => p.metadata.name === "vip2" && running(p)),
      90_000,
      "vip2 Running",
    );
    const events = await cp.kubectl(["get", "events", "--field-selector", "reason=Preempted", "-o", "json"]);
    const victims = (JSON.parse(events.stdout) as { items: { involvedObject: { name: string } }[] }).items
      .map((e) => e.involvedObject.name)
      .filter((name) => before.includes(name));
    expect(victims).toHaveLength(1);
    expect(victims[0]).toMatch(/^old-/);
  }, 240_000);
});
