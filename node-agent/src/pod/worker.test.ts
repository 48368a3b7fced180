/** The pod state machine on FakeRuntime + FakeClock: start, pull and crash back-off, restart policies, init containers, deletion, adoption. */
import { beforeEach, describe, expect, it } from "vitest";
import { FakeRuntime } from "../testing/fake-runtime.ts";
import { app, cond, deleted, deps, fx, last, pod, resetFixture } from "./worker.fixture.ts";
import { PodWorker } from "./worker.ts";

beforeEach(resetFixture);

describe("pod state machine", () => {
  it("pulls, starts and reports a Running, Ready pod like a kubelet", async () => {
    const p = pod({
      containers: [
        { name: "app", image: "reg/app:v1", resources: { limits: { cpu: "100m", memory: "64Mi" } } },
      ],
    });
    const worker = new PodWorker(p, deps());
    await fx.clock.advance(0);
    expect(worker.history).toEqual(["adopting", "pulling", "starting", "running"]);
    expect(fx.runtime.calls.slice(0, 4)).toEqual([
      "pull reg/app:v1",
      "runSandbox p",
      "create app",
      "start app",
    ]);
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
    expect(s.startTime).toBe(fx.clock.now().toISOString());
  });

  it("backs off image pulls: ErrImagePull, then ImagePullBackOff for 10 s, 20 s, then runs", async () => {
    fx.runtime.failPulls.set("reg/app:v1", 2);
    const worker = new PodWorker(pod(), deps());
    await fx.clock.advance(0);
    expect(fx.statuses.some((s) => app(s)?.state.waiting?.reason === "ErrImagePull")).toBe(true);
    expect(app()?.state.waiting?.reason).toBe("ImagePullBackOff");
    expect(last().phase).toBe("Pending");
    await fx.clock.advance(9_999);
    expect(fx.runtime.calls.filter((c) => c.startsWith("pull")).length).toBe(1);
    await fx.clock.advance(1);
    expect(fx.runtime.calls.filter((c) => c.startsWith("pull")).length).toBe(2);
    await fx.clock.advance(19_999);
    expect(fx.runtime.calls.filter((c) => c.startsWith("pull")).length).toBe(2);
    await fx.clock.advance(1);
    expect(worker.state).toBe("running");
    expect(app()?.state.running).toBeDefined();
  });

  it("restarts a crashing container with back-off 0, 10 s, 20 s, 40 s ... capped at 5 min (CrashLoopBackOff)", async () => {
    const worker = new PodWorker(pod(), deps());
    await fx.clock.advance(0);
    const starts = () => fx.runtime.calls.filter((c) => c === "start app").length;
    // First crash: restarted at once (restartCount 1).
    fx.runtime.exit(fx.runtime.running("app")!.id, 1);
    await fx.clock.advance(1000);
    expect(starts()).toBe(2);
    expect(app()?.restartCount).toBe(1);
    expect(app()?.lastState.terminated).toMatchObject({ exitCode: 1, reason: "Error" });
    const gaps: number[] = [];
    for (let i = 0; i < 7; i++) {
      fx.runtime.exit(fx.runtime.running("app")!.id, 1);
      await fx.clock.advance(1000);
      expect(app()?.state.waiting?.reason).toBe("CrashLoopBackOff");
      expect(worker.state).toBe("backoff");
      const before = starts();
      let waited = 1000;
      while (starts() === before) {
        await fx.clock.advance(1000);
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
    await fx.clock.advance(0);
    fx.runtime.exit(fx.runtime.running("app")!.id, 2);
    await fx.clock.advance(1000);
    expect(never.state).toBe("terminated");
    expect(last().phase).toBe("Failed");
    expect(app()?.state.terminated?.exitCode).toBe(2);
    expect(cond("Ready")).toBe("False");

    fx.statuses = [];
    fx.runtime = new FakeRuntime(fx.clock);
    const p2 = pod(
      { restartPolicy: "OnFailure" },
      { metadata: { name: "q", namespace: "default", uid: "uid-2" } },
    );
    const onFailure = new PodWorker(p2, deps());
    await fx.clock.advance(0);
    fx.runtime.exit(fx.runtime.running("app")!.id, 1);
    await fx.clock.advance(1000);
    expect(app()?.restartCount).toBe(1);
    fx.runtime.exit(fx.runtime.running("app")!.id, 0);
    await fx.clock.advance(1000);
    expect(onFailure.state).toBe("terminated");
    expect(last().phase).toBe("Succeeded");
    expect(app()?.state.terminated).toMatchObject({ exitCode: 0, reason: "Completed" });
    // A finished pod is released only once deleted.
    expect(fx.released).toEqual([]);
    onFailure.update(deleted(p2));
    await onFailure.done;
    expect(fx.released).toEqual(["uid-2"]);
  });

  it("runs init containers one at a time, in order, before the app containers", async () => {
    const p = pod({
      initContainers: [
        { name: "init-a", image: "reg/a:v1" },
        { name: "init-b", image: "reg/b:v1" },
      ],
    });
    new PodWorker(p, deps());
    await fx.clock.advance(0);
    expect(fx.runtime.calls.filter((c) => c.startsWith("start"))).toEqual(["start init-a"]);
    expect(last().phase).toBe("Pending");
    expect(cond("Initialized")).toBe("False");
    expect(app()?.state.waiting?.reason).toBe("PodInitializing");
    fx.runtime.exit(fx.runtime.running("init-a")!.id, 0);
    await fx.clock.advance(1000);
    expect(fx.runtime.calls.filter((c) => c.startsWith("start"))).toEqual(["start init-a", "start init-b"]);
    fx.runtime.exit(fx.runtime.running("init-b")!.id, 0);
    await fx.clock.advance(1000);
    expect(fx.runtime.calls.filter((c) => c.startsWith("start"))).toEqual([
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
    await fx.clock.advance(0);
    fx.runtime.exit(fx.runtime.running("init")!.id, 3);
    await fx.clock.advance(1000);
    expect(worker.state).toBe("terminated");
    expect(last().phase).toBe("Failed");
    expect(fx.runtime.calls).not.toContain("start app");
  });

  it("terminates gracefully on deletion: SIGTERM with the grace period, SIGKILL after it, then releases", async () => {
    fx.runtime.ignoresSigterm = true;
    const p = pod({ terminationGracePeriodSeconds: 5 });
    const worker = new PodWorker(p, deps());
    await fx.clock.advance(0);
    worker.update(deleted(p, 5));
    await fx.clock.advance(0);
    expect(worker.state).toBe("terminating");
    expect(fx.runtime.calls).toContain("stop app 5");
    expect(fx.released).toEqual([]);
    await fx.clock.advance(4_999);
    expect(fx.released).toEqual([]);
    await fx.clock.advance(1);
    await worker.done;
    expect(worker.history.slice(-3)).toEqual(["terminating", "terminated", "done"]);
    expect(app()?.state.terminated?.exitCode).toBe(137);
    expect(fx.runtime.calls).toContain("removeSandbox sb-uid-1");
    expect(fx.released).toEqual(["uid-1"]);
  });

  it("adopts containers that already run after an agent restart instead of restarting them", async () => {
    const p = pod();
    const first = new PodWorker(p, deps());
    await fx.clock.advance(0);
    expect(app()?.state.running).toBeDefined();
    const written = { ...p, status: last() };
    // A new worker (the restarted agent) over the same runtime state.
    fx.statuses = [];
    fx.runtime.calls.length = 0;
    const second = new PodWorker(written, deps());
    await fx.clock.advance(1000);
    expect(second.history).toEqual(["adopting", "running"]);
    expect(
      fx.runtime.calls.filter((c) => c.startsWith("start") || c.startsWith("create") || c.startsWith("pull")),
    ).toEqual([]);
    expect(app(written.status)?.state.running).toBeDefined();
    void first;
  });

  it("starts a container the last agent created but died before starting, instead of adopting it as running", async () => {
    const p = pod();
    const first = new PodWorker(p, deps());
    await fx.clock.advance(0);
    const running = fx.runtime.running("app");
    expect(running).toBeDefined();
    // The state a SIGKILL between CreateContainer and StartContainer leaves behind.
    if (running) Object.assign(running, { state: "created", startedAt: undefined });
    const written = { ...p, status: last() };
    fx.statuses = [];
    fx.runtime.calls.length = 0;
    const second = new PodWorker(written, deps());
    await fx.clock.advance(1000);
    expect(second.history).toEqual(["adopting", "running"]);
    expect(fx.runtime.calls.filter((c) => c.startsWith("start") || c.startsWith("create"))).toEqual([
      "start app",
    ]);
    expect(fx.runtime.running("app")?.id).toBe(running?.id);
    expect(app(last())?.state.running?.startedAt).toBeDefined();
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
    await fx.clock.advance(0);
    expect(app()?.state.waiting).toMatchObject({
      reason: "CreateContainerConfigError",
      message: 'configmap "cfg" not found',
    });
    fail = false;
    await fx.clock.advance(10_000);
    expect(worker.state).toBe("running");
  });
});
