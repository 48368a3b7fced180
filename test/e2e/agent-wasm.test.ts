/**
 * End-to-end: the real control plane (workerd via Miniflare, HTTPS with a
 * private CA), the real node agent CLI joined with --ca-file, real WASM
 * modules pulled from an OCI registry, driven with real kubectl.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
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
import { ensureComponents } from "../../wasm/build-components.mjs";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = "wasm-node-1";
let cp: ControlPlane;
let registry: TestRegistry;
let pki: LocalPki;
let dir: string;
let agent: AgentProcess;
const images: Record<string, string> = {};

type PodJson = {
  metadata: { uid: string; deletionTimestamp?: string };
  status?: {
    phase?: string;
    podIP?: string;
    hostIP?: string;
    conditions?: { type: string; status: string }[];
    containerStatuses?: {
      name: string;
      restartCount: number;
      containerID?: string;
      state: {
        running?: { startedAt: string };
        waiting?: { reason: string };
        terminated?: { exitCode: number; reason: string };
      };
      lastState: { terminated?: { exitCode: number; reason: string } };
    }[];
  };
};

async function getPod(name: string): Promise<PodJson | undefined> {
  const response = await cp.fetch(`/api/v1/namespaces/default/pods/${name}`);
  if (response.status === 404) return undefined;
  return (await response.json()) as PodJson;
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const server = createServer();
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function podYaml(name: string, image: string, extra = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  nodeName: ${NODE}
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 5
${extra}  containers:
  - name: main
    image: ${image}
`;
}

function startAgent(extra: string[] = []): AgentProcess {
  return spawnAgent(
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
      ...extra,
    ],
    { token: cp.token },
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agent-e2e-"));
  pki = await ensurePki(join(dir, "pki"));
  [cp, registry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startTestRegistry(),
  ]);
  for (const name of ["hello", "ticker", "fail", "hog"])
    images[name] = registry.push(`samples/${name}`, "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample(name))) },
    ]).image;
  const rc = await cp.kubectl(["apply", "-f", "-"], {
    input: `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
scheduling:
  nodeSelector:
    edgeplane.dev/runtime-wasm: "true"
`,
  });
  expect(rc.stderr).toBe("");
  agent = startAgent();
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

describe("node agent with WASM pods", () => {
  it("registers a Ready node with its capacity, labels and Lease", async () => {
    const out = await cp.kubectl(["get", "node", NODE, "-o", "json"]);
    const node = JSON.parse(out.stdout);
    expect(node.metadata.labels).toMatchObject({
      "kubernetes.io/hostname": NODE,
      "kubernetes.io/os": "linux",
      "edgeplane.dev/runtime-wasm": "true",
    });
    expect(node.status.conditions.find((c: { type: string }) => c.type === "Ready").status).toBe("True");
    expect(Number(node.status.capacity.cpu)).toBeGreaterThan(0);
    expect(node.status.capacity.pods).toBe("110");
    expect(node.status.nodeInfo.kubeletVersion).toMatch(/^v1\./);
    const lease = await cp.kubectl(["get", "lease", NODE, "-n", "kube-node-lease", "-o", "json"]);
    expect(JSON.parse(lease.stdout).spec.holderIdentity).toBe(NODE);
  });

  it("runs a module to completion and serves its logs through the tunnel", async () => {
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml("hello", images.hello, "  restartPolicy: Never\n"),
    });
    expect(apply.code).toBe(0);
    const pod = await until(
      async () => {
        const p = await getPod("hello");
        return p?.status?.phase === "Succeeded" ? p : undefined;
      },
      30_000,
      "hello Succeeded",
    );
    expect(pod.status?.containerStatuses?.[0].state.terminated).toMatchObject({
      exitCode: 0,
      reason: "Completed",
    });
    const logs = await cp.kubectl(["logs", "hello"]);
    expect(logs.stdout).toBe("hello from edgeplane wasm\ndone\n");
    const tail = await cp.kubectl(["logs", "hello", "--tail=1", "--timestamps"]);
    expect(tail.stdout).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z done\n$/);
    const limited = await cp.kubectl(["logs", "hello", "--limit-bytes=5"]);
    expect(limited.stdout).toBe("hello");
  });

  it("runs a Deployment of a long-running module, and `kubectl logs -f` streams it", async () => {
    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ticker
spec:
  replicas: 1
  selector:
    matchLabels: { app: ticker }
  template:
    metadata:
      labels: { app: ticker }
    spec:
      runtimeClassName: wasm
      containers:
      - name: ticker
        image: ${images.ticker}
`,
    });
    expect(apply.code).toBe(0);
    const rollout = await cp.kubectl(["rollout", "status", "deployment/ticker", "--timeout=60s"], {
      timeoutMs: 70_000,
    });
    expect(rollout.code, rollout.stderr).toBe(0);
    const follow = cp.kubectlStream(["logs", "-f", "deployment/ticker"]);
    try {
      const seen = await follow.waitFor(/tick 3\n[\s\S]*tick 5\n/, 20_000);
      expect(seen).toMatch(/^tick \d+\n/);
    } finally {
      await follow.stop();
    }
  });

  it("restarts a failing module with increasing restart counts (CrashLoopBackOff)", async () => {
    await cp.kubectl(["apply", "-f", "-"], { input: podYaml("failing", images.fail) });
    const pod = await until(
      async () => {
        const s = (await getPod("failing"))?.status?.containerStatuses?.[0];
        return s && s.restartCount >= 2 && s.state.waiting?.reason === "CrashLoopBackOff" ? s : undefined;
      },
      45_000,
      "failing in CrashLoopBackOff with restartCount >= 2",
    );
    expect(pod.lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const previous = await cp.kubectl(["logs", "failing", "--previous"]);
    expect(previous.stdout).toBe("about to fail\n");
  });

  it("kills a memory hog at its limit as OOMKilled while the agent and other pods keep running", async () => {
    await cp.kubectl(["apply", "-f", "-"], {
      input: `${podYaml("hog", images.hog, "  restartPolicy: Never\n")}    resources:
      limits: { memory: 32Mi }
`,
    });
    const pod = await until(
      async () => {
        const p = await getPod("hog");
        return p?.status?.phase === "Failed" ? p : undefined;
      },
      60_000,
      "hog Failed",
    );
    expect(pod.status?.containerStatuses?.[0].state.terminated).toMatchObject({
      exitCode: 137,
      reason: "OOMKilled",
    });
    expect(agent.child.exitCode).toBeNull();
    const ticker = await cp.kubectl([
      "get",
      "pods",
      "-l",
      "app=ticker",
      "-o",
      "jsonpath={.items[0].status.phase}",
    ]);
    expect(ticker.stdout).toBe("Running");
  });

  it("keeps running pods across an agent kill and restart (adopted, not restarted)", async () => {
    const before = await until(
      async () => {
        const list = JSON.parse((await cp.kubectl(["get", "pods", "-l", "app=ticker", "-o", "json"])).stdout);
        return list.items[0]?.status?.containerStatuses?.[0]?.state?.running ? list.items[0] : undefined;
      },
      30_000,
      "ticker running",
    );
    await agent.stop("SIGKILL");
    agent = startAgent();
    await agent.waitFor(/tunnel connected/);
    // The restarted agent has re-synced once the pod's status is written by it again (Ready stays True).
    const follow = cp.kubectlStream(["logs", "-f", before.metadata.name, "--tail=1"]);
    try {
      await follow.waitFor(/tick \d+\n[\s\S]*tick \d+\n/, 20_000);
    } finally {
      await follow.stop();
    }
    const after = (await getPod(before.metadata.name))?.status?.containerStatuses?.[0];
    expect(after?.containerID).toBe(before.status.containerStatuses[0].containerID);
    expect(after?.restartCount).toBe(0);
    expect(after?.state.running?.startedAt).toBe(before.status.containerStatuses[0].state.running.startedAt);
  });

  it("stops a pod within its grace period on kubectl delete and releases it", async () => {
    // A 300 s grace period, far longer than kubectl's 30 s wait: the delete can only finish inside
    // that wait if the agent sent SIGTERM and released the pod when the module exited on it, not
    // by a SIGKILL at the end of the grace period (no wall-clock assertion of ours).
    const yaml = podYaml("doomed", images.ticker).replace(
      "terminationGracePeriodSeconds: 5",
      "terminationGracePeriodSeconds: 300",
    );
    expect(yaml).toContain("terminationGracePeriodSeconds: 300");
    await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    await until(async () => (await getPod("doomed"))?.status?.phase === "Running", 30_000, "doomed Running");
    const del = await cp.kubectl(["delete", "pod", "doomed", "--wait=true", "--timeout=30s"], {
      timeoutMs: 40_000,
    });
    expect(del.code, del.stderr).toBe(0);
    expect(await getPod("doomed")).toBeUndefined();
  });

  it("serves HTTP from a wasi:http component pod on its containerPort", async () => {
    const { httpHello } = await ensureComponents();
    const image = registry.push("samples/http-hello", "v1", [
      {
        mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        bytes: new Uint8Array(readFileSync(httpHello)),
      },
    ]).image;
    const port = await freePort();
    await cp.kubectl(["apply", "-f", "-"], {
      input: `${podYaml("web", image)}    ports:
    - containerPort: ${port}
    readinessProbe:
      httpGet: { path: /healthz, port: ${port} }
      periodSeconds: 1
`,
    });
    const pod = await until(
      async () => {
        const p = await getPod("web");
        if (p?.status?.conditions?.find((c) => c.type === "Ready")?.status === "True") return p;
        // Thrown, so a timeout reports where the pod got stuck.
        throw new Error(`not Ready: ${JSON.stringify(p?.status ?? null)}`);
      },
      90_000,
      "web Ready",
    );
    const response = await fetch(`http://${pod.status?.podIP}:${port}/hello`);
    expect(await response.text()).toBe("hello from a wasi:http component, path /hello\n");
  }, 120_000);

  it("answers logs for a node without a connected agent with a clear error", async () => {
    await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml("orphan", images.hello).replace(`nodeName: ${NODE}`, "nodeName: ghost-node"),
    });
    const logs = await cp.kubectl(["logs", "orphan"]);
    expect(logs.code).not.toBe(0);
    expect(logs.stderr).toMatch(/not connected/);
  });

  it("refuses a server certificate it does not trust", async () => {
    const untrusting = spawnAgent(
      ["--server", cp.url, "--name", "untrusting", "--data-dir", join(dir, "u")],
      { token: cp.token },
    );
    const code = await untrusting.exited;
    expect(code).toBe(1);
    expect(untrusting.output()).toMatch(/certificate|self.signed|unable to verify/i);
    const node = await cp.fetch("/api/v1/nodes/untrusting");
    expect(node.status).toBe(404);
  });
});
