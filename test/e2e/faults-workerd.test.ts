/**
 * Faults in the control plane's process: `npm start` as a user runs it (one
 * WASM node, temp state dir, free ports), then workerd SIGKILLed under it.
 * The launcher must say what died, restart it on the same state, port and
 * certificates, the agent must reconnect and running pods must not be
 * restarted; a rollout interrupted by the kill must complete with exactly
 * the desired pods.
 */
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateNetwork } from "../../node-agent/src/testing/agent-process.ts";
import { type Launched, launchNpmStart } from "../../scripts/local/launch.ts";
import { processesMentioning, survivors } from "../../scripts/local/process-tree.ts";

const network = privateNetwork();
const NETWORK_ENV = { EDGEPLANE_POD_NETWORK: network.podCidr, EDGEPLANE_CNI_BRIDGE: network.bridge };

let stateDir: string;
let launched: Launched;
let registry: string;

/** Run real kubectl with the launcher's kubeconfig. */
function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = [
    "--kubeconfig",
    join(stateDir, "kubeconfig"),
    "--cache-dir",
    join(stateDir, "kube-cache"),
    ...args,
  ];
  return new Promise((res) => {
    const child = execFile("kubectl", full, { timeout: 120_000 }, (error, stdout, stderr) =>
      res({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Poll `check` until it returns true (bounded): a condition, never a fixed sleep. */
async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}\n${launched.output().slice(-3000)}`);
}

function count(pattern: RegExp): number {
  return launched.output().match(new RegExp(pattern, "g"))?.length ?? 0;
}

/** SIGKILL the launcher's workerd and wait until the supervisor says it serves again. */
async function killWorkerd(): Promise<number> {
  const workerd = launched.tree().find((p) => /workerd\S* serve/.test(p.command));
  if (!workerd) throw new Error(`no workerd under npm start\n${launched.output()}`);
  const restartedBefore = count(/workerd restarted \(pid \d+\)/);
  process.kill(workerd.pid, "SIGKILL");
  await until("workerd restarted", () => count(/workerd restarted \(pid \d+\)/) > restartedBefore, 60_000);
  return workerd.pid;
}

function wasmPods(name: string, replicas: number, label = name): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: label } },
      template: {
        metadata: { labels: { app: label } },
        spec: {
          runtimeClassName: "wasm",
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "ticker",
              image: `${registry}/samples/ticker:v1`,
              resources: { limits: { memory: "32Mi", cpu: "10m" } },
            },
          ],
        },
      },
    },
  });
}

interface PodView {
  metadata: { name: string; uid: string; deletionTimestamp?: string; ownerReferences?: { name: string }[] };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    containerStatuses?: { restartCount: number; state?: { running?: { startedAt: string } } }[];
  };
}

async function pods(selector: string): Promise<PodView[]> {
  return (JSON.parse(await kubectlOk(["get", "pods", "-l", selector, "-o", "json"])) as { items: PodView[] })
    .items;
}

/** The pods the node runs processes for: the --hostname of each WASM sandbox (bwrap) under the nodes' dir. */
function sandboxedPods(): string[] {
  const names = processesMentioning(join(stateDir, "nodes")).flatMap(
    (p) => / --hostname (\S+)/.exec(p.command)?.[1] ?? [],
  );
  return [...new Set(names)].sort();
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "edgeplane-faults-workerd-"));
  launched = launchNpmStart(
    [
      "--state-dir",
      stateDir,
      "--port",
      "0",
      "--registry-port",
      "0",
      "--skip-setup",
      "--nodes",
      "1",
      "--runtimes",
      "wasm",
    ],
    NETWORK_ENV,
  );
  const m = await launched.waitFor(
    /edgeplane: ready at https:\/\/127\.0\.0\.1:\d+ .*registry (127\.0\.0\.1:\d+)/,
  );
  registry = m[1];
  await launched.waitFor(/node node-1 is Ready/);
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "wasm" },
      handler: "wasm",
      scheduling: { nodeSelector: { "edgeplane.dev/runtime-wasm": "true" } },
    }),
  );
}, 240_000);

afterAll(async () => {
  if (launched) await launched.interrupt("SIGINT", 60_000).catch(() => launched.interrupt("SIGKILL", 10_000));
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe("workerd killed under npm start", () => {
  it("is restarted on the same port and certificates; the agent reconnects and running pods are untouched", async () => {
    await kubectlOk(["apply", "-f", "-"], wasmPods("steady", 2));
    await kubectlOk(["rollout", "status", "deployment/steady", "--timeout=120s"]);
    const before = await pods("app=steady");
    const processes = processesMentioning(join(stateDir, "nodes"));
    expect(processes.length).toBeGreaterThan(0);

    const killed = await killWorkerd();
    expect(launched.output()).toMatch(
      new RegExp(
        `workerd exited unexpectedly \\(pid ${killed}\\); restarting it on the same state directory, port and certificates in 0\\.5 s`,
      ),
    );
    // The same kubeconfig (server, CA, token) works again.
    expect(await kubectlOk(["get", "ns", "default", "-o", "name"])).toBe("namespace/default\n");

    // The agent reconnected: a pod created after the restart runs on node-1.
    await kubectlOk(["apply", "-f", "-"], wasmPods("after-restart", 1));
    await kubectlOk(["rollout", "status", "deployment/after-restart", "--timeout=120s"]);
    await until("node-1 Ready after the restart", async () => {
      const jsonpath = "jsonpath={.status.conditions[?(@.type=='Ready')].status}";
      return (await kubectl(["get", "node", "node-1", "-o", jsonpath])).stdout.trim() === "True";
    });

    // Running pods were not restarted: same pods, same start time, no restarts, same processes.
    const after = await pods("app=steady");
    const view = (ps: PodView[]) =>
      ps
        .map((p) => ({
          uid: p.metadata.uid,
          phase: p.status.phase,
          startedAt: p.status.containerStatuses?.[0]?.state?.running?.startedAt,
          restarts: p.status.containerStatuses?.[0]?.restartCount,
        }))
        .sort((a, b) => a.uid.localeCompare(b.uid));
    expect(view(after)).toEqual(view(before));
    expect(view(after).every((p) => p.phase === "Running" && p.restarts === 0)).toBe(true);
    expect(survivors(processes).map((p) => p.pid)).toEqual(processes.map((p) => p.pid));
  }, 240_000);

  it("a 20-replica rollout interrupted by the kill completes with exactly the desired pods", async () => {
    await kubectlOk(["apply", "-f", "-"], wasmPods("rollout", 20));
    // Kill once some, not all, pods exist: the controllers and the scheduler are mid-way.
    await until("the rollout under way", async () => (await pods("app=rollout")).length >= 5, 60_000);
    await killWorkerd();
    await kubectlOk(["rollout", "status", "deployment/rollout", "--timeout=180s"]);
    // Settled: exactly 20 pods, all Running on the node, one ReplicaSet owning them all, none being deleted.
    let found: PodView[] = [];
    await until("exactly 20 running pods", async () => {
      found = await pods("app=rollout");
      return (
        found.length === 20 &&
        found.every((p) => p.status.phase === "Running" && !p.metadata.deletionTimestamp)
      );
    });
    expect(new Set(found.map((p) => p.metadata.name)).size).toBe(20);
    expect(new Set(found.map((p) => p.metadata.ownerReferences?.[0]?.name)).size).toBe(1);
    expect(found.every((p) => p.spec.nodeName === "node-1")).toBe(true);
    // No orphans: the node's sandboxes are exactly the cluster's pods (bwrap names each after its pod).
    let names: string[] = [];
    await until("one sandbox per pod on the node", async () => {
      names = (await pods("app")).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
      return JSON.stringify(sandboxedPods()) === JSON.stringify(names.sort());
    });
    console.log(`faults/rollout: 20 replicas desired, ${found.length} pods found after the workerd kill`);
  }, 300_000);
});
