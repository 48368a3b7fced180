/** The events the pod state machine records, as kubelet's: reasons, types, messages and container fieldPaths. */
import { beforeEach, describe, expect, it } from "vitest";
import type { EventSink } from "../events/recorder.ts";
import { ConfigError, type PodDeps } from "./context.ts";
import { deleted, deps, fx, pod, resetFixture } from "./worker.fixture.ts";
import { PodWorker } from "./worker.ts";

interface Recorded {
  on: string;
  fieldPath?: string;
  type: string;
  reason: string;
  message: string;
}
let recorded: Recorded[] = [];

function withEvents(): PodDeps {
  const events: EventSink = {
    pod: (p, fieldPath, type, reason, message) =>
      recorded.push({ on: `Pod/${p.metadata.name}`, fieldPath, type, reason, message }),
    node: (type, reason, message) => recorded.push({ on: "Node", type, reason, message }),
  };
  return { ...deps(), events };
}
const reasons = () => recorded.map((e) => e.reason);

beforeEach(() => {
  resetFixture();
  recorded = [];
});

describe("pod state machine events", () => {
  it("records Pulling, Pulled, Created, Started on the container, then Killing on delete", async () => {
    const p = pod();
    const worker = new PodWorker(p, withEvents());
    await fx.clock.advance(0);
    expect(recorded).toEqual([
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Normal",
        reason: "Pulling",
        message: 'Pulling image "reg/app:v1"',
      },
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Normal",
        reason: "Pulled",
        message: 'Successfully pulled image "reg/app:v1" in 0ms (0ms including waiting)',
      },
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Normal",
        reason: "Created",
        message: "Created container: app",
      },
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Normal",
        reason: "Started",
        message: "Started container app",
      },
    ]);
    worker.update(deleted(p, 5));
    await fx.clock.advance(0);
    expect(recorded.at(-1)).toMatchObject({
      type: "Normal",
      reason: "Killing",
      message: "Stopping container app",
    });
  });

  it("records only Pulled, already present, when the runtime had the image", async () => {
    const runtime = fx.runtime;
    const present = new Proxy(runtime, {
      get: (target, prop, receiver) =>
        prop === "pullImage"
          ? async (...args: Parameters<typeof runtime.pullImage>) => ({
              ...(await target.pullImage(...args)),
              present: true,
            })
          : Reflect.get(target, prop, receiver),
    });
    new PodWorker(pod(), { ...withEvents(), runtimeFor: async () => present });
    await fx.clock.advance(0);
    expect(recorded.slice(0, 2)).toEqual([
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Normal",
        reason: "Pulled",
        message: 'Container image "reg/app:v1" already present on machine',
      },
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Normal",
        reason: "Created",
        message: "Created container: app",
      },
    ]);
  });

  it("records BackOff as a Warning for each crash that waits in back-off", async () => {
    new PodWorker(pod(), withEvents());
    await fx.clock.advance(0);
    fx.runtime.exit(fx.runtime.running("app")?.id ?? "", 1);
    await fx.clock.advance(1000);
    expect(reasons()).not.toContain("BackOff");
    fx.runtime.exit(fx.runtime.running("app")?.id ?? "", 1);
    await fx.clock.advance(1000);
    expect(recorded.filter((e) => e.reason === "BackOff")).toEqual([
      {
        on: "Pod/p",
        fieldPath: "spec.containers{app}",
        type: "Warning",
        reason: "BackOff",
        message: "Back-off restarting failed container app in pod p_default(uid-1)",
      },
    ]);
  });

  it("records an OOM kill as OOMKilling on the Node", async () => {
    new PodWorker(pod(), withEvents());
    await fx.clock.advance(0);
    fx.runtime.exit(fx.runtime.running("app")?.id ?? "", 137, "OOMKilled");
    await fx.clock.advance(1000);
    expect(recorded.filter((e) => e.on === "Node")).toEqual([
      {
        on: "Node",
        type: "Warning",
        reason: "OOMKilling",
        message: "Memory cgroup out of memory: Killed container app of pod default/p",
      },
    ]);
  });

  it("records failed pulls, ImagePullBackOff, Unhealthy and the liveness Killing", async () => {
    fx.runtime.failPulls.set("reg/app:v1", 1);
    fx.probeResults.set("/live", [false]);
    const p = pod({
      containers: [
        { name: "app", image: "reg/app:v1", livenessProbe: { httpGet: { path: "/live", port: 80 } } },
      ],
    });
    new PodWorker(p, withEvents());
    await fx.clock.advance(0);
    expect(recorded.filter((e) => e.type === "Warning").map((e) => e.message)).toEqual([
      expect.stringMatching(/^Failed to pull image "reg\/app:v1": /),
      "Error: ErrImagePull",
      "Error: ImagePullBackOff",
    ]);
    expect(recorded).toContainEqual(
      expect.objectContaining({
        type: "Normal",
        reason: "BackOff",
        message: 'Back-off pulling image "reg/app:v1"',
      }),
    );
    await fx.clock.advance(10_000);
    await fx.clock.advance(20_000);
    expect(recorded.filter((e) => e.reason === "Unhealthy").map((e) => e.message)).toContain(
      "Liveness probe failed",
    );
    expect(recorded).toContainEqual(
      expect.objectContaining({
        reason: "Killing",
        message: "Container app failed liveness probe, will be restarted",
      }),
    );
  });

  it("reports the pod start duration once, from first sight to running, pull back-off included", async () => {
    fx.runtime.failPulls.set("reg/app:v1", 1);
    const starts: number[] = [];
    new PodWorker(pod(), { ...deps(), podStarted: (s) => starts.push(s) });
    await fx.clock.advance(0);
    expect(starts).toEqual([]);
    await fx.clock.advance(10_000);
    expect(starts).toEqual([10]);
    fx.runtime.exit(fx.runtime.running("app")?.id ?? "", 1);
    await fx.clock.advance(1000);
    expect(starts).toEqual([10]);
  });

  it("records a missing volume source as FailedMount on the pod and a missing env source as Failed on the container", async () => {
    const missing = (): PodDeps => ({
      ...withEvents(),
      prepare: async () => {
        throw new ConfigError('configmap "cfg" not found');
      },
    });
    new PodWorker(pod({ volumes: [{ name: "conf", configMap: { name: "cfg" } }] }), missing());
    await fx.clock.advance(0);
    expect(recorded.at(-1)).toEqual({
      on: "Pod/p",
      fieldPath: undefined,
      type: "Warning",
      reason: "FailedMount",
      message: 'MountVolume.SetUp failed for volume "conf" : configmap "cfg" not found',
    });
    recorded = [];
    resetFixture();
    new PodWorker(pod(), missing());
    await fx.clock.advance(0);
    expect(recorded.at(-1)).toMatchObject({
      fieldPath: "spec.containers{app}",
      reason: "Failed",
      message: 'Error: configmap "cfg" not found',
    });
  });
});
