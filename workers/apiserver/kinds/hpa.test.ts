/** autoscaling/v2 HorizontalPodAutoscaler: registry-tester examples, defaults and kube's TARGETS column. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import type { HorizontalPodAutoscaler } from "../../client/types.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { formatTargets } from "./hpa.ts";
import { findResource, RESOURCES } from "./index.ts";

const info = findResource("autoscaling", "horizontalpodautoscalers")!;
const hpa = (name: string, spec: Record<string, unknown>): KubeObject => ({
  kind: "HorizontalPodAutoscaler",
  metadata: { name },
  spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, ...spec },
});
const cpu = (averageUtilization: number) => ({
  type: "Resource",
  resource: { name: "cpu", target: { type: "Utilization", averageUtilization } },
});

runRegistryTester(
  info,
  {
    valid: [
      hpa("defaults", { maxReplicas: 3 }),
      hpa("behavior", {
        minReplicas: 2,
        maxReplicas: 10,
        metrics: [
          cpu(50),
          {
            type: "Resource",
            resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
          },
        ],
        behavior: {
          scaleDown: {
            stabilizationWindowSeconds: 5,
            policies: [{ type: "Pods", value: 1, periodSeconds: 15 }],
          },
          scaleUp: { selectPolicy: "Max" },
        },
      }),
    ],
    invalid: [
      {
        object: {
          kind: "HorizontalPodAutoscaler",
          metadata: { name: "noref" },
          spec: { maxReplicas: 0, minReplicas: 0 },
        },
        fields: [
          "spec.scaleTargetRef.kind",
          "spec.scaleTargetRef.name",
          "spec.minReplicas",
          "spec.maxReplicas",
        ],
      },
      {
        object: hpa("bad", {
          minReplicas: 5,
          maxReplicas: 2,
          metrics: [
            { type: "Magic" },
            { type: "Resource", resource: { name: "cpu", target: { type: "Utilization" } } },
          ],
          behavior: {
            scaleDown: {
              stabilizationWindowSeconds: 4000,
              policies: [{ type: "Pods", value: 0, periodSeconds: 0 }],
            },
          },
        }),
        fields: [
          "spec.maxReplicas",
          "spec.metrics[0].type",
          "spec.metrics[1].resource.target.averageUtilization",
          "spec.behavior.scaleDown.stabilizationWindowSeconds",
          "spec.behavior.scaleDown.policies[0].value",
          "spec.behavior.scaleDown.policies[0].periodSeconds",
        ],
      },
    ],
  },
  RESOURCES,
);

describe("HorizontalPodAutoscaler", () => {
  it("defaults minReplicas to 1 and the metric to CPU at 80 %", () => {
    const object = hpa("d", { maxReplicas: 3 }) as HorizontalPodAutoscaler;
    info.strategy.defaults?.(object as KubeObject);
    expect(object.spec).toMatchObject({ minReplicas: 1, metrics: [cpu(80)] });
  });

  it("prints TARGETS as kube does", () => {
    const object = hpa("t", {
      maxReplicas: 3,
      metrics: [
        cpu(50),
        {
          type: "Resource",
          resource: { name: "memory", target: { type: "AverageValue", averageValue: "100Mi" } },
        },
      ],
    }) as HorizontalPodAutoscaler;
    expect(formatTargets(object)).toBe("cpu: <unknown>/50%, memory: <unknown>/100Mi");
    object.status = {
      desiredReplicas: 2,
      currentMetrics: [
        {
          type: "Resource",
          resource: { name: "cpu", current: { averageUtilization: 45, averageValue: "45m" } },
        },
        { type: "Resource", resource: { name: "memory", current: { averageValue: "80Mi" } } },
      ],
    };
    expect(formatTargets(object)).toBe("cpu: 45%/50%, memory: 80Mi/100Mi");
    expect(info.strategy.row(object as KubeObject, new Date())).toEqual([
      "Deployment/web",
      "cpu: 45%/50%, memory: 80Mi/100Mi",
      1,
      3,
      0,
      expect.any(String),
    ]);
  });
});

/** The fields this test reads of an HPA (either version) or a Status. */
interface Answer {
  apiVersion: string;
  metadata: { annotations?: Record<string, string> };
  spec: Record<string, unknown> & { maxReplicas: number };
  details: { causes: { field: string }[] };
}

describe("autoscaling/v1 HorizontalPodAutoscaler", () => {
  const BASE = "https://edgeplane.test/apis/autoscaling";
  const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };
  const call = async (method: string, path: string, body?: object) => {
    const response = await SELF.fetch(`${BASE}${path}`, {
      method,
      headers: ADMIN,
      body: body && JSON.stringify(body),
    });
    return { status: response.status, body: (await response.json()) as Answer };
  };

  it("is the same object as v2, converted both ways without losing what v1 cannot say", async () => {
    const created = await call("POST", "/v1/namespaces/default/horizontalpodautoscalers", {
      metadata: { name: "v1web" },
      spec: {
        scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" },
        maxReplicas: 4,
        targetCPUUtilizationPercentage: 60,
      },
    });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      apiVersion: "autoscaling/v1",
      spec: { minReplicas: 1, targetCPUUtilizationPercentage: 60 },
    });
    const v2 = await call("GET", "/v2/namespaces/default/horizontalpodautoscalers/v1web");
    expect(v2.body.apiVersion).toBe("autoscaling/v2");
    expect(v2.body.spec.metrics).toEqual([
      {
        type: "Resource",
        resource: { name: "cpu", target: { type: "Utilization", averageUtilization: 60 } },
      },
    ]);
    expect(v2.body.spec.targetCPUUtilizationPercentage).toBeUndefined();
    // A v2-only field survives a v1 read-modify-write.
    v2.body.spec.behavior = { scaleDown: { stabilizationWindowSeconds: 30 } };
    expect((await call("PUT", "/v2/namespaces/default/horizontalpodautoscalers/v1web", v2.body)).status).toBe(
      200,
    );
    const v1 = await call("GET", "/v1/namespaces/default/horizontalpodautoscalers/v1web");
    expect(v1.body.spec).not.toHaveProperty("behavior");
    v1.body.spec.maxReplicas = 6;
    expect((await call("PUT", "/v1/namespaces/default/horizontalpodautoscalers/v1web", v1.body)).status).toBe(
      200,
    );
    const after = await call("GET", "/v2/namespaces/default/horizontalpodautoscalers/v1web");
    expect(after.body.spec).toMatchObject({
      maxReplicas: 6,
      behavior: { scaleDown: { stabilizationWindowSeconds: 30 } },
    });
    expect(after.body.metadata.annotations).toBeUndefined();
    // Without a target (kubectl autoscale without --cpu-percent), v2's default: cpu at 80 %.
    const plain = await call("POST", "/v1/namespaces/default/horizontalpodautoscalers", {
      metadata: { name: "v1plain" },
      spec: { scaleTargetRef: { apiVersion: "apps/v1", kind: "Deployment", name: "web" }, maxReplicas: 2 },
    });
    expect(plain.status).toBe(201);
    expect(plain.body.spec.targetCPUUtilizationPercentage).toBe(80);
    const bad = await call("POST", "/v1/namespaces/default/horizontalpodautoscalers", {
      metadata: { name: "bad" },
      spec: {
        scaleTargetRef: { kind: "Deployment", name: "web" },
        maxReplicas: 2,
        targetCPUUtilizationPercentage: 0,
      },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.details.causes.map((c) => c.field)).toEqual(["spec.targetCPUUtilizationPercentage"]);
  });
});
