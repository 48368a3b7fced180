/**
 * CustomResourceDefinitions through the API server with the real resource
 * table: CRD validation and names, conditions, custom resources served from
 * the stored CRDs (discovery, OpenAPI, CRUD, status, scale, tables, patch
 * types, strict field validation), and the cache following CRD changes.
 */
import { describe, expect, it } from "vitest";
import { RESOURCES } from "../kinds/index.ts";
import { schemaServices } from "../openapi/index.ts";
import { testServer } from "../testing/fixture.ts";
import { createCustomResourceCache, customResourceTable } from "./cache.ts";

/** The documentation's CronTab CRD, with printer columns, status and scale. */
function cronTabCRD(overrides: Record<string, unknown> = {}) {
  return {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "crontabs.stable.example.com" },
    spec: {
      group: "stable.example.com",
      scope: "Namespaced",
      names: {
        plural: "crontabs",
        singular: "crontab",
        kind: "CronTab",
        shortNames: ["ct"],
        categories: ["all"],
      },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: {
            openAPIV3Schema: {
              type: "object",
              properties: {
                // As controller-gen writes it: allowed.
                metadata: { type: "object" },
                spec: {
                  type: "object",
                  properties: {
                    cronSpec: { type: "string", pattern: "^(\\d+|\\*)(/\\d+)?(\\s+(\\d+|\\*)(/\\d+)?){4}$" },
                    image: { type: "string" },
                    replicas: { type: "integer", minimum: 1, maximum: 10, default: 1 },
                    // As controller-gen writes an IntOrString field.
                    maxSkew: {
                      anyOf: [{ type: "integer" }, { type: "string" }],
                      "x-kubernetes-int-or-string": true,
                    },
                  },
                },
                status: {
                  type: "object",
                  properties: { replicas: { type: "integer" }, labelSelector: { type: "string" } },
                },
              },
            },
          },
          subresources: {
            status: {},
            scale: {
              specReplicasPath: ".spec.replicas",
              statusReplicasPath: ".status.replicas",
              labelSelectorPath: ".status.labelSelector",
            },
          },
          additionalPrinterColumns: [
            { name: "Spec", type: "string", jsonPath: ".spec.cronSpec" },
            { name: "Replicas", type: "integer", jsonPath: ".spec.replicas" },
            { name: "Image", type: "string", jsonPath: ".spec.image", priority: 1 },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
        },
      ],
    },
    ...overrides,
  };
}

const CT = "/apis/stable.example.com/v1/namespaces/default/crontabs";

function server() {
  const cache = createCustomResourceCache();
  return testServer({
    resources: RESOURCES,
    schema: schemaServices,
    customResources: (store, builtins) => customResourceTable(cache, store, builtins),
  });
}

async function withCronTab() {
  const s = server();
  const created = await s.call(
    "POST",
    "/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
    cronTabCRD(),
  );
  expect(created.status, created.text).toBe(201);
  return s;
}

const tab = (name: string, spec: Record<string, unknown> = {}) => ({
  apiVersion: "stable.example.com/v1",
  kind: "CronTab",
  metadata: { name },
  spec: { cronSpec: "* * * * */5", image: "my-awesome-cron-image", ...spec },
});

describe("CustomResourceDefinition", () => {
  it("is stored established, with names accepted, the cleanup finalizer and the stored version", async () => {
    const { call } = await withCronTab();
    const crd = await call(
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com",
    );
    const status = crd.body.status as {
      conditions: { type: string; status: string }[];
      storedVersions: string[];
    };
    expect(status.conditions.map((c) => [c.type, c.status])).toEqual([
      ["NamesAccepted", "True"],
      ["Established", "True"],
    ]);
    expect(status.storedVersions).toEqual(["v1"]);
    expect(crd.body.metadata?.finalizers).toEqual(["customresourcecleanup.apiextensions.k8s.io"]);
    expect((crd.body.spec as { names: { listKind: string } }).names.listKind).toBe("CronTabList");
  });

  it("refuses invalid definitions with every field error in one 422", async () => {
    const { call } = server();
    const bad = cronTabCRD({ metadata: { name: "wrong" } });
    const spec = bad.spec as Record<string, unknown>;
    spec.scope = "Galaxy";
    spec.group = "nodot";
    spec.versions = [
      {
        name: "v1",
        served: true,
        storage: false,
        schema: {
          openAPIV3Schema: {
            type: "object",
            properties: {
              spec: {},
              size: { type: "integer", anyOf: [{ type: "integer", minimum: 1 }] },
              slow: { type: "string", pattern: "^(a+)+$" },
              metadata: { type: "object", properties: { labels: { type: "object" } } },
            },
          },
        },
      },
    ];
    const response = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", bad);
    expect(response.status).toBe(422);
    const causes = (response.body.details as { causes: { field: string; message: string }[] }).causes;
    expect(causes.map((c) => c.field)).toEqual(
      expect.arrayContaining([
        "metadata.name",
        "spec.group",
        "spec.scope",
        "spec.versions",
        "spec.versions[0].schema.openAPIV3Schema.properties[spec].type",
        "spec.versions[0].schema.openAPIV3Schema.properties[size].anyOf[0].type",
        "spec.versions[0].schema.openAPIV3Schema.properties[slow].pattern",
        "spec.versions[0].schema.openAPIV3Schema.properties[metadata]",
      ]),
    );
    expect(causes.find((c) => c.field === "spec.versions")?.message).toContain(
      "must have exactly one version marked as storage version",
    );
  });

  it("accepts a conversion webhook with a warning (it is not called), and refuses unknown strategies", async () => {
    const { call } = server();
    const crd = cronTabCRD();
    (crd.spec as Record<string, unknown>).conversion = {
      strategy: "Webhook",
      webhook: { conversionReviewVersions: ["v1"], clientConfig: { service: { name: "w", namespace: "d" } } },
    };
    const created = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    expect(created.status, created.text).toBe(201);
    expect(created.headers.get("Warning")).toContain("conversion webhooks are not called");
    const other = cronTabCRD({ metadata: { name: "things.other.example.com" } });
    Object.assign(other.spec, { group: "other.example.com", names: { plural: "things", kind: "Thing" } });
    (other.spec as Record<string, unknown>).conversion = { strategy: "Magic" };
    const refused = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", other);
    expect(refused.status).toBe(422);
    expect(refused.text).toContain('spec.conversion.strategy: Unsupported value: \\"Magic\\"');
  });

  it("needs the approval annotation in Kubernetes' own groups", async () => {
    const { call } = server();
    const crd = cronTabCRD({ metadata: { name: "crontabs.stable.k8s.io" } });
    crd.spec.group = "stable.k8s.io";
    const refused = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd);
    expect(refused.status).toBe(422);
    expect(refused.text).toContain("metadata.annotations[api-approved.kubernetes.io]");
    crd.metadata = {
      name: "crontabs.stable.k8s.io",
      annotations: { "api-approved.kubernetes.io": "https://x" },
    } as never;
    expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(
      201,
    );
  });

  it("refuses names that collide with a built-in resource or another CRD (422)", async () => {
    const { call } = await withCronTab();
    const again = cronTabCRD();
    const names = (again.spec as { names: Record<string, unknown> }).names;
    Object.assign(again.metadata, { name: "crontabs2.stable.example.com" });
    names.plural = "crontabs2";
    const clash = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", again);
    expect(clash.status).toBe(422);
    expect(clash.text).toContain('\\"CronTab\\" is already in use');
    const shortClash = cronTabCRD({ metadata: { name: "things.other.example.com" } });
    Object.assign(shortClash.spec, {
      group: "other.example.com",
      names: { plural: "things", kind: "Thing", shortNames: ["po"] },
    });
    const builtin = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", shortClash);
    expect(builtin.status).toBe(422);
    expect(builtin.text).toContain('\\"po\\" is already in use');
  });
});

describe("malformed CustomResourceDefinitions", () => {
  const schemaWith = (openAPIV3Schema: unknown) => {
    const crd = cronTabCRD();
    (crd.spec.versions[0].schema as { openAPIV3Schema: unknown }).openAPIV3Schema = openAPIV3Schema;
    return crd;
  };
  const specWith = (spec: Record<string, unknown>) => cronTabCRD({ spec: { ...cronTabCRD().spec, ...spec } });
  const bodies: [string, unknown][] = [
    ["no spec", { metadata: { name: "crontabs.stable.example.com" } }],
    ["spec a string", { metadata: { name: "crontabs.stable.example.com" }, spec: "x" }],
    [
      "finalizers a string",
      cronTabCRD({ metadata: { name: "crontabs.stable.example.com", finalizers: "abc" } }),
    ],
    ["names a string", specWith({ names: "crontabs" })],
    ["shortNames a string", specWith({ names: { plural: "crontabs", kind: "CronTab", shortNames: "ct" } })],
    ["versions a string", specWith({ versions: "v1" })],
    ["a version null", specWith({ versions: [null] })],
    ["conversion a string", specWith({ conversion: "None" })],
    ["schema a string", schemaWith("object")],
    ["enum a string", schemaWith({ type: "object", properties: { a: { type: "string", enum: "x" } } })],
    ["required a string", schemaWith({ type: "object", required: "spec", properties: {} })],
    [
      "minimum a string",
      schemaWith({ type: "object", properties: { a: { type: "integer", minimum: "1" } } }),
    ],
    ["properties a list", schemaWith({ type: "object", properties: [{ type: "string" }] })],
    ["a property null", schemaWith({ type: "object", properties: { a: null } })],
    ["items a string", schemaWith({ type: "object", properties: { a: { type: "array", items: "string" } } })],
    ["anyOf an object", schemaWith({ type: "object", properties: { a: { type: "string", anyOf: {} } } })],
    [
      "printer columns a map",
      {
        ...cronTabCRD(),
        spec: {
          ...cronTabCRD().spec,
          versions: [{ ...cronTabCRD().spec.versions[0], additionalPrinterColumns: { a: 1 } }],
        },
      },
    ],
  ];
  for (const [name, body] of bodies)
    it(`${name}: 4xx, never 5xx`, async () => {
      const { call } = server();
      const response = await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", body);
      expect(response.status, response.text).toBeGreaterThanOrEqual(400);
      expect(response.status, response.text).toBeLessThan(500);
      expect(response.body.kind).toBe("Status");
    });
});

describe("custom resources", () => {
  it("are served: discovery, create with defaults, get, list by label, field selector, delete", async () => {
    const { call } = await withCronTab();
    const group = await call("GET", "/apis/stable.example.com");
    expect(group.body.preferredVersion).toEqual({ groupVersion: "stable.example.com/v1", version: "v1" });
    const list = await call("GET", "/apis/stable.example.com/v1");
    const names = (
      list.body.resources as { name: string; shortNames?: string[]; categories?: string[] }[]
    ).map((r) => r.name);
    expect(names).toEqual(["crontabs", "crontabs/status", "crontabs/scale"]);
    const created = await call("POST", CT, { ...tab("a"), metadata: { name: "a", labels: { app: "x" } } });
    expect(created.status, created.text).toBe(201);
    expect((created.body.spec as { replicas: number }).replicas).toBe(1);
    await call("POST", CT, tab("b"));
    const byLabel = await call("GET", `${CT}?labelSelector=app%3Dx`);
    expect((byLabel.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      "a",
    ]);
    const byField = await call("GET", `${CT}?fieldSelector=metadata.name%3Db`);
    expect((byField.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      "b",
    ]);
    expect((await call("DELETE", `${CT}/a`)).status).toBe(200);
    expect((await call("GET", `${CT}/a`)).status).toBe(404);
  });

  it("are validated by the schema (kube's messages) and pruned, or refused under Strict", async () => {
    const { call } = await withCronTab();
    const bad = await call("POST", CT, tab("bad", { replicas: 0, cronSpec: "nope" }));
    expect(bad.status).toBe(422);
    expect(bad.body.message).toContain(
      "spec.replicas: Invalid value: 0: spec.replicas in body should be greater than or equal to 1",
    );
    expect(bad.body.message).toContain(
      'spec.cronSpec: Invalid value: "nope": spec.cronSpec in body should match',
    );
    const pruned = await call("POST", CT, tab("p", { extra: "gone" }));
    expect(pruned.status).toBe(201);
    expect(pruned.body.spec).not.toHaveProperty("extra");
    expect(pruned.headers.get("Warning")).toContain('unknown field \\"spec.extra\\"');
    const strict = await call("POST", `${CT}?fieldValidation=Strict`, tab("s", { extra: "no" }));
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('strict decoding error: unknown field "spec.extra"');
  });

  it("take merge and JSON patches but not strategic merge patches (415)", async () => {
    const { call } = await withCronTab();
    await call("POST", CT, tab("m"));
    const merged = await call(
      "PATCH",
      `${CT}/m`,
      { spec: { image: "new" } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(merged.status).toBe(200);
    expect((merged.body.spec as { image: string }).image).toBe("new");
    const smp = await call(
      "PATCH",
      `${CT}/m`,
      { spec: { image: "x" } },
      {
        "Content-Type": "application/strategic-merge-patch+json",
      },
    );
    expect(smp.status).toBe(415);
    const invalid = await call("PATCH", `${CT}/m`, [{ op: "replace", path: "/spec/replicas", value: 11 }], {
      "Content-Type": "application/json-patch+json",
    });
    expect(invalid.status).toBe(422);
  });

  it("split status from spec and scale through the scale subresource", async () => {
    const { call } = await withCronTab();
    const created = await call("POST", CT, { ...tab("s"), status: { replicas: 5 } });
    expect(created.body.status).toBeUndefined();
    const status = await call("PUT", `${CT}/s/status`, {
      ...created.body,
      status: { replicas: 2, labelSelector: "app=s" },
    });
    expect(status.status, status.text).toBe(200);
    expect(status.body.metadata?.generation).toBe(1);
    const scale = await call("GET", `${CT}/s/scale`);
    expect(scale.body).toMatchObject({
      kind: "Scale",
      spec: { replicas: 1 },
      status: { replicas: 2, selector: "app=s" },
    });
    const scaled = await call(
      "PATCH",
      `${CT}/s/scale`,
      { spec: { replicas: 3 } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(scaled.status, scaled.text).toBe(200);
    const after = await call("GET", `${CT}/s`);
    expect((after.body.spec as { replicas: number }).replicas).toBe(3);
    expect(after.body.metadata?.generation).toBe(2);
  });

  it("print their additionalPrinterColumns in tables", async () => {
    const { call } = await withCronTab();
    await call("POST", CT, tab("t", { replicas: 2 }));
    const table = await call("GET", CT, undefined, {
      Accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    const columns = (table.body.columnDefinitions as { name: string; priority: number }[]).map((c) => [
      c.name,
      c.priority,
    ]);
    expect(columns).toEqual([
      ["Name", 0],
      ["Spec", 0],
      ["Replicas", 0],
      ["Image", 1],
      ["Age", 0],
    ]);
    const cells = (table.body.rows as { cells: unknown[] }[])[0].cells;
    expect(cells.slice(0, 4)).toEqual(["t", "* * * * */5", 2, "my-awesome-cron-image"]);
    expect(cells[4]).toMatch(/^\d+s$/);
  });

  it("publish an OpenAPI v3 document from the CRD's schema, whose hash follows the CRD", async () => {
    const { call } = await withCronTab();
    const index = await call("GET", "/openapi/v3");
    const url = (index.body.paths as Record<string, { serverRelativeURL: string }>)[
      "apis/stable.example.com/v1"
    ].serverRelativeURL;
    const doc = await call("GET", url);
    const schema = (doc.body.components as { schemas: Record<string, Record<string, unknown>> }).schemas[
      "com.example.stable.v1.CronTab"
    ];
    expect(schema["x-kubernetes-group-version-kind"]).toEqual([
      { group: "stable.example.com", version: "v1", kind: "CronTab" },
    ]);
    expect(Object.keys(schema.properties as object).sort()).toEqual([
      "apiVersion",
      "kind",
      "metadata",
      "spec",
      "status",
    ]);
    expect((schema.properties as Record<string, unknown>).metadata).toMatchObject({
      allOf: [{ $ref: "#/components/schemas/io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta" }],
    });
    // No strategic merge patch advertised: kubectl 1.33's client-side apply would send one (and get 415).
    const paths = doc.body.paths as Record<string, { patch: { requestBody: { content: object } } }>;
    const item = paths["/apis/stable.example.com/v1/namespaces/{namespace}/crontabs/{name}"];
    expect(Object.keys(item.patch.requestBody.content).sort()).toEqual([
      "application/apply-patch+yaml",
      "application/json-patch+json",
      "application/merge-patch+json",
    ]);
    const crd = await call(
      "GET",
      "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com",
    );
    const changed = structuredClone(crd.body) as ReturnType<typeof cronTabCRD>;
    changed.spec.versions[0].additionalPrinterColumns.pop();
    expect(
      (
        await call(
          "PUT",
          "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com",
          changed,
        )
      ).status,
    ).toBe(200);
    const again = await call("GET", "/openapi/v3");
    expect(
      (again.body.paths as Record<string, { serverRelativeURL: string }>)["apis/stable.example.com/v1"]
        .serverRelativeURL,
    ).not.toBe(url);
  });

  it("are not served before their CRD exists, and are once it does (another isolate's cache follows)", async () => {
    const s = server();
    expect((await s.call("GET", CT)).status).toBe(404);
    const cache = createCustomResourceCache();
    const other = testServer({
      store: s.store,
      resources: RESOURCES,
      customResources: (store, builtins) => customResourceTable(cache, store, builtins),
    });
    expect((await other.call("GET", CT)).status).toBe(404);
    await s.call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", cronTabCRD());
    expect((await other.call("GET", CT)).status).toBe(200);
  });

  it("serve every served version over the same objects, showing each its own apiVersion (conversion None)", async () => {
    const { call } = server();
    const crd = cronTabCRD();
    const v1 = crd.spec.versions[0];
    crd.spec.versions = [{ ...structuredClone(v1), name: "v1beta1", storage: false }, v1];
    expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(
      201,
    );
    const group = await call("GET", "/apis/stable.example.com");
    expect(group.body.preferredVersion).toEqual({ groupVersion: "stable.example.com/v1", version: "v1" });
    const beta = "/apis/stable.example.com/v1beta1/namespaces/default/crontabs";
    const created = await call("POST", beta, { ...tab("x"), apiVersion: "stable.example.com/v1beta1" });
    expect(created.status, created.text).toBe(201);
    expect(created.body.apiVersion).toBe("stable.example.com/v1beta1");
    expect((await call("GET", `${CT}/x`)).body.apiVersion).toBe("stable.example.com/v1");
    const listed = await call("GET", beta);
    expect((listed.body.items as { apiVersion: string }[])[0].apiVersion).toBe("stable.example.com/v1beta1");
    const patched = await call(
      "PATCH",
      `${CT}/x`,
      { spec: { image: "v2" } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(patched.body.apiVersion).toBe("stable.example.com/v1");
  });

  it("go with their namespace when it is deleted", async () => {
    const { call, store } = await withCronTab();
    expect((await call("POST", "/api/v1/namespaces", { metadata: { name: "team" } })).status).toBe(201);
    const inTeam = "/apis/stable.example.com/v1/namespaces/team/crontabs";
    expect((await call("POST", inTeam, tab("t1"))).status).toBe(201);
    // A fresh app, as the Worker builds per request: the namespace DELETE itself must load the CRDs.
    const cache = createCustomResourceCache();
    const fresh = testServer({
      store,
      resources: RESOURCES,
      customResources: (s, builtins) => customResourceTable(cache, s, builtins),
    });
    await fresh.call("DELETE", "/api/v1/namespaces/team");
    expect((await call("GET", `${inTeam}/t1`)).status).toBe(404);
  });

  it("are defaulted on read by the current schema, and listed as their listKind", async () => {
    const { call } = await withCronTab();
    await call("POST", CT, tab("old"));
    const path = "/apis/apiextensions.k8s.io/v1/customresourcedefinitions/crontabs.stable.example.com";
    const crd = (await call("GET", path)).body as ReturnType<typeof cronTabCRD>;
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as {
      properties: Record<string, unknown>;
    };
    spec.properties.timezone = { type: "string", default: "UTC" };
    crd.spec.names = { ...crd.spec.names, listKind: "CronTabCollection" } as typeof crd.spec.names;
    expect((await call("PUT", path, crd)).status).toBe(200);
    expect(((await call("GET", `${CT}/old`)).body.spec as { timezone: string }).timezone).toBe("UTC");
    expect((await call("GET", CT)).body.kind).toBe("CronTabCollection");
  });

  it("bump generation on status changes when status is not a subresource", async () => {
    const { call } = server();
    const crd = cronTabCRD();
    crd.spec.versions[0].subresources = {} as (typeof crd.spec.versions)[0]["subresources"];
    expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(
      201,
    );
    const created = await call("POST", CT, { ...tab("g"), status: { replicas: 1 } });
    expect(created.body.status).toEqual({ replicas: 1 });
    const updated = await call("PUT", `${CT}/g`, { ...created.body, status: { replicas: 2 } });
    expect(updated.body.metadata?.generation).toBe(2);
    expect((await call("GET", `${CT}/g/status`)).status).toBe(404);
  });
});

describe("server-side apply on custom resources", () => {
  it("merges x-kubernetes-list-type map lists by their keys, and treats other lists as atomic", async () => {
    const { call } = server();
    const crd = cronTabCRD();
    const spec = crd.spec.versions[0].schema.openAPIV3Schema.properties.spec as {
      properties: Record<string, unknown>;
    };
    spec.properties.ports = {
      type: "array",
      "x-kubernetes-list-type": "map",
      "x-kubernetes-list-map-keys": ["name", "protocol"],
      items: {
        type: "object",
        required: ["name", "protocol"],
        properties: { name: { type: "string" }, protocol: { type: "string" }, port: { type: "integer" } },
      },
    };
    // Named like a built-in keyed list, but atomic here: no list-type.
    spec.properties.containers = {
      type: "array",
      items: { type: "object", properties: { name: { type: "string" }, image: { type: "string" } } },
    };
    expect((await call("POST", "/apis/apiextensions.k8s.io/v1/customresourcedefinitions", crd)).status).toBe(
      201,
    );
    const apply = (manager: string, body: Record<string, unknown>, force = false) =>
      call(
        "PATCH",
        `${CT}/ssa?fieldManager=${manager}${force ? "&force=true" : ""}`,
        JSON.stringify({
          apiVersion: "stable.example.com/v1",
          kind: "CronTab",
          metadata: { name: "ssa" },
          spec: body,
        }),
        { "Content-Type": "application/apply-patch+yaml" },
      );
    const first = await apply("a", {
      ports: [{ name: "web", protocol: "TCP", port: 80 }],
      containers: [{ name: "c", image: "one" }],
    });
    expect(first.status, first.text).toBe(201);
    const second = await apply("b", { ports: [{ name: "web", protocol: "UDP", port: 53 }] });
    expect(second.status, second.text).toBe(200);
    expect((second.body.spec as { ports: unknown[] }).ports).toEqual([
      { name: "web", protocol: "TCP", port: 80 },
      { name: "web", protocol: "UDP", port: 53 },
    ]);
    const fields = (second.body.metadata?.managedFields ?? []) as { manager: string; fieldsV1: unknown }[];
    const owners = fields.map((m) => [m.manager, JSON.stringify(m.fieldsV1)]);
    expect(owners.find(([m]) => m === "b")?.[1]).toContain(
      'k:{\\"name\\":\\"web\\",\\"protocol\\":\\"UDP\\"}',
    );
    const clash = await apply("b", { containers: [{ name: "d", image: "two" }] });
    expect(clash.status).toBe(409);
    expect(clash.text).toContain('conflict with \\"a\\"');
  });
});
