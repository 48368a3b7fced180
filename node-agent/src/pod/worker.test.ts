import { beforeEach, describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { FakeRuntime } from "../testing/fake-runtime.ts";
import { Backoff } from "./backoff.ts";
import type { PodDeps } from "./context.ts";
import type { Pod, PodSpec, PodStatus, Probe } from "./k8s.ts";
import { PodWorker } from "./worker.ts";

let clock: FakeClock;
let runtime: FakeRuntime;
let statuses: PodStatus[];
let released: string[];
let probeResults: Map<string, boolean[]>;

function pod(spec: Partial<PodSpec> = {}, extra: Partial<Pod> = {}): Pod {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: "p", namespace: "default", uid: "uid-1", resourceVersion: "1" },
    spec: { nodeName: "n1", containers: [{ name: "app", image: "reg/app:v1" }], ...spec },
    ...extra,
  };
}

function deps(): PodDeps {
  return {
    runtimeFor: async () => runtime,
    clock,
    nodeName: "n1",
    hostIP: "192.0.2.1",
    podDir: (p) => `/data/pods/${p.metadata.uid}`,
    prepare: async () => ({ mounts: () => [], env: () => ({}) }),
    writeStatus: async (_pod, status) => {
      statuses.push(structuredClone(status));
    },
    release: async (p) => {
      released.push(p.metadata.uid ?? "");
    },
    probe: async (probe: Probe) => {
      const key = probe.httpGet?.path ?? String(probe.tcpSocket?.port);
      const results = probeResults.get(key) ?? [];
      return results.length > 1 ? (results.shift() as boolean) : (results[0] ?? true);
    },
    crashBackoff: new Backoff(10_000, 300_000),
    pullBackoff: new Backoff(10_000, 300_000),
    syncPeriodMs: 1000,
  };
}

const last = () => statuses[statuses.length - 1];
const app = (s: PodStatus | undefined = last()) => s?.containerStatuses?.find((c) => c.name === "app");
const cond = (type: string, s: PodStatus | undefined = last()) =>
  s?.conditions?.find((c) => c.type === type)?.status;

function deleted(p: Pod, grace = 30): Pod {
  return {
    ...p,
    metadata: {
      ...p.metadata,
      deletionTimestamp: clock.now().toISOString(),
      deletionGracePeriodSeconds: grace,
    },
  };
}

beforeEach(() => {
  clock = new FakeClock();
  runtime = new FakeRuntime(clock);
  statuses = [];
  released = [];
  probeResults = new Map();
});

describe("pod state machine", () => {
  it("pulls, starts and reports a Running, Ready pod like a kubelet", async () => {
    const p = pod({
      containers: [
        { name: "app", image: "reg/app:v1", resources: { limits: { cpu: "100m", memory: "64Mi" } } },
      ],
    });
    const worker = new PodWorker(p, deps());
    await clock.advance(0);
    expect(worker.history).toEqual(["adopting", "pulling", "starting", "running"]);
    expect(runtime.calls.slice(0, 4)).toEqual(["pull reg/app:v1", "runSandbox p", "create app", "start app"]);
    const s = last();
    expect(s.phase).toBe("Running");
    expect(s.podIP).toBe("10.0.0.7");
    expect(s.hostIP).toBe("192.0.2.1");
    expect(s.qosClass).toBe("Guaranteed");
    expect(cond("Ready")).toBe("True");
    expect(cond("ContainersReady")).toBe("True");
    expect(cond("Initialized")).toBe("True");
    expect(cond("PodScheduled")).toBe("True");
    expect(app()).toMatchObject({
      ready: true,
      restartCount: 0,
      image: "reg/app:v1",
      state: { running: {} },
    });
    expect(app()?.imageID).toMatch(/^sha256:/);
    expect(s.startTime).toBe(clock.now().toISOString());
  });

  it("backs off image pulls: ErrImagePull, then ImagePullBackOff for 10 s, 20 s, then runs", async () => {
    runtime.failPulls.set("reg/app:v1", 2);
    const worker = new PodWorker(pod(), deps());
    await clock.advance(0);
    expect(statuses.some((s) => app(s)?.state.waiting?.reason === "ErrImagePull")).toBe(true);
    expect(app()?.state.waiting?.reason).toBe("ImagePullBackOff");
    expect(last().phase).toBe("Pending");
    await clock.advance(9_999);
    expect(runtime.calls.filter((c) => c.startsWith("pull")).length).toBe(1);
    await clock.advance(1);
    expect(runtime.calls.filter((c) => c.startsWith("pull")).length).toBe(2);
    await clock.advance(19_999);
    expect(runtime.calls.filter((c) => c.startsWith("pull")).length).toBe(2);
    await clock.advance(1);
    expect(worker.state).toBe("running");
    expect(app()?.state.running).toBeDefined();
  });

  it("restarts a crashing container with back-off 0, 10 s, 20 s, 40 s ... capped at 5 min (CrashLoopBackOff)", async () => {
    const worker = new PodWorker(pod(), deps());
    await clock.advance(0);
    const starts = () => runtime.calls.filter((c) => c === "start app").length;
    // First crash: restarted at once (restartCount 1).
    runtime.exit(runtime.running("app")!.id, 1);
    await clock.advance(1000);
    expect(starts()).toBe(2);
    expect(app()?.restartCount).toBe(1);
    expect(app()?.lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const gaps: number[] = [];
    for (let i = 0; i < 7; i++) {
      runtime.exit(runtime.running("app")!.id, 1);
      await clock.advance(1000);
      expect(app()?.state.waiting?.reason).toBe("CrashLoopBackOff");
      expect(worker.state).toBe("backoff");
      const before = starts();
      let waited = 1000;
      while (starts() === before) {
        await clock.advance(1000);
        waited += 1000;
      }
      gaps.push(waited / 1000);
    }
    expect(gaps).toEqual([10, 20, 40, 80, 160, 300, 300]);
    expect(app()?.restartCount).toBe(8);
    expect(app()?.state.running).toBeDefined();
    expect(last().phase).toBe("Running");
  });

  it("honours restartPolicy Never and OnFailure with the right terminal phase", async () => {
    const never = new PodWorker(pod({ restartPolicy: "Never" }), deps());
    await clock.advance(0);
    runtime.exit(runtime.running("app")!.id, 2);
    await clock.advance(1000);
    expect(never.state).toBe("terminated");
    expect(last().phase).toBe("Failed");
    expect(app()?.state.terminated?.exitCode).toBe(2);
    expect(cond("Ready")).toBe("False");

    statuses = [];
    runtime = new FakeRuntime(clock);
    const p2 = pod(
      { restartPolicy: "OnFailure" },
      { metadata: { name: "q", namespace: "default", uid: "uid-2" } },
    );
    const onFailure = new PodWorker(p2, deps());
    await clock.advance(0);
    runtime.exit(runtime.running("app")!.id, 1);
    await clock.advance(1000);
    expect(app()?.restartCount).toBe(1);
    runtime.exit(runtime.running("app")!.id, 0);
    await clock.advance(1000);
    expect(onFailure.state).toBe("terminated");
    expect(last().phase).toBe("Succeeded");
    expect(app()?.state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    // A finished pod is released only once deleted.
    expect(released).toEqual([]);
    onFailure.update(deleted(p2));
    await onFailure.done;
    expect(released).toEqual(["uid-2"]);
  });

  it("runs init containers one at a time, in order, before the app containers", async () => {
    const p = pod({
      initContainers: [
        { name: "init-a", image: "reg/a:v1" },
        { name: "init-b", image: "reg/b:v1" },
      ],
    });
    new PodWorker(p, deps());
    await clock.advance(0);
    expect(runtime.calls.filter((c) => c.startsWith("start"))).toEqual(["start init-a"]);
    expect(last().phase).toBe("Pending");
    expect(cond("Initialized")).toBe("False");
    expect(app()?.state.waiting?.reason).toBe("PodInitializing");
    runtime.exit(runtime.running("init-a")!.id, 0);
    await clock.advance(1000);
    expect(runtime.calls.filter((c) => c.startsWith("start"))).toEqual(["start init-a", "start init-b"]);
    runtime.exit(runtime.running("init-b")!.id, 0);
    await clock.advance(1000);
    expect(runtime.calls.filter((c) => c.startsWith("start"))).toEqual([
      "start init-a",
      "start init-b",
      "start app",
    ]);
    expect(cond("Initialized")).toBe("True");
    expect(last().phase).toBe("Running");
    expect(last().initContainerStatuses?.map((s) => s.state.terminated?.reason)).toEqual([
      "Completed",
      "Completed",
    ]);
  });

  it("fails the pod when an init container fails under restartPolicy Never", async () => {
    const worker = new PodWorker(
      pod({ restartPolicy: "Never", initContainers: [{ name: "init", image: "reg/i:v1" }] }),
      deps(),
    );
    await clock.advance(0);
    runtime.exit(runtime.running("init")!.id, 3);
    await clock.advance(1000);
    expect(worker.state).toBe("terminated");
    expect(last().phase).toBe("Failed");
    expect(runtime.calls).not.toContain("start app");
  });

  it("terminates gracefully on deletion: SIGTERM with the grace period, SIGKILL after it, then releases", async () => {
    runtime.ignoresSigterm = true;
    const p = pod({ terminationGracePeriodSeconds: 5 });
    const worker = new PodWorker(p, deps());
    await clock.advance(0);
    worker.update(deleted(p, 5));
    await clock.advance(0);
    expect(worker.state).toBe("terminating");
    expect(runtime.calls).toContain("stop app 5");
    expect(released).toEqual([]);
    await clock.advance(4_999);
    expect(released).toEqual([]);
    await clock.advance(1);
    await worker.done;
    expect(worker.history.slice(-3)).toEqual(["terminating", "terminated", "done"]);
    expect(app()?.state.terminated?.exitCode).toBe(137);
    expect(runtime.calls).toContain("removeSandbox sb-uid-1");
    expect(released).toEqual(["uid-1"]);
  });

  it("keeps a container unready until its readiness probe passes, and restarts it when liveness fails 3 times", async () => {
    probeResults.set("/ready", [false, false, true]);
    probeResults.set("/live", [true, false, false, false, true]);
    const p = pod({
      containers: [
        {
          name: "app",
          image: "reg/app:v1",
          readinessProbe: { httpGet: { path: "/ready", port: 80 }, periodSeconds: 5 },
          livenessProbe: { httpGet: { path: "/live", port: 80 }, initialDelaySeconds: 2 },
        },
      ],
    });
    new PodWorker(p, deps());
    await clock.advance(0);
    expect(app()?.ready).toBe(false);
    expect(cond("Ready")).toBe("False");
    await clock.advance(5_000);
    expect(app()?.ready).toBe(false);
    await clock.advance(5_000);
    expect(app()?.ready).toBe(true);
    expect(cond("Ready")).toBe("True");
    // liveness: t=2 ok, 12 fail, 22 fail, 32 fail → killed with the pod's grace period, restarted at once.
    await clock.advance(21_000);
    expect(runtime.calls.filter((c) => c === "start app").length).toBe(1);
    await clock.advance(2_000);
    expect(runtime.calls).toContain("stop app 30");
    expect(runtime.calls.filter((c) => c === "start app").length).toBe(2);
    expect(app()?.restartCount).toBe(1);
    expect(app()?.lastState.terminated?.exitCode).toBe(143);
  });

  it("holds liveness and readiness until the startup probe succeeds", async () => {
    probeResults.set("/startup", [false, false, true]);
    probeResults.set("8080", [true]);
    const p = pod({
      containers: [
        {
          name: "app",
          image: "reg/app:v1",
          startupProbe: { httpGet: { path: "/startup", port: 80 }, periodSeconds: 1, failureThreshold: 5 },
          readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 },
        },
      ],
    });
    new PodWorker(p, deps());
    await clock.advance(0);
    expect(app()).toMatchObject({ started: false, ready: false });
    await clock.advance(2_000);
    expect(app()).toMatchObject({ started: true });
    await clock.advance(1_000);
    expect(app()).toMatchObject({ started: true, ready: true });
  });

  it("adopts containers that already run after an agent restart instead of restarting them", async () => {
    const p = pod();
    const first = new PodWorker(p, deps());
    await clock.advance(0);
    expect(app()?.state.running).toBeDefined();
    const written = { ...p, status: last() };
    // A new worker (the restarted agent) over the same runtime state.
    statuses = [];
    runtime.calls.length = 0;
    const second = new PodWorker(written, deps());
    await clock.advance(1000);
    expect(second.history).toEqual(["adopting", "running"]);
    expect(
      runtime.calls.filter((c) => c.startsWith("start") || c.startsWith("create") || c.startsWith("pull")),
    ).toEqual([]);
    expect(app(written.status)?.state.running).toBeDefined();
    void first;
  });

  it("reports CreateContainerConfigError when env/volumes cannot be prepared, and retries", async () => {
    const d = deps();
    let fail = true;
    const { ConfigError } = await import("./context.ts");
    d.prepare = async () => {
      if (fail) throw new ConfigError('configmap "cfg" not found');
      return { mounts: () => [], env: () => ({}) };
    };
    const worker = new PodWorker(pod(), d);
    await clock.advance(0);
    expect(app()?.state.waiting).toMatchObject({
      reason: "CreateContainerConfigError",
      message: 'configmap "cfg" not found',
    });
    fail = false;
    await clock.advance(10_000);
    expect(worker.state).toBe("running");
  });
});
