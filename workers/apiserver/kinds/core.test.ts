/** Registry-tester examples (valid and invalid) and strategy unit tests for the small core/v1 kinds. */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { testServer } from "../testing/fixture.ts";
import { formatEndpoints } from "./endpoints.ts";
import { findResource, RESOURCES } from "./index.ts";

// Strategies through their table rows, as the registry calls them: the fixtures are request bodies (KubeObject).
const configMapStrategy = findResource("", "configmaps")!.strategy;
const nodeStrategy = findResource("", "nodes")!.strategy;
const secretStrategy = findResource("", "secrets")!.strategy;

const core = (resource: string) => findResource("", resource)!;
const now = new Date("2024-01-01T00:00:00Z");

runRegistryTester(
  core("namespaces"),
  {
    valid: [{ metadata: { name: "team-a", labels: { tier: "gold" } } }],
    // The tester's invalid path expects an empty list afterwards, but the built-in namespaces always
    // exist: invalid namespaces are checked in the "namespaces" block below instead.
    invalid: [],
  },
  RESOURCES,
);

runRegistryTester(
  core("nodes"),
  {
    valid: [
      {
        metadata: { name: "node-1", labels: { "node-role.kubernetes.io/worker": "" } },
        spec: { podCIDR: "10.244.1.0/24", taints: [{ key: "edgeplane.dev/wasm", effect: "NoSchedule" }] },
        status: {
          conditions: [{ type: "Ready", status: "True" }],
          nodeInfo: { kubeletVersion: "v1.32.0-edgeplane" },
        },
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "bad" },
          spec: { taints: [{ key: "", effect: "Sometimes" }], podCIDR: "nope" },
        },
        fields: ["spec.taints[0].key", "spec.taints[0].effect", "spec.podCIDR"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("endpoints"),
  {
    valid: [
      {
        metadata: { name: "web" },
        subsets: [{ addresses: [{ ip: "10.244.0.5" }], ports: [{ port: 80, name: "http" }] }],
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "web" },
          subsets: [{ addresses: [{ ip: "not-an-ip" }], ports: [{ port: 0 }] }],
        },
        fields: ["subsets[0].addresses[0].ip", "subsets[0].ports[0].port"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("configmaps"),
  {
    valid: [
      {
        metadata: { name: "cfg" },
        data: { "app.properties": "a=b", KEY: "v" },
        binaryData: { blob: "AAEC" },
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "cfg" },
          data: { "bad key": "x", dup: "x" },
          binaryData: { dup: "AA==", raw: "not base64!" },
        },
        fields: ["data[bad key]", "data[dup]", "binaryData[raw]"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("secrets"),
  {
    valid: [
      { metadata: { name: "s" }, data: { password: "aHVudGVyMg==" } },
      {
        metadata: { name: "tls" },
        type: "kubernetes.io/tls",
        data: { "tls.crt": "Y3J0", "tls.key": "a2V5" },
      },
      { metadata: { name: "from-strings" }, stringData: { user: "admin" } },
    ],
    invalid: [
      { object: { metadata: { name: "s" }, data: { password: "not base64!!" } }, fields: ["data[password]"] },
      {
        object: { metadata: { name: "t" }, type: "kubernetes.io/tls", data: { "tls.crt": "Y3J0" } },
        fields: ["data[tls.key]"],
      },
      {
        object: { metadata: { name: "sa" }, type: "kubernetes.io/service-account-token" },
        fields: ["metadata.annotations[kubernetes.io/service-account.name]"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("serviceaccounts"),
  {
    valid: [
      {
        metadata: { name: "builder" },
        secrets: [{ name: "builder-token" }],
        automountServiceAccountToken: false,
      },
    ],
    invalid: [{ object: { metadata: { name: "sa" }, secrets: [{}] }, fields: ["secrets[0].name"] }],
  },
  RESOURCES,
);

runRegistryTester(
  core("events"),
  {
    valid: [
      {
        metadata: { name: "web.1" },
        involvedObject: { kind: "Pod", name: "web", namespace: "default" },
        reason: "Scheduled",
        message: "Successfully assigned default/web to n1",
        type: "Normal",
        source: { component: "default-scheduler" },
        firstTimestamp: "2024-01-01T00:00:00Z",
        lastTimestamp: "2024-01-01T00:00:00Z",
        count: 1,
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "e" },
          involvedObject: { kind: "Pod", name: "web", namespace: "other" },
          reason: "x".repeat(129),
        },
        fields: ["involvedObject.namespace", "reason"],
      },
    ],
  },
  RESOURCES,
);

describe("namespaces", () => {
  it("start Active with the kubernetes finalizer and the metadata.name label", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const created = await call("POST", "/api/v1/namespaces", { metadata: { name: "team-b" } });
    expect(created.status, created.text).toBe(201);
    expect(created.body.status).toEqual({ phase: "Active" });
    expect(created.body.spec).toEqual({ finalizers: ["kubernetes"] });
    expect(created.body.metadata?.labels).toEqual({ "kubernetes.io/metadata.name": "team-b" });
    // A namespace name must be a DNS-1123 label (no dots, unlike most kinds).
    const invalid = await call("POST", "/api/v1/namespaces", { metadata: { name: "team.a" } });
    expect(invalid.status).toBe(422);
    expect((invalid.body.details as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual([
      "metadata.name",
    ]);
    expect((await call("GET", "/api/v1/namespaces/team.a")).status).toBe(404);
  });

  it("update their finalizers only through namespaces/NAME/finalize", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call("POST", "/api/v1/namespaces", { metadata: { name: "team-c" } });
    const got = await call("GET", "/api/v1/namespaces/team-c");
    const put = await call("PUT", "/api/v1/namespaces/team-c", { ...got.body, spec: { finalizers: [] } });
    expect(put.body.spec).toEqual({ finalizers: ["kubernetes"] });
    const fin = await call("PUT", "/api/v1/namespaces/team-c/finalize", {
      ...got.body,
      spec: { finalizers: [] },
    });
    expect(fin.status, fin.text).toBe(200);
    expect(fin.body.spec).toEqual({ finalizers: [] });
  });

  it("refuse a finalize body that is no Namespace of that name, or finalizers that are no strings (400)", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call("POST", "/api/v1/namespaces", { metadata: { name: "team-d" } });
    const path = "/api/v1/namespaces/team-d/finalize";
    for (const body of [
      { metadata: "string" },
      { kind: "Pod", metadata: { name: "team-d" } },
      { apiVersion: "v9", metadata: { name: "team-d" } },
      { metadata: { name: "other" }, spec: { finalizers: [] } },
      { metadata: { name: "team-d" }, spec: { finalizers: [1, {}] } },
      { metadata: { name: "team-d" }, spec: "x" },
    ]) {
      const res = await call("PUT", path, body);
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect(res.body.reason).toBe("BadRequest");
    }
    expect((await call("GET", "/api/v1/namespaces/team-d")).body.spec).toEqual({
      finalizers: ["kubernetes"],
    });
  });
});

describe("nodes", () => {
  it("print a node whose Ready condition is Unknown (lease expired) as NotReady, like kubectl", () => {
    const status = (conditions: unknown[]) =>
      nodeStrategy.row({ metadata: { name: "n" }, status: { conditions } }, now)[0];
    expect(status([{ type: "Ready", status: "Unknown" }])).toBe("NotReady");
    expect(status([{ type: "Ready", status: "True" }])).toBe("Ready");
    expect(status([])).toBe("Unknown");
  });

  it("print STATUS, ROLES, VERSION and wide addresses", () => {
    const node: KubeObject = {
      metadata: {
        name: "n1",
        creationTimestamp: "2023-12-31T23:00:00Z",
        labels: { "node-role.kubernetes.io/control-plane": "" },
      },
      spec: { unschedulable: true },
      status: {
        conditions: [{ type: "Ready", status: "False" }],
        addresses: [{ type: "InternalIP", address: "192.168.1.5" }],
        nodeInfo: {
          kubeletVersion: "v1.32.0",
          osImage: "Debian",
          kernelVersion: "6.1",
          containerRuntimeVersion: "containerd://2.0",
        },
      },
    };
    expect(nodeStrategy.row(node, now)).toEqual([
      "NotReady,SchedulingDisabled",
      "control-plane",
      "60m",
      "v1.32.0",
      "192.168.1.5",
      "<none>",
      "Debian",
      "6.1",
      "containerd://2.0",
    ]);
    expect(nodeStrategy.fieldSelectors?.["spec.unschedulable"](node)).toBe("true");
  });
});

describe("secrets and configmaps", () => {
  it("fold stringData into base64 data", () => {
    const s: KubeObject = { metadata: { name: "s" }, data: { a: "YQ==" }, stringData: { b: "hé" } };
    secretStrategy.defaults?.(s);
    expect(s).toEqual({ metadata: { name: "s" }, type: "Opaque", data: { a: "YQ==", b: "aMOp" } });
    expect(secretStrategy.row(s, now)).toEqual(["Opaque", 2]);
    expect(secretStrategy.fieldSelectors?.type(s)).toBe("Opaque");
  });

  it("refuse data changes once immutable", () => {
    const old: KubeObject = { metadata: { name: "c" }, data: { a: "1" }, immutable: true };
    const changed: KubeObject = { metadata: { name: "c" }, data: { a: "2" }, immutable: true };
    expect(
      configMapStrategy
        .validateUpdate?.(changed, old, { user: "", groups: [], now, dryRun: false })
        .map((e) => e.field),
    ).toEqual(["data"]);
    const unset: KubeObject = { metadata: { name: "c" }, type: "Opaque", data: {} };
    expect(
      secretStrategy
        .validateUpdate?.(unset, { ...old, type: "Opaque" }, { user: "", groups: [], now, dryRun: false })
        .map((e) => e.field)
        .sort(),
    ).toEqual(["data", "immutable"]);
  });
});

describe("endpoints printing", () => {
  it("shows at most three endpoints and how many more", () => {
    const ep: KubeObject = {
      subsets: [
        {
          addresses: ["1.1.1.1", "1.1.1.2", "1.1.1.3", "1.1.1.4"].map((ip) => ({ ip })),
          ports: [{ port: 80 }],
        },
      ],
    };
    expect(formatEndpoints(ep)).toBe("1.1.1.1:80,1.1.1.2:80,1.1.1.3:80 + 1 more...");
    expect(formatEndpoints({})).toBe("<none>");
  });
});

runRegistryTester(
  core("replicationcontrollers"),
  {
    valid: [
      {
        metadata: { name: "legacy" },
        spec: {
          replicas: 2,
          template: {
            metadata: { labels: { app: "legacy" } },
            spec: { containers: [{ name: "c", image: "nginx" }] },
          },
        },
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "bad" },
          spec: {
            selector: { app: "x" },
            template: {
              metadata: { labels: { app: "y" } },
              spec: { containers: [{ name: "c", image: "nginx" }] },
            },
          },
        },
        fields: ["spec.template.metadata.labels"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("podtemplates"),
  {
    valid: [
      {
        metadata: { name: "tpl" },
        template: { metadata: { labels: { a: "b" } }, spec: { containers: [{ name: "c", image: "nginx" }] } },
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "tpl" }, template: { spec: { containers: [{ name: "c" }] } } },
        fields: ["template.spec.containers[0].image"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("persistentvolumeclaims"),
  {
    valid: [
      {
        metadata: { name: "data" },
        spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "data" }, spec: { accessModes: ["ReadWriteSometimes"] } },
        fields: ["spec.accessModes[0]", "spec.resources[storage]"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  core("persistentvolumes"),
  {
    valid: [
      {
        metadata: { name: "pv1" },
        spec: { accessModes: ["ReadWriteOnce"], capacity: { storage: "10Gi" }, hostPath: { path: "/data" } },
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "pv1" }, spec: { capacity: { storage: "-1Gi" } } },
        fields: ["spec.accessModes", "spec.capacity[storage]", "spec"],
      },
    ],
  },
  RESOURCES,
);

describe("short names and categories", () => {
  it("match real Kubernetes", () => {
    const short = Object.fromEntries(
      RESOURCES.filter((r) => r.shortNames).map((r) => [`${r.resource}.${r.group}`, r.shortNames]),
    );
    expect(short).toMatchObject({
      "pods.": ["po"],
      "services.": ["svc"],
      "namespaces.": ["ns"],
      "nodes.": ["no"],
      "configmaps.": ["cm"],
      "serviceaccounts.": ["sa"],
      "events.": ["ev"],
      "endpoints.": ["ep"],
      "persistentvolumes.": ["pv"],
      "persistentvolumeclaims.": ["pvc"],
      "replicationcontrollers.": ["rc"],
      "deployments.apps": ["deploy"],
      "replicasets.apps": ["rs"],
      "statefulsets.apps": ["sts"],
      "daemonsets.apps": ["ds"],
      "cronjobs.batch": ["cj"],
    });
    // One name per resource: horizontalpodautoscalers is served as autoscaling/v2 and v1, both in "all" as in kube.
    const all = [
      ...new Set(RESOURCES.filter((r) => r.categories?.includes("all")).map((r) => r.resource)),
    ].sort();
    expect(all).toEqual([
      "cronjobs",
      "daemonsets",
      "deployments",
      "horizontalpodautoscalers",
      "jobs",
      "pods",
      "replicasets",
      "replicationcontrollers",
      "services",
      "statefulsets",
    ]);
  });
});
