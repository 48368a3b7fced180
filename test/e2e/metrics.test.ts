/**
 * Resource metrics end to end with real kubectl: the real agent CLI
 * (`--runtimes wasm,cri --containerd managed`, a short `--metrics-interval`)
 * measures its pods' cgroups and pushes samples; `kubectl top nodes` and
 * `kubectl top pods` read them through metrics.k8s.io. A busybox pod burning
 * CPU (runc) shows close to a core; a WASM pod shows its sandbox's usage.
 * An HPA scales a Deployment up under load and back down after its
 * (test-configured, short) scale-down window once the load is gone.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, sample, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = `metrics-node-${randomBytes(2).toString("hex")}`;

/** `kubectl top` rows: NAME then columns, split on runs of spaces (header dropped). */
function rows(stdout: string): string[][] {
  return stdout
    .trim()
    .split("\n")
    .slice(1)
    .map((line) => line.trim().split(/\s+/));
}

/** "998m" → 998, "2" → 2000. */
function millicores(cell: string): number {
  return cell.endsWith("m") ? Number(cell.slice(0, -1)) : Number(cell) * 1000;
}

/** "12Mi" → 12. */
function mebibytes(cell: string): number {
  return Number(cell.replace(/Mi$/, ""));
}

describe("kubectl top through the agent's metrics", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let releaseSubnet: () => void = () => {};
  const bridge = `epm${randomBytes(3).toString("hex")}`;
  const agentDir = () => join(dir, "agent");

  async function apply(yaml: string): Promise<void> {
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
  }

  /** Poll `kubectl top ...` (bounded) until `ok` holds for its rows. */
  async function untilTop(args: string[], what: string, ok: (rows: string[][]) => boolean) {
    return waitFor(
      async () => {
        const r = await cp.kubectl(["top", ...args]);
        return r.code === 0 && ok(rows(r.stdout)) ? rows(r.stdout) : undefined;
      },
      90_000,
      what,
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-metrics-"));
    const subnet = claimSubnet();
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    [cp, registry, wasmRegistry] = await Promise.all([
      // Each HPA evaluated every second (kube: 15 s), so the test waits seconds, not minutes.
      startControlPlane({
        tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
        env: { HPA_SYNC_PERIOD_SECONDS: "1" },
      }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    await apply(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: runc
handler: runc
scheduling:
  nodeSelector:
    edgeplane.dev/runtime-runc: "true"
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
scheduling:
  nodeSelector:
    edgeplane.dev/runtime-wasm: "true"
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
        "--runtimes",
        "wasm,cri",
        "--containerd",
        "managed",
        "--pod-cidr",
        subnet.cidr,
        "--cni-bridge",
        bridge,
        "--metrics-interval",
        "1",
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
  }, 180_000);

  afterAll(async () => {
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "-A", "--wait=true", "--timeout=60s"], {
        timeoutMs: 70_000,
      });
      await agent.stop();
    }
    if (dir) await removeAgentPods(agentDir(), NODE);
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (agent && agent.child.exitCode !== 0) console.log(agent.output().slice(-4000));
  }, 180_000);

  it("shows the node's usage in kubectl top nodes", async () => {
    const found = await untilTop(["nodes"], "top nodes lists the node", (r) =>
      r.some((row) => row[0] === NODE),
    );
    const row = found.find((r) => r[0] === NODE) ?? [];
    // NAME CPU(cores) CPU% MEMORY(bytes) MEMORY%
    expect(millicores(row[1])).toBeGreaterThan(0);
    expect(mebibytes(row[3])).toBeGreaterThan(0);
    // The oldest and newest kubectl this project supports read the same API.
    for (const version of ["1.27", "1.33"] as const) {
      const r = await cp.kubectl(["top", "nodes", NODE], { version });
      expect(r.code, r.stderr).toBe(0);
      expect(rows(r.stdout)[0][0]).toBe(NODE);
    }
  });

  it("shows a CPU-burning container pod near a core, per container, by label and across namespaces", async () => {
    await apply(`apiVersion: v1
kind: Namespace
metadata:
  name: burners
---
apiVersion: v1
kind: Pod
metadata:
  name: burn
  namespace: burners
  labels: { app: burn }
spec:
  runtimeClassName: runc
  terminationGracePeriodSeconds: 1
  containers:
  - name: spin
    image: ${busybox}
    command: ["sh", "-c", "while :; do :; done"]
  - name: idle
    image: ${busybox}
    command: ["sleep", "3600"]
`);
    // Bounded wait on the condition itself: the spinning container shows at least a fifth of a core.
    const pods = await untilTop(
      ["pods", "-n", "burners", "-l", "app=burn"],
      "top pods shows the burner busy",
      (r) => r.some((row) => row[0] === "burn" && millicores(row[1]) >= 200),
    );
    expect(pods.map((r) => r[0])).toEqual(["burn"]);
    // POD NAME CPU(cores) MEMORY(bytes). A new sample may land between the two reads, and on a loaded machine
    // it can show the spinner below a fifth of a core for a while: wait on the per-container condition too.
    const spinning = (r: string[][]) => millicores(r.find((row) => row[1] === "spin")?.[2] ?? "0");
    const containers = await untilTop(
      ["pods", "-n", "burners", "--containers"],
      "top pods --containers shows spin busy and idle below it",
      (r) => {
        // Both containers in the sample (one taken while only the spinner ran has no idle row), the spinner busy.
        const idle = r.find((row) => row[1] === "idle");
        return idle !== undefined && spinning(r) >= 200 && millicores(idle[2]) < spinning(r);
      },
    );
    expect(containers.map((r) => r[1]).sort()).toEqual(["idle", "spin"]);
    const all = rows((await cp.kubectl(["top", "pods", "-A"])).stdout);
    // NAMESPACE NAME CPU(cores) MEMORY(bytes)
    expect(all.some((r) => r[0] === "burners" && r[1] === "burn")).toBe(true);
    expect(rows((await cp.kubectl(["top", "pods", "-n", "burners", "-l", "app=other"])).stdout)).toEqual([]);
  });

  it("shows a WASM pod's usage from its sandbox's cgroup", async () => {
    const ticker = wasmRegistry.push("samples/ticker", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
    ]).image;
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: ticker
  labels: { app: ticker }
spec:
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${ticker}
`);
    const pods = await untilTop(["pods", "-l", "app=ticker"], "top pods shows the WASM pod", (r) =>
      r.some((row) => row[0] === "ticker"),
    );
    // The sandboxed runner's working set: a Node.js process holds megabytes.
    expect(mebibytes(pods[0][2])).toBeGreaterThan(0);
  });

  it("autoscales a Deployment up under CPU load and back down after its scale-down window", async () => {
    const deployment = (command: string) => `apiVersion: apps/v1
kind: Deployment
metadata:
  name: spin
spec:
  # No replicas: the HPA owns them (an applied count would reset its choice on every apply).
  selector:
    matchLabels: { app: spin }
  template:
    metadata:
      labels: { app: spin }
    spec:
      runtimeClassName: runc
      terminationGracePeriodSeconds: 1
      containers:
      - name: app
        image: ${busybox}
        command: ["sh", "-c", "${command}"]
        resources:
          requests: { cpu: 50m }
          limits: { cpu: 200m }
`;
    await apply(deployment("while :; do :; done"));
    await apply(`apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: spin
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: spin }
  minReplicas: 1
  maxReplicas: 3
  metrics:
  - type: Resource
    resource: { name: cpu, target: { type: Utilization, averageUtilization: 50 } }
  behavior:
    scaleDown: { stabilizationWindowSeconds: 5 }
`);
    type HpaJson = {
      status?: {
        currentReplicas?: number;
        desiredReplicas?: number;
        conditions?: { type: string; status: string; reason: string }[];
      };
    };
    const hpa = async () =>
      JSON.parse((await cp.kubectl(["get", "hpa", "spin", "-o", "json"])).stdout) as HpaJson;
    const replicas = async () =>
      (
        JSON.parse((await cp.kubectl(["get", "deployment", "spin", "-o", "json"])).stdout) as {
          spec: { replicas: number };
        }
      ).spec.replicas;
    // Up: 200m used against 50 % of a 50m request wants far more than 3; maxReplicas holds it at 3.
    await waitFor(
      async () => ((await replicas()) === 3 ? true : undefined),
      120_000,
      "the HPA scales spin to 3",
    );
    const up = await waitFor(
      async () => {
        const h = await hpa();
        return h.status?.conditions?.find((c) => c.type === "ScalingLimited")?.reason === "TooManyReplicas"
          ? h
          : undefined;
      },
      60_000,
      "ScalingLimited=TooManyReplicas",
    );
    expect(up.status?.conditions?.find((c) => c.type === "ScalingActive")).toMatchObject({
      status: "True",
      reason: "ValidMetricFound",
    });
    const table = await cp.kubectl(["get", "hpa", "spin"]);
    expect(table.stdout).toMatch(/^NAME\s+REFERENCE\s+TARGETS\s+MINPODS\s+MAXPODS\s+REPLICAS\s+AGE\n/);
    expect(table.stdout).toMatch(/spin\s+Deployment\/spin\s+cpu: \d+%\/50%\s+1\s+3\s+\d+/);
    const events = await cp.kubectl([
      "get",
      "events",
      "--field-selector",
      "involvedObject.name=spin,reason=SuccessfulRescale",
    ]);
    expect(events.stdout).toContain(
      "New size: 3; reason: cpu resource utilization (percentage of request) above target",
    );

    // Load gone (the pods now sleep): after the 5 s window the HPA goes back to minReplicas.
    await apply(deployment("sleep 3600"));
    await waitFor(
      async () => ((await replicas()) === 1 ? true : undefined),
      180_000,
      "the HPA scales spin back to 1",
    );
    const down = await cp.kubectl(["describe", "hpa", "spin"]);
    expect(down.stdout).toContain("New size: 1; reason: All metrics below target");
  }, 360_000);

  it("kubectl autoscale creates an HPA with kubectl 1.27 (v1 JSON), 1.32 (v1 protobuf) and 1.33 (v2 protobuf)", async () => {
    const created = await cp.kubectl(["create", "deployment", "auto", `--image=${busybox}`]);
    expect(created.code, created.stderr).toBe(0);
    for (const version of ["1.27", undefined, "1.33"] as const) {
      const name = `auto${(version ?? "default").replace(".", "")}`;
      const r = await cp.kubectl(
        ["autoscale", "deployment", "auto", `--name=${name}`, "--cpu-percent=50", "--min=1", "--max=2"],
        version ? { version } : {},
      );
      expect(r.code, r.stderr).toBe(0);
      const row = rows((await cp.kubectl(["get", "hpa", name])).stdout)[0];
      expect(row.slice(0, 5)).toEqual([
        name,
        "Deployment/auto",
        "cpu:",
        expect.stringMatching(/\/50%$/),
        "1",
      ]);
    }
  });
});
