import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createApiServer } from "./app.ts";
import { ADMIN_USER } from "./auth.ts";
import { authorize } from "./authorize.ts";
import { RESOURCES } from "./kinds/index.ts";

const NODE = { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };

type Stored = {
  metadata: { uid: string; annotations?: Record<string, string> };
  spec: { serviceAccountName?: string };
};

/** An API server where "Bearer node" is node n1 and anything else the admin. */
function server() {
  const app = createApiServer({
    store: new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) => (r.headers.get("Authorization") === "Bearer node" ? NODE : ADMIN_USER),
    authorize,
  });
  return async (who: "node" | "admin", method: string, path: string, body?: unknown) => {
    const response = await app.request(`http://test${path}`, {
      method,
      headers: {
        Authorization: `Bearer ${who}`,
        "Content-Type": method === "PATCH" ? "application/merge-patch+json" : "application/json",
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: text ? (JSON.parse(text) as Stored & { reason?: string }) : undefined,
    };
  };
}

/** The parts of a pod the cases change. */
interface Draft {
  metadata: {
    name: string;
    annotations: Record<string, string>;
    ownerReferences?: {
      apiVersion: string;
      kind: string;
      name: string;
      uid: string;
      controller: boolean;
      blockOwnerDeletion?: boolean;
    }[];
  };
  spec: {
    nodeName?: string;
    serviceAccountName?: string;
    volumes?: unknown[];
    containers: { name: string; image: string; envFrom?: unknown[]; securityContext?: unknown }[];
  };
}

/** A mirror pod as the kubelet's mirror client builds it, with `change` applied. */
function mirror(nodeUid: string, change: (pod: Draft) => void = () => {}) {
  const pod: Draft = {
    metadata: {
      name: "web-n1",
      annotations: {
        "kubernetes.io/config.mirror": "abc",
        "kubernetes.io/config.hash": "abc",
        "kubernetes.io/config.source": "file",
      },
      ownerReferences: [{ apiVersion: "v1", kind: "Node", name: "n1", uid: nodeUid, controller: true }],
    },
    spec: { nodeName: "n1", containers: [{ name: "c", image: "busybox" }] },
  };
  change(pod);
  return pod;
}

const PODS = "/api/v1/namespaces/default/pods";

describe("NodeRestriction: mirror pods", () => {
  async function withNode() {
    const call = server();
    const node = await call("node", "POST", "/api/v1/nodes", { metadata: { name: "n1" } });
    expect(node.status).toBe(201);
    return { call, uid: node.body?.metadata.uid ?? "" };
  }

  it("a node creates a mirror pod bound to itself and owned by its Node, without a service account, and deletes it", async () => {
    const { call, uid } = await withNode();
    const created = await call("node", "POST", PODS, mirror(uid));
    expect(created.status, JSON.stringify(created.body)).toBe(201);
    expect(created.body?.metadata.annotations?.["kubernetes.io/config.mirror"]).toBe("abc");
    expect(created.body?.spec.serviceAccountName).toBeUndefined();
    expect((await call("node", "DELETE", `${PODS}/web-n1`)).status).toBe(200);
    // As in kube, a mirror pod without an owner reference is admitted too (kubelets before owner references).
    const orphan = mirror(uid, (p) => {
      p.metadata.name = "old-kubelet-n1";
      delete p.metadata.ownerReferences;
    });
    expect((await call("node", "POST", PODS, orphan)).status).toBe(201);
  });

  it("a node may not create a pod that is not a mirror pod, nor one for another node or owner", async () => {
    const { call, uid } = await withNode();
    const cases: [string, (pod: Draft) => void][] = [
      ["no mirror annotation", (p) => delete p.metadata.annotations["kubernetes.io/config.mirror"]],
      ["bound to another node", (p) => (p.spec.nodeName = "n2")],
      ["not bound", (p) => delete p.spec.nodeName],
      [
        "two owners",
        (p) => p.metadata.ownerReferences?.push({ ...(p.metadata.ownerReferences ?? [])[0], name: "n1b" }),
      ],
      ["owned by another node", (p) => ((p.metadata.ownerReferences ?? [])[0].name = "n2")],
      ["owned by a forged uid", (p) => ((p.metadata.ownerReferences ?? [])[0].uid = "forged")],
      ["owner not a controller", (p) => ((p.metadata.ownerReferences ?? [])[0].controller = false)],
      ["blockOwnerDeletion", (p) => ((p.metadata.ownerReferences ?? [])[0].blockOwnerDeletion = true)],
      ["a service account", (p) => (p.spec.serviceAccountName = "admin")],
      ["a secret", (p) => (p.spec.volumes = [{ name: "s", secret: { secretName: "s" } }])],
      ["a configmap", (p) => (p.spec.containers[0].envFrom = [{ configMapRef: { name: "cm" } }])],
      ["a claim", (p) => (p.spec.volumes = [{ name: "v", persistentVolumeClaim: { claimName: "c" } }])],
    ];
    for (const [why, change] of cases) {
      const response = await call("node", "POST", PODS, mirror(uid, change));
      expect(response.status, why).toBe(403);
      expect(response.body?.reason, why).toBe("Forbidden");
    }
    // The same pods are fine from an admin: the rule is the node's.
    expect((await call("admin", "POST", PODS, mirror(uid, cases[0][1]))).status).toBe(201);
    // A node still cannot create through pod subresources.
    expect((await call("node", "POST", `${PODS}/web-n1/eviction`, {})).status).toBe(403);
  });

  it("no update may add, change or remove the mirror annotation (kube's pod validation), not even an admin's", async () => {
    const { call, uid } = await withNode();
    expect((await call("node", "POST", PODS, mirror(uid))).status).toBe(201);
    const plain = { metadata: { name: "plain" }, spec: { containers: [{ name: "c", image: "busybox" }] } };
    expect((await call("admin", "POST", PODS, plain)).status).toBe(201);
    const annotate = (name: string, value: string | null) =>
      call("admin", "PATCH", `${PODS}/${name}`, {
        metadata: { annotations: { "kubernetes.io/config.mirror": value } },
      });
    for (const [name, value] of [
      ["plain", "abc"],
      ["web-n1", "other"],
      ["web-n1", null],
    ] as const) {
      const response = await annotate(name, value);
      expect(response.status, `${name} ${value}`).toBe(422);
      expect(JSON.stringify(response.body)).toContain("mirror pod annotation");
    }
    // Other annotations stay free to change.
    const other = await call("admin", "PATCH", `${PODS}/web-n1`, {
      metadata: { annotations: { note: "x" } },
    });
    expect(other.status).toBe(200);
  });

  it("Pod Security applies to mirror pods too", async () => {
    const { call, uid } = await withNode();
    const privileged = mirror(uid, (p) => (p.spec.containers[0].securityContext = { privileged: true }));
    const response = await call("node", "POST", PODS, privileged);
    expect(response.status).toBe(403);
    expect(JSON.stringify(response.body)).toContain("PodSecurity");
  });
});

describe("node authorizer: events", () => {
  it("a node creates an event and patches its count and lastTimestamp (client-go's correlator), but may not delete it", async () => {
    const call = server();
    const event = {
      metadata: { name: "p.1", namespace: "default" },
      involvedObject: { kind: "Pod", name: "p", namespace: "default", fieldPath: "spec.containers{app}" },
      reason: "BackOff",
      message: "Back-off restarting failed container app in pod p_default(u)",
      type: "Warning",
      source: { component: "kubelet", host: "n1" },
      count: 1,
    };
    expect((await call("node", "POST", "/api/v1/namespaces/default/events", event)).status).toBe(201);
    const patched = await call("node", "PATCH", "/api/v1/namespaces/default/events/p.1", {
      count: 2,
      lastTimestamp: "2026-01-01T00:00:10Z",
    });
    expect(patched.status, JSON.stringify(patched.body)).toBe(200);
    expect((patched.body as unknown as { count: number }).count).toBe(2);
    const denied = await call("node", "DELETE", "/api/v1/namespaces/default/events/p.1");
    expect(denied.status).toBe(403);
  });
});
