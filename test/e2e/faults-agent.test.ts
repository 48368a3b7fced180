/**
 * Faults at the nodes: one control plane (short node grace period) and two
 * real WASM node agents. An agent SIGKILLed while its pods start must, once
 * restarted, leave no orphaned sandbox and give every pod the right status;
 * a node cut off from the control plane for longer than the grace period
 * (its agent frozen with SIGSTOP: it can neither renew its Lease nor hear
 * anything, while its pods keep running, as in a network partition) must
 * have its pods evicted and replaced on the other node, and stop the evicted
 * pods' processes when it comes back.
 */
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
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { processesMentioning } from "../../scripts/local/process-tree.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODES = ["fault-a", "fault-b"] as const;
/** Lease renewals come every 10 s: 15 s of silence marks the node unreachable. */
const GRACE_SECONDS = 15;

let dir: string;
let pki: LocalPki;
let cp: ControlPlane;
let registry: TestRegistry;
let ticker: string;
const agents = new Map<string, AgentProcess>();

function dataDir(node: string): string {
  return join(dir, node);
}

function startAgent(node: string): AgentProcess {
  const agent = spawnAgent(
    [
      "--server",
      cp.url,
      "--ca-file",
      pki.caCert,
      "--name",
      node,
      "--data-dir",
      dataDir(node),
      "--node-ip",
      "127.0.0.1",
      "--metrics-interval",
      "0",
    ],
    { token: cp.token },
  );
  agents.set(node, agent);
  return agent;
}

/** The pods a node runs processes for: each WASM sandbox's --hostname (its pod's name) under its data dir. */
function sandboxedPods(node: string): string[] {
  const names = processesMentioning(`${dataDir(node)}/`).flatMap(
    (p) => / --hostname (\S+)/.exec(p.command)?.[1] ?? [],
  );
  return [...new Set(names)].sort();
}

interface PodView {
  metadata: { name: string; deletionTimestamp?: string };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: { ready: boolean; state?: { running?: unknown } }[];
  };
}

async function pods(selector: string): Promise<PodView[]> {
  const r = await cp.kubectl(["get", "pods", "-l", selector, "-o", "json"]);
  expect(r.code, r.stderr).toBe(0);
  return (JSON.parse(r.stdout) as { items: PodView[] }).items;
}

function running(p: PodView): boolean {
  return (
    p.status.phase === "Running" &&
    !p.metadata.deletionTimestamp &&
    p.status.containerStatuses?.[0]?.state?.running !== undefined &&
    p.status.conditions?.some((c) => c.type === "Ready" && c.status === "True") === true
  );
}

function deployment(name: string, replicas: number, spec: object): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: {
          runtimeClassName: "wasm",
          terminationGracePeriodSeconds: 1,
          containers: [
            { name: "ticker", image: ticker, resources: { limits: { memory: "32Mi", cpu: "10m" } } },
          ],
          ...spec,
        },
      },
    },
  });
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "faults-agent-"));
  pki = await ensurePki(join(dir, "pki"));
  [cp, registry] = await Promise.all([
    startControlPlane({
      tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
      env: { NODE_MONITOR_GRACE_PERIOD: String(GRACE_SECONDS) },
    }),
    startTestRegistry(),
  ]);
  ticker = registry.push("samples/ticker", "v1", [
    { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
  ]).image;
  const rc = await cp.kubectl(["apply", "-f", "-"], {
    input: JSON.stringify({
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "wasm" },
      handler: "wasm",
      scheduling: { nodeSelector: { "edgeplane.dev/runtime-wasm": "true" } },
    }),
  });
  expect(rc.code, rc.stderr).toBe(0);
  await Promise.all(NODES.map((n) => startAgent(n).waitFor(/tunnel connected/, 60_000)));
}, 180_000);

afterAll(async () => {
  for (const a of agents.values()) {
    a.child.kill("SIGCONT");
    await a.stop().catch(() => {});
  }
  for (const n of NODES) await removeWasmPods(dataDir(n), n).catch(() => {});
  await registry?.close().catch(() => {});
  await cp?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("node faults", () => {
  it("an agent SIGKILLed while its pods start leaves, once restarted, no orphan and every pod's status right", async () => {
    const node = NODES[0];
    const r = await cp.kubectl(["apply", "-f", "-"], {
      input: deployment("burst", 10, { nodeSelector: { "kubernetes.io/hostname": node } }),
    });
    expect(r.code, r.stderr).toBe(0);
    // Kill as soon as the node has begun: some sandboxes exist, not all pods run yet.
    await until(async () => sandboxedPods(node).length > 0, 60_000, "the first sandbox");
    const atKill = (await pods("app=burst")).filter(running).length;
    const agent = agents.get(node) as AgentProcess;
    agent.child.kill("SIGKILL");
    await agent.exited;

    await startAgent(node).waitFor(/tunnel connected/, 60_000);
    let found: PodView[] = [];
    await until(
      async () => {
        found = await pods("app=burst");
        return found.length === 10 && found.every(running);
      },
      120_000,
      "10 running pods",
    );
    // Every pod runs in exactly the sandbox named after it, and no sandbox runs without its pod.
    const names = found.map((p) => p.metadata.name).sort();
    await until(
      async () => JSON.stringify(sandboxedPods(node)) === JSON.stringify(names),
      60_000,
      "no orphan",
    );
    console.log(
      `faults/agent-kill: 10 pods acknowledged, ${atKill} running at the kill, ${found.filter(running).length} running and ${sandboxedPods(node).length} sandboxes after the restart`,
    );
    const del = await cp.kubectl(["delete", "deployment", "burst", "--wait=false"]);
    expect(del.code, del.stderr).toBe(0);
    await until(async () => sandboxedPods(node).length === 0, 60_000, "burst's sandboxes gone");
  }, 300_000);

  it("a node cut off past the grace period has its pods evicted and replaced elsewhere, and stops them on its return", async () => {
    const [stays, cut] = NODES;
    // Spread over both nodes; no tolerance for an unreachable node (eviction at once after the grace period).
    const r = await cp.kubectl(["apply", "-f", "-"], {
      input: deployment("spread", 4, {
        tolerations: [
          {
            key: "node.kubernetes.io/unreachable",
            operator: "Exists",
            effect: "NoExecute",
            tolerationSeconds: 0,
          },
          {
            key: "node.kubernetes.io/not-ready",
            operator: "Exists",
            effect: "NoExecute",
            tolerationSeconds: 0,
          },
        ],
        topologySpreadConstraints: [
          {
            maxSkew: 1,
            topologyKey: "kubernetes.io/hostname",
            whenUnsatisfiable: "DoNotSchedule",
            labelSelector: { matchLabels: { app: "spread" } },
          },
        ],
      }),
    });
    expect(r.code, r.stderr).toBe(0);
    let before: PodView[] = [];
    await until(
      async () => {
        before = await pods("app=spread");
        return before.length === 4 && before.every(running);
      },
      120_000,
      "4 running pods",
    );
    const onCut = before.filter((p) => p.spec.nodeName === cut).map((p) => p.metadata.name);
    expect(onCut.length).toBeGreaterThan(0);
    await until(
      async () => onCut.every((n) => sandboxedPods(cut).includes(n)),
      30_000,
      "the cut node's sandboxes",
    );

    const agent = agents.get(cut) as AgentProcess;
    agent.child.kill("SIGSTOP");
    let after: PodView[] = [];
    await until(
      async () => {
        after = await pods("app=spread");
        return after.length === 4 && after.every((p) => running(p) && p.spec.nodeName === stays);
      },
      120_000,
      "4 running pods, all on the node that stayed",
    );
    const ready = await cp.kubectl([
      "get",
      "node",
      cut,
      "-o",
      "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
    ]);
    expect(ready.stdout).toBe("Unknown");
    // Frozen, the cut node still runs the evicted pods' processes (it cannot know yet).
    expect(sandboxedPods(cut)).toEqual(onCut.sort());

    agent.child.kill("SIGCONT");
    await until(
      async () => sandboxedPods(cut).length === 0,
      90_000,
      "the returning node stops the evicted pods",
    );
    await until(
      async () =>
        (
          await cp.kubectl([
            "get",
            "node",
            cut,
            "-o",
            "jsonpath={.status.conditions[?(@.type=='Ready')].status}",
          ])
        ).stdout === "True",
      60_000,
      "the node Ready again",
    );
    console.log(
      `faults/partition: 4 replicas, ${onCut.length} evicted from ${cut} and replaced on ${stays}; ${after.filter(running).length} running after, ${sandboxedPods(cut).length} processes left on ${cut}`,
    );
  }, 300_000);
});
