/** The pod state machine's probes on FakeRuntime + FakeClock: readiness, liveness restarts, startup gating. */
import { beforeEach, describe, expect, it } from "vitest";
import { app, cond, deps, fx, pod, resetFixture } from "./worker.fixture.ts";
import { PodWorker } from "./worker.ts";

beforeEach(resetFixture);

describe("pod state machine probes", () => {
  it("keeps a container unready until its readiness probe passes, and restarts it when liveness fails 3 times", async () => {
    fx.probeResults.set("/ready", [false, false, true]);
    fx.probeResults.set("/live", [true, false, false, false, true]);
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
    await fx.clock.advance(0);
    expect(app()?.ready).toBe(false);
    expect(cond("Ready")).toBe("False");
    await fx.clock.advance(5_000);
    expect(app()?.ready).toBe(false);
    await fx.clock.advance(5_000);
    expect(app()?.ready).toBe(true);
    expect(cond("Ready")).toBe("True");
    // liveness: t=2 ok, 12 fail, 22 fail, 32 fail → killed with the pod's grace period, restarted at once.
    await fx.clock.advance(21_000);
    expect(fx.runtime.calls.filter((c) => c === "start app").length).toBe(1);
    await fx.clock.advance(2_000);
    expect(fx.runtime.calls).toContain("stop app 30");
    expect(fx.runtime.calls.filter((c) => c === "start app").length).toBe(2);
    expect(app()?.restartCount).toBe(1);
    expect(app()?.lastState.terminated?.exitCode).toBe(143);
  });

  it("holds liveness and readiness until the startup probe succeeds", async () => {
    fx.probeResults.set("/startup", [false, false, true]);
    fx.probeResults.set("8080", [true]);
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
    await fx.clock.advance(0);
    expect(app()).toMatchObject({ started: false, ready: false });
    await fx.clock.advance(2_000);
    expect(app()).toMatchObject({ started: true });
    await fx.clock.advance(1_000);
    expect(app()).toMatchObject({ started: true, ready: true });
  });
});
