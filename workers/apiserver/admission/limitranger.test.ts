/** LimitRange kind and the LimitRanger admission plugin, through the API server in workerd. */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { findResource, RESOURCES } from "../kinds/index.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { testServer } from "../testing/fixture.ts";

const LIMITS = "/api/v1/namespaces/default/limitranges";
const PODS = "/api/v1/namespaces/default/pods";
const lr = (name: string, limits: unknown[]): KubeObject => ({
  apiVersion: "v1",
  kind: "LimitRange",
  metadata: { name },
  spec: { limits },
});

runRegistryTester(
  findResource("", "limitranges")!,
  {
    valid: [
      lr("container", [
        { type: "Container", default: { cpu: "500m" }, max: { cpu: "1" }, min: { cpu: "100m" } },
      ]),
      lr("pod", [{ type: "Pod", max: { memory: "1Gi" } }]),
    ],
    invalid: [
      {
        object: lr("bad", [
          { type: "Container", min: { cpu: "2" }, max: { cpu: "1" }, maxLimitRequestRatio: { cpu: "500m" } },
          { type: "Container" },
          { type: "Pod", default: { cpu: "1" } },
          { type: "Node" },
        ]),
        // The defaults (default and defaultRequest from max) are validated too, as in kube.
        fields: [
          "spec.limits[0].min[cpu]",
          "spec.limits[0].defaultRequest[cpu]",
          "spec.limits[0].default[cpu]",
          "spec.limits[0].maxLimitRequestRatio[cpu]",
          "spec.limits[1].type",
          "spec.limits[2].default",
          "spec.limits[3].type",
        ],
      },
    ],
  },
  RESOURCES,
);

const podBody = (name: string, resources?: unknown) => ({
  metadata: { name },
  spec: { containers: [{ name: "web", image: "nginx", ...(resources ? { resources } : {}) }] },
});

describe("LimitRange", () => {
  it("defaults the default request from the default limit (SetDefaults_LimitRangeItem) and prints NAME, CREATED AT", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const created = await call("POST", LIMITS, lr("l", [{ type: "Container", max: { memory: "1Gi" } }]));
    expect(created.status, created.text).toBe(201);
    expect(created.body.spec).toEqual({
      limits: [
        {
          type: "Container",
          max: { memory: "1Gi" },
          default: { memory: "1Gi" },
          defaultRequest: { memory: "1Gi" },
        },
      ],
    });
    const table = await call("GET", LIMITS, undefined, {
      Accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    expect((table.body.columnDefinitions as { name: string }[]).map((c) => c.name)).toEqual([
      "Name",
      "Created At",
    ]);
    expect((table.body.rows as { cells: unknown[] }[])[0].cells).toEqual(["l", "2026-01-01T00:00:00Z"]);
  });
});

describe("LimitRanger admission", () => {
  it("fills missing requests and limits from the namespace's defaults and says so in the annotation", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call(
      "POST",
      LIMITS,
      lr("defaults", [
        { type: "Container", default: { cpu: "500m", memory: "256Mi" }, defaultRequest: { cpu: "100m" } },
      ]),
    );
    const created = await call("POST", PODS, podBody("p", { limits: { memory: "128Mi" } }));
    expect(created.status, created.text).toBe(201);
    const spec = created.body.spec as { containers: { resources: unknown }[] };
    expect(spec.containers[0].resources).toEqual({
      limits: { memory: "128Mi", cpu: "500m" },
      requests: { cpu: "100m" },
    });
    expect(created.body.metadata?.annotations?.["kubernetes.io/limit-ranger"]).toBe(
      "LimitRanger plugin set: cpu request for container web; cpu limit for container web",
    );
  });

  it("refuses a container over max or under min, and a pod over its Pod max, with kube's messages", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call("POST", LIMITS, lr("c", [{ type: "Container", max: { cpu: "1" }, min: { memory: "64Mi" } }]));
    const over = await call("POST", PODS, podBody("big", { limits: { cpu: "2", memory: "128Mi" } }));
    expect(over.status).toBe(403);
    expect(over.body.reason).toBe("Forbidden");
    expect(over.body.message).toBe(
      'pods "big" is forbidden: maximum cpu usage per Container is 1, but limit is 2',
    );

    const both = await call("POST", PODS, podBody("small", { limits: { cpu: "2", memory: "32Mi" } }));
    expect(both.status).toBe(403);
    expect(both.body.message).toBe(
      'pods "small" is forbidden: [minimum memory usage per Container is 64Mi, but request is 32Mi, maximum cpu usage per Container is 1, but limit is 2]',
    );
    const fits = await call("POST", PODS, podBody("fits", { limits: { cpu: "1", memory: "64Mi" } }));
    expect(fits.status, fits.text).toBe(201);
  });

  it("enforces maxLimitRequestRatio and Pod-wide maxima", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call(
      "POST",
      LIMITS,
      lr("r", [
        { type: "Container", maxLimitRequestRatio: { cpu: "2" } },
        { type: "Pod", max: { memory: "100Mi" } },
      ]),
    );
    const ratio = await call(
      "POST",
      PODS,
      podBody("ratio", { requests: { cpu: "100m" }, limits: { cpu: "1", memory: "200Mi" } }),
    );
    expect(ratio.status).toBe(403);
    expect(ratio.body.message).toBe(
      'pods "ratio" is forbidden: [cpu max limit to request ratio per Container is 2, but provided ratio is 10.000000, maximum memory usage per Pod is 100Mi, but limit is 200Mi]',
    );
  });

  it("holds a claim's storage request between the PersistentVolumeClaim item's min and max, on create and update", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call(
      "POST",
      LIMITS,
      lr("storage", [{ type: "PersistentVolumeClaim", min: { storage: "1Gi" }, max: { storage: "5Gi" } }]),
    );
    const PVCS = "/api/v1/namespaces/default/persistentvolumeclaims";
    const claim = (name: string, storage: string) => ({
      metadata: { name },
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
    });
    const small = await call("POST", PVCS, claim("small", "500Mi"));
    expect(small.status).toBe(403);
    expect(small.body.message).toBe(
      'persistentvolumeclaims "small" is forbidden: minimum storage usage per PersistentVolumeClaim is 1Gi, but request is 500Mi',
    );
    const ok = await call("POST", PVCS, claim("ok", "2Gi"));
    expect(ok.status, ok.text).toBe(201);
    const grown = await call("PUT", `${PVCS}/ok`, {
      ...ok.body,
      spec: { ...(ok.body.spec as object), resources: { requests: { storage: "10Gi" } } },
    });
    expect(grown.status).toBe(403);
    expect(grown.body.message).toBe(
      'persistentvolumeclaims "ok" is forbidden: maximum storage usage per PersistentVolumeClaim is 5Gi, but request is 10Gi',
    );
  });

  it("leaves pods alone in a namespace without LimitRanges", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const created = await call("POST", PODS, podBody("plain"));
    expect(created.status).toBe(201);
    expect(created.body.metadata?.annotations?.["kubernetes.io/limit-ranger"]).toBeUndefined();
  });

  it("leaves a pods/binding alone: the Binding it is shown is no pod to limit", async () => {
    const { call } = testServer({ resources: RESOURCES });
    expect((await call("POST", PODS, podBody("early"))).status).toBe(201);
    // A limit the existing pod does not meet: a Binding taken for a pod would be refused by it.
    expect((await call("POST", LIMITS, lr("floor", [{ type: "Pod", min: { cpu: "100m" } }]))).status).toBe(
      201,
    );
    const bound = await call("POST", `${PODS}/early/binding`, { target: { kind: "Node", name: "n1" } });
    expect(bound.status, bound.text).toBe(201);
  });
});
