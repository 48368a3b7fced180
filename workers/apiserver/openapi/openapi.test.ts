import { describe, expect, it } from "vitest";
import { RESOURCES } from "../kinds/index.ts";
import { openapiV3Document, openapiV3Paths, unknownFields } from "./index.ts";

type Doc = {
  paths: Record<
    string,
    Record<
      string,
      { parameters?: { name: string; in: string }[]; "x-kubernetes-group-version-kind"?: unknown }
    >
  >;
  components: { schemas: Record<string, Record<string, unknown>> };
};

describe("openapi v3", () => {
  it("indexes every served group/version with a hashed URL", () => {
    const index = openapiV3Paths(RESOURCES);
    const keys = Object.keys(index.paths);
    for (const gv of [
      "api/v1",
      "apis/apps/v1",
      "apis/batch/v1",
      "apis/coordination.k8s.io/v1",
      "apis/discovery.k8s.io/v1",
      "apis/events.k8s.io/v1",
      "apis/node.k8s.io/v1",
      "apis/rbac.authorization.k8s.io/v1",
    ])
      expect(keys).toContain(gv);
    expect(index.paths["apis/apps/v1"].serverRelativeURL).toMatch(
      /^\/openapi\/v3\/apis\/apps\/v1\?hash=[0-9A-F]{16}$/,
    );
  });

  it("serves documents that survive JSON and carry GVKs, fieldValidation and resolvable refs", () => {
    for (const gv of Object.keys(openapiV3Paths(RESOURCES).paths)) {
      const [group, version] = gv.startsWith("api/") ? ["", gv.slice(4)] : gv.slice(5).split("/");
      const doc = JSON.parse(JSON.stringify(openapiV3Document(group, version, RESOURCES))) as Doc;
      const served = RESOURCES.filter((r) => r.group === group && r.version === version);
      for (const r of served) {
        const schema = Object.values(doc.components.schemas).find((s) =>
          (s["x-kubernetes-group-version-kind"] as { kind: string; group: string }[] | undefined)?.some(
            (g) => g.kind === r.kind && g.group === r.group,
          ),
        );
        expect(schema, `${r.kind} schema`).toBeDefined();
        // kubectl's server-side field validation detection: a PATCH with the kind's GVK and a fieldValidation query param.
        const patch = Object.values(doc.paths).find(
          (p) =>
            (p.patch?.["x-kubernetes-group-version-kind"] as { kind: string } | undefined)?.kind === r.kind,
        )?.patch;
        expect(
          patch?.parameters?.some((p) => p.name === "fieldValidation" && p.in === "query"),
          `${r.kind} patch`,
        ).toBe(true);
      }
      const text = JSON.stringify(doc);
      for (const m of text.matchAll(/"\$ref":"#\/components\/schemas\/([^"]+)"/g))
        expect(doc.components.schemas[m[1]], `ref ${m[1]} in ${gv}`).toBeDefined();
    }
  });

  it("describes deployment.spec for kubectl explain", () => {
    const doc = openapiV3Document("apps", "v1", RESOURCES) as unknown as Doc;
    const deployment = doc.components.schemas["io.k8s.api.apps.v1.Deployment"];
    const spec = (deployment.properties as Record<string, Record<string, unknown>>).spec;
    expect(spec.allOf).toEqual([{ $ref: "#/components/schemas/io.k8s.api.apps.v1.DeploymentSpec" }]);
    const deploymentSpec = doc.components.schemas["io.k8s.api.apps.v1.DeploymentSpec"];
    expect(deploymentSpec.required).toEqual(["selector", "template"]);
    expect(
      String((deploymentSpec.properties as Record<string, { description: string }>).replicas.description),
    ).toMatch(/Number of desired pods/);
    const container = doc.components.schemas["io.k8s.api.core.v1.Container"].properties as Record<
      string,
      Record<string, unknown>
    >;
    expect(container.env["x-kubernetes-patch-merge-key"]).toBe("name");
    expect(container.ports["x-kubernetes-patch-merge-key"]).toBe("containerPort");
  });
  it("changes a document's hash only when what it serves changes", () => {
    const before = openapiV3Paths(RESOURCES).paths;
    const fewer = RESOURCES.filter((r) => !(r.group === "apps" && r.resource === "daemonsets"));
    const after = openapiV3Paths(fewer).paths;
    expect(after["apis/apps/v1"].serverRelativeURL).not.toBe(before["apis/apps/v1"].serverRelativeURL);
    expect(after["api/v1"]).toEqual(before["api/v1"]);
    expect(JSON.stringify(openapiV3Document("apps", "v1", fewer))).not.toContain('"kind":"DaemonSet"');
  });

  it("has no document for a group/version nobody serves", () => {
    expect(openapiV3Document("example.com", "v1", RESOURCES)).toBeUndefined();
  });
});

describe("unknownFields", () => {
  it("finds nested unknown fields in objects, arrays and maps", () => {
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "web", labels: { app: "web" }, bogus: 1 },
      spec: {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: {
          metadata: { labels: { app: "web" } },
          spec: {
            containers: [
              { name: "a", image: "nginx", imagePullPolicy: "Always" },
              { name: "b", image: "nginx", imagePullPolicyy: "Always", resources: { limits: { cpu: "1" } } },
            ],
          },
        },
        strategy: { rollingUpdate: { maxSurge: "25%", maxUnavailable: 1, extra: true } },
      },
      extraTop: 1,
    };
    expect(unknownFields("V1Deployment", deployment).sort()).toEqual(
      [
        "extraTop",
        "metadata.bogus",
        "spec.strategy.rollingUpdate.extra",
        "spec.template.spec.containers[1].imagePullPolicyy",
      ].sort(),
    );
  });

  it("treats IntOrString, quantities, times and raw objects as leaves", () => {
    const svc = {
      spec: { ports: [{ port: 80, targetPort: "http" }] },
      metadata: { creationTimestamp: "2024-01-01T00:00:00Z" },
    };
    expect(unknownFields("V1Service", svc)).toEqual([]);
    const event = {
      metadata: { name: "e" },
      involvedObject: { kind: "Pod" },
      eventTime: "2024-01-01T00:00:00.000000Z",
      series: { count: 2 },
    };
    expect(unknownFields("CoreV1Event", event)).toEqual([]);
    expect(
      unknownFields("V1Secret", { data: { a: "eA==" }, stringData: { b: "x" }, type: "Opaque" }),
    ).toEqual([]);
  });

  it("answers nothing for a model it does not know", () => {
    expect(unknownFields("V9Nope", { anything: true })).toEqual([]);
  });
});
