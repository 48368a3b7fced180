/**
 * The HPA controller against the real in-process API server in workerd: a
 * Deployment's pods with CPU requests, PodMetrics from a node's sample in the
 * MetricsObject, the scale subresource written, status and Events as kube's.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { inProcessClient } from "../../apiserver/index.ts";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import type { HorizontalPodAutoscaler } from "../../client/types.ts";
import { metricsStub } from "../../metrics/service.ts";
import { Expectations } from "../../reconcile/expectations.ts";
import { Snapshot } from "../../reconcile/snapshot.ts";
import { type Deps, defaultConfig } from "../../reconcile/types.ts";
import { createHpaController, HPA } from "./index.ts";

const client = inProcessClient(env, undefined);
const NS = "hpa-test";

function deps(now: Date, events: string[]): Deps {
  return {
    client,
    cache: new Snapshot(client),
    now: () => now,
    recorder: {
      event: async (_o, type, reason, message) => {
        events.push(`${type} ${reason} ${message}`);
      },
    },
    config: defaultConfig,
    expectations: new Expectations(() => now.getTime()),
  };
}

async function pushCpu(node: string, pods: KubeObject[], millicores: number) {
  await metricsStub(env).put({
    nodeName: node,
    receivedAt: Date.now(),
    timestamp: new Date().toISOString(),
    windowSeconds: 15,
    node: { cpuNanoCores: 1, memoryBytes: 1 },
    pods: pods.map((p) => ({
      namespace: NS,
      name: p.metadata?.name ?? "",
      uid: p.metadata?.uid ?? "",
      containers: [{ name: "app", cpuNanoCores: millicores * 1e6, memoryBytes: 1 << 20 }],
    })),
  });
}

describe("HPA controller", () => {
  it("scales a Deployment up on CPU, limited by maxReplicas, then down only after the stabilization window", async () => {
    await client.create(R.namespaces, undefined, { metadata: { name: NS } });
    await client.create(R.deployments, NS, {
      metadata: { name: "web" },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: { containers: [{ name: "app", image: "busybox", resources: { requests: { cpu: "100m" } } }] },
        },
      },
    });
    const started = new Date(Date.now() - 600_000).toISOString();
    const pods: KubeObject[] = [];
    for (const name of ["web-a", "web-b"]) {
      const pod = await client.create(R.pods, NS, {
        metadata: { name, labels: { app: "web" } },
        spec: {
          nodeName: "hpa-n1",
          containers: [{ name: "app", image: "busybox", resources: { requests: { cpu: "100m" } } }],
        },
      });
      pods.push(
        await client.update(
          R.pods,
          NS,
          {
            ...pod,
            status: {
              phase: "Running",
              startTime: started,
              conditions: [{ type: "Ready", status: "True", lastTransitionTime: started }],
            },
          },
          { subresource: "status" },
        ),
      );
    }
    await client.create(HPA, NS, {
      metadata: { name: "web" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        minReplicas: 1,
        maxReplicas: 5,
        metrics: [
          {
            type: "Resource",
            resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 50 } },
          },
        ],
      },
    });
    const controller = createHpaController();
    const events: string[] = [];

    // 200 % of the request against a 50 % target: 8 replicas wanted, 5 allowed.
    await pushCpu("hpa-n1", pods, 200);
    const t0 = new Date();
    await controller.reconcile(`${NS}/web`, deps(t0, events));
    const deployment = await client.get(R.deployments, NS, "web");
    expect((deployment.spec as { replicas: number }).replicas).toBe(5);
    let hpa = (await client.get(HPA, NS, "web")) as HorizontalPodAutoscaler;
    expect(hpa.status).toMatchObject({
      currentReplicas: 2,
      desiredReplicas: 5,
      currentMetrics: [{ type: "Resource", resource: { name: "cpu", current: { averageUtilization: 200 } } }],
    });
    const reasons = Object.fromEntries(
      (hpa.status?.conditions ?? []).map((c) => [c.type, `${c.status} ${c.reason}`]),
    );
    expect(reasons).toEqual({
      AbleToScale: "True SucceededRescale",
      ScalingActive: "True ValidMetricFound",
      ScalingLimited: "True TooManyReplicas",
    });
    expect(events).toEqual([
      "Normal SuccessfulRescale New size: 5; reason: cpu resource utilization (percentage of request) above target",
    ]);

    // Load gone: 10 % wants 1 replica, but the 300 s window remembers 8.
    await pushCpu("hpa-n1", pods, 10);
    await controller.reconcile(`${NS}/web`, deps(new Date(t0.getTime() + 15_000), events));
    expect(((await client.get(R.deployments, NS, "web")).spec as { replicas: number }).replicas).toBe(5);
    hpa = (await client.get(HPA, NS, "web")) as HorizontalPodAutoscaler;
    expect(hpa.status?.conditions?.find((c) => c.type === "AbleToScale")?.reason).toBe("ScaleDownStabilized");

    // After the window, down to what the pods need (min 1).
    await controller.reconcile(`${NS}/web`, deps(new Date(t0.getTime() + 316_000), events));
    expect(((await client.get(R.deployments, NS, "web")).spec as { replicas: number }).replicas).toBe(1);
    expect(events.at(-1)).toBe("Normal SuccessfulRescale New size: 1; reason: All metrics below target");
  });

  it("reports a missing target as AbleToScale=False with a FailedGetScale event", async () => {
    await client.create(HPA, "default", {
      metadata: { name: "ghost" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "nope" }, maxReplicas: 3 },
    });
    const events: string[] = [];
    await createHpaController().reconcile("default/ghost", deps(new Date(), events));
    const hpa = (await client.get(HPA, "default", "ghost")) as HorizontalPodAutoscaler;
    expect(hpa.status?.conditions?.find((c) => c.type === "AbleToScale")).toMatchObject({
      status: "False",
      reason: "FailedGetScale",
    });
    expect(events[0]).toMatch(/^Warning FailedGetScale /);
  });
});
