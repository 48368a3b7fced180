/** Leases, EndpointSlices, events.k8s.io Events, RuntimeClasses and RBAC: registry-tester examples and printing. */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { findResource, RESOURCES } from "./index.ts";

// Strategies through their table rows, as the registry calls them: the fixtures are request bodies (KubeObject).
const endpointSliceStrategy = findResource("discovery.k8s.io", "endpointslices")!.strategy;
const eventStrategy = findResource("", "events")!.strategy;
const roleBindingStrategy = findResource("rbac.authorization.k8s.io", "rolebindings")!.strategy;

const now = new Date("2024-01-01T00:00:00Z");

runRegistryTester(
  findResource("coordination.k8s.io", "leases")!,
  {
    valid: [
      {
        metadata: { name: "node-1" },
        spec: {
          holderIdentity: "node-1",
          leaseDurationSeconds: 40,
          renewTime: "2024-01-01T00:00:00.000000Z",
        },
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "l" }, spec: { leaseDurationSeconds: 0, leaseTransitions: -1 } },
        fields: ["spec.leaseDurationSeconds", "spec.leaseTransitions"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("discovery.k8s.io", "endpointslices")!,
  {
    valid: [
      {
        metadata: { name: "web-abc", labels: { "kubernetes.io/service-name": "web" } },
        addressType: "IPv4",
        endpoints: [{ addresses: ["10.244.0.5"], conditions: { ready: true } }],
        ports: [{ name: "http", port: 80, protocol: "TCP" }],
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "bad" },
          addressType: "IPv5",
          endpoints: [{ addresses: [] }],
          ports: [{ protocol: "ICMP" }],
        },
        fields: ["addressType", "endpoints[0].addresses", "ports[0].protocol"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("events.k8s.io", "events")!,
  {
    valid: [
      {
        metadata: { name: "web.1" },
        eventTime: "2024-01-01T00:00:00.000000Z",
        reportingController: "edgeplane.dev/scheduler",
        reportingInstance: "scheduler-1",
        action: "Binding",
        reason: "Scheduled",
        type: "Normal",
        regarding: { kind: "Pod", name: "web", namespace: "default" },
        note: "assigned to n1",
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "e" }, type: "Loud" },
        fields: ["eventTime", "reportingController", "reportingInstance", "action", "reason", "type"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("node.k8s.io", "runtimeclasses")!,
  {
    valid: [{ metadata: { name: "wasm" }, handler: "wasmtime" }],
    invalid: [{ object: { metadata: { name: "bad" }, handler: "Not_Valid" }, fields: ["handler"] }],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("storage.k8s.io", "storageclasses")!,
  {
    valid: [
      {
        metadata: { name: "local-path" },
        provisioner: "rancher.io/local-path",
        volumeBindingMode: "WaitForFirstConsumer",
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "bad" }, reclaimPolicy: "Recycle", volumeBindingMode: "Later" },
        fields: ["provisioner", "reclaimPolicy", "volumeBindingMode"],
      },
    ],
  },
  RESOURCES,
);

const rbac = (resource: string) => findResource("rbac.authorization.k8s.io", resource)!;
const roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" };

runRegistryTester(
  rbac("roles"),
  {
    valid: [
      {
        metadata: { name: "pod-reader" },
        rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get", "list"] }],
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "r" },
          rules: [
            { resources: ["pods"], verbs: [] },
            { nonResourceURLs: ["/healthz"], verbs: ["get"] },
          ],
        },
        fields: ["rules[0].verbs", "rules[0].apiGroups", "rules[1].nonResourceURLs"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  rbac("clusterroles"),
  {
    valid: [
      {
        metadata: { name: "system:edgeplane:health" },
        rules: [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }],
      },
      {
        metadata: { name: "aggregate" },
        aggregationRule: {
          clusterRoleSelectors: [{ matchLabels: { "rbac.example.com/aggregate": "true" } }],
        },
      },
    ],
    invalid: [
      {
        object: { metadata: { name: "c" }, rules: [{ apiGroups: [""], verbs: ["get"] }] },
        fields: ["rules[0].resources"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  rbac("rolebindings"),
  {
    valid: [
      {
        metadata: { name: "read-pods" },
        roleRef,
        subjects: [
          { kind: "User", apiGroup: "rbac.authorization.k8s.io", name: "jane" },
          { kind: "ServiceAccount", name: "builder" },
        ],
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "b" },
          roleRef: { kind: "Thing", name: "" },
          subjects: [{ kind: "Robot", name: "r2" }],
        },
        fields: ["roleRef.apiGroup", "roleRef.kind", "roleRef.name", "subjects[0].kind"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  rbac("clusterrolebindings"),
  {
    valid: [
      {
        metadata: { name: "system:node-proxier" },
        roleRef,
        subjects: [{ kind: "Group", apiGroup: "rbac.authorization.k8s.io", name: "system:nodes" }],
      },
    ],
    invalid: [
      {
        object: {
          metadata: { name: "b" },
          roleRef: { ...roleRef, kind: "Role" },
          subjects: [{ kind: "ServiceAccount", name: "sa" }],
        },
        fields: ["roleRef.kind", "subjects[0].namespace"],
      },
    ],
  },
  RESOURCES,
);

describe("printing", () => {
  it("prints events as LAST SEEN TYPE REASON OBJECT ... MESSAGE", () => {
    const ev: KubeObject = {
      metadata: { name: "web.1" },
      involvedObject: { kind: "Pod", name: "web", fieldPath: "spec.containers{app}" },
      reason: "Pulled",
      type: "Normal",
      message: " pulled nginx ",
      source: { component: "kubelet", host: "n1" },
      firstTimestamp: "2023-12-31T23:50:00Z",
      lastTimestamp: "2023-12-31T23:59:00Z",
      count: 4,
    };
    expect(eventStrategy.row(ev, now)).toEqual([
      "60s",
      "Normal",
      "Pulled",
      "pod/web",
      "spec.containers{app}",
      "kubelet, n1",
      "pulled nginx",
      "10m",
      4,
      "web.1",
    ]);
    expect(eventStrategy.fieldSelectors?.["involvedObject.name"](ev)).toBe("web");
    expect(eventStrategy.fieldSelectors?.source(ev)).toBe("kubelet");
  });

  it("prints endpoint slices and role bindings", () => {
    const slice: KubeObject = {
      addressType: "IPv4",
      ports: [{ port: 80 }],
      endpoints: [1, 2, 3, 4].map((i) => ({ addresses: [`10.0.0.${i}`] })),
    };
    expect(endpointSliceStrategy.row(slice, now)).toEqual([
      "IPv4",
      "80",
      "10.0.0.1,10.0.0.2,10.0.0.3 + 1 more...",
    ]);
    const binding: KubeObject = {
      metadata: { creationTimestamp: "2023-12-31T23:59:00Z" },
      roleRef,
      subjects: [
        { kind: "User", name: "jane" },
        { kind: "ServiceAccount", namespace: "ci", name: "builder" },
      ],
    };
    expect(roleBindingStrategy.row(binding, now)).toEqual([
      "ClusterRole/view",
      "60s",
      "jane",
      "",
      "ci/builder",
    ]);
  });
});
