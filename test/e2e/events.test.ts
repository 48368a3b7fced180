/**
 * The node's story in `kubectl describe` and the Prometheus metrics, end to end: the local control plane
 * (workerd via Miniflare, HTTPS with a private CA), the real agent CLI with `--runtimes wasm,cri --containerd
 * managed` (real containerd + runc), busybox from a loopback registry, WASM samples from an in-test registry,
 * real kubectl. A pulled image shows Pulling/Pulled/Created/Started, a crash loop one BackOff event whose
 * count grows (client-go's correlation), an OOM kill the OOMKilled status and the node's OOMKilling event.
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImages,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, sample, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { parsePrometheusText } from "../../workers/apiserver/prom/parse.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = `ev-node-${randomBytes(2).toString("hex")}`;

interface EventJson {
  reason: string;
  type: string;
  message: string;
  count?: number;
  involvedObject: { kind: string; name: string; fieldPath?: string };
  source?: { component?: string; host?: string };
}

describe("the agent's events and metrics through kubectl", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let agentMetrics: string;
  const agentDir = () => join(dir, "agent");

  async function apply(yaml: string): Promise<void> {
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
  }

  function pod(name: string, runtime: "runc" | "wasm", image: string, extra: string): string {
    return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: ${runtime}
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${image}
${extra}`;
  }

  async function events(name: string): Promise<EventJson[]> {
    const r = await cp.fetch(`/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D${name}`);
    return ((await r.json()) as { items: EventJson[] }).items;
  }

  async function describe_(kind: string, name: string): Promise<string> {
    const r = await cp.kubectl(["describe", kind, name]);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-events-"));
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    await apply(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: runc
handler: runc
---
apiVersion: node.k8s.io/v1
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
        "--runtimes",
        "wasm,cri",
        "--containerd",
        "managed",
        "--metrics-bind-address",
        "127.0.0.1:0",
      ],
      { token: cp.token },
    );
    const serving = /metrics: serving (http:\S+)/;
    await agent.waitFor(serving, 90_000);
    agentMetrics = serving.exec(agent.output())?.[1] ?? "";
    await agent.waitFor(/tunnel connected/, 90_000);
  }, 180_000);

  afterAll(async () => {
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
      await agent.stop();
    }
    if (dir) await removeAgentPods(agentDir(), NODE);
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (agent && agent.child.exitCode !== 0) console.log(agent.output().slice(-4000));
  }, 180_000);

  it("a started container pod shows Pulling, Pulled, Created and Started from the kubelet on its node", async () => {
    await apply(pod("sleeper", "runc", busybox, `    command: ["sleep", "3600"]\n`));
    await waitFor(
      async () => (await events("sleeper")).some((e) => e.reason === "Started"),
      45_000,
      "sleeper Started event",
    );
    const out = await describe_("pod", "sleeper");
    expect(out).toMatch(/Normal\s+Pulling\s+.*kubelet\s+Pulling image "[^"]*busybox[^"]*"/);
    expect(out).toMatch(/Normal\s+Pulled\s+.*kubelet\s+Successfully pulled image "[^"]*busybox[^"]*" in \d/);
    expect(out).toMatch(/Normal\s+Created\s+.*kubelet\s+Created container: main/);
    expect(out).toMatch(/Normal\s+Started\s+.*kubelet\s+Started container main/);
    const started = (await events("sleeper")).find((e) => e.reason === "Started");
    expect(started).toMatchObject({
      type: "Normal",
      involvedObject: { kind: "Pod", fieldPath: "spec.containers{main}" },
      source: { component: "kubelet", host: NODE },
    });
  });

  for (const runtime of ["runc", "wasm"] as const) {
    it(`a crash-looping ${runtime} pod shows one BackOff event whose count grows`, async () => {
      const image =
        runtime === "runc"
          ? busybox
          : wasmRegistry.push("samples/fail", "v1", [
              { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("fail"))) },
            ]).image;
      const name = `crash-${runtime}`;
      await apply(
        pod(name, runtime, image, runtime === "runc" ? `    command: ["sh", "-c", "exit 3"]\n` : ""),
      );
      const backoff = await waitFor(
        async () => (await events(name)).find((e) => e.reason === "BackOff" && (e.count ?? 0) >= 2),
        90_000,
        `${name}: BackOff with count >= 2`,
      );
      expect(backoff).toMatchObject({
        type: "Warning",
        message: expect.stringMatching(
          new RegExp(`^Back-off restarting failed container main in pod ${name}_default\\(`),
        ),
      });
      expect((await events(name)).filter((e) => e.reason === "BackOff")).toHaveLength(1);
      const out = await describe_("pod", name);
      expect(out).toMatch(
        /Warning\s+BackOff\s+\S+ \(x\d+ over \S+\)\s+kubelet\s+Back-off restarting failed container main/,
      );
    }, 120_000);

    it(`an OOM-killed ${runtime} pod shows OOMKilled and the node records the kill`, async () => {
      const image =
        runtime === "runc"
          ? busybox
          : wasmRegistry.push("samples/hog", "v1", [
              { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("hog"))) },
            ]).image;
      const name = `oom-${runtime}`;
      await apply(
        `${pod(name, runtime, image, runtime === "runc" ? `    command: ["tail", "/dev/zero"]\n` : "")}    resources:
      limits: { memory: 32Mi }
`.replace("  containers:", "  restartPolicy: Never\n  containers:"),
      );
      const kill = await waitFor(
        async () =>
          (await events(NODE)).find(
            (e) => e.reason === "OOMKilling" && e.message.includes(`default/${name}`),
          ),
        60_000,
        `${name}: OOMKilling on the node`,
      );
      expect(kill).toMatchObject({ type: "Warning", involvedObject: { kind: "Node", name: NODE } });
      expect(await describe_("pod", name)).toMatch(/Reason:\s+OOMKilled/);
      expect(await describe_("node", NODE)).toMatch(
        new RegExp(
          `Warning\\s+OOMKilling\\s+.*Memory cgroup out of memory: Killed container main of pod default/${name}`,
        ),
      );
    }, 120_000);
  }

  it("the API's /metrics parses and counts this cluster's requests, watches, store calls and objects", async () => {
    const res = await cp.fetch("/metrics");
    expect(res.status).toBe(200);
    const m = parsePrometheusText(await res.text());
    const sum = (name: string, labels: Record<string, string>) =>
      m.find(name, labels).reduce((total, s) => total + s.value, 0);
    expect(
      sum("apiserver_request_total", { resource: "pods", verb: "POST", code: "201" }),
    ).toBeGreaterThanOrEqual(5);
    expect(
      sum("apiserver_request_total", { resource: "pods", subresource: "status", verb: "PATCH" }),
    ).toBeGreaterThan(0);
    expect(
      sum("apiserver_request_duration_seconds_count", { resource: "pods", verb: "POST" }),
    ).toBeGreaterThanOrEqual(5);
    // The agent watches its pods the whole time.
    expect(sum("apiserver_longrunning_requests", { resource: "pods", verb: "WATCH" })).toBeGreaterThanOrEqual(
      1,
    );
    expect(
      sum("etcd_request_duration_seconds_count", { operation: "create", type: "pods" }),
    ).toBeGreaterThanOrEqual(5);
    expect(m.find("apiserver_storage_objects", { resource: "pods" })[0]?.value).toBeGreaterThanOrEqual(5);
    expect(m.find("apiserver_storage_objects", { resource: "nodes" })[0]?.value).toBe(1);
    expect(
      m.find("apiserver_current_inflight_requests", { request_kind: "readOnly" })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
  });

  it("the agent's /metrics parses and reports its pods, containers, start durations and runtime calls", async () => {
    const res = await fetch(agentMetrics);
    expect(res.status).toBe(200);
    const m = parsePrometheusText(await res.text());
    expect(m.find("kubelet_running_pods")[0]?.value).toBeGreaterThanOrEqual(1);
    expect(
      m.find("kubelet_running_containers", { container_state: "running" })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
    const started = m.find("kubelet_pod_start_duration_seconds_count")[0]?.value ?? 0;
    expect(started).toBeGreaterThanOrEqual(5);
    const sum = m.find("kubelet_pod_start_duration_seconds_sum")[0]?.value ?? 0;
    expect(sum / started).toBeGreaterThan(0);
    expect(sum / started).toBeLessThan(120);
    for (const op of [
      "pull_image",
      "run_podsandbox",
      "create_container",
      "start_container",
      "container_status",
    ])
      expect(
        m.find("kubelet_runtime_operations_total", { operation_type: op })[0]?.value,
        op,
      ).toBeGreaterThanOrEqual(1);
    expect(
      m.find("kubelet_runtime_operations_duration_seconds_count", { operation_type: "pull_image" })[0]?.value,
    ).toBeGreaterThanOrEqual(1);
  });
});
