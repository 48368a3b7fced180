import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { R } from "../client/resources.ts";
import { createApiServer } from "./app.ts";
import { ADMIN_USER, constantTimeEqual, createAuthenticator } from "./auth.ts";
import { authorize } from "./authorize.ts";
import { inProcessClient } from "./index.ts";
import { RESOURCES } from "./kinds/index.ts";

const b64 = (s: string) => btoa(s);

async function storeWithToken(id: string, secret: string, extra: Record<string, string> = {}) {
  const store = new MemoryStore();
  const app = createApiServer({ store, resources: RESOURCES, authenticate: async () => ADMIN_USER });
  const response = await app.request("http://test/api/v1/namespaces/kube-system/secrets", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      metadata: { name: `bootstrap-token-${id}` },
      type: "bootstrap.kubernetes.io/token",
      data: {
        "token-id": b64(id),
        "token-secret": b64(secret),
        "usage-bootstrap-authentication": b64("true"),
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, b64(v)])),
      },
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return store;
}

const req = (token?: string) =>
  new Request("http://test/api", { headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe("authentication", () => {
  it("accepts the admin token and rejects others, comparing in constant time", async () => {
    const auth = createAuthenticator({ adminToken: "admin-secret" });
    expect(await auth(req("admin-secret"))).toEqual(ADMIN_USER);
    expect(await auth(req("admin-secreT"))).toBeUndefined();
    expect(await auth(req())).toBeUndefined();
    expect(await constantTimeEqual("a", "a")).toBe(true);
    expect(await constantTimeEqual("a", "b")).toBe(false);
  });

  it("authenticates bootstrap tokens from kube-system Secrets", async () => {
    const store = await storeWithToken("abcdef", "0123456789abcdef", {
      "auth-extra-groups": "system:bootstrappers:worker",
    });
    const auth = createAuthenticator({ adminToken: "admin-secret", store });
    const user = await auth(req("abcdef.0123456789abcdef"));
    expect(user?.name).toBe("system:bootstrap:abcdef");
    expect(user?.groups).toEqual(
      expect.arrayContaining(["system:bootstrappers", "system:bootstrappers:worker"]),
    );
    // An unbound bootstrap token is no node: it must not pass for one anywhere.
    expect(user?.groups).not.toContain("system:nodes");
    expect(await auth(req("abcdef.0123456789abcdee"))).toBeUndefined();
    expect(await auth(req("zzzzzz.0123456789abcdef"))).toBeUndefined();
    expect(await auth(req("not-a-token"))).toBeUndefined();
  });

  it("rejects expired bootstrap tokens", async () => {
    const store = await storeWithToken("expire", "0123456789abcdef", { expiration: "2020-01-01T00:00:00Z" });
    const auth = createAuthenticator({ store });
    expect(await auth(req("expire.0123456789abcdef"))).toBeUndefined();
  });

  it("the Worker requires a token for the API but not for health and version", async () => {
    expect((await SELF.fetch("http://edgeplane/api/v1/namespaces")).status).toBe(401);
    expect((await SELF.fetch("http://edgeplane/healthz")).status).toBe(200);
    expect((await SELF.fetch("http://edgeplane/version")).status).toBe(200);
    const ok = await SELF.fetch("http://edgeplane/api/v1/namespaces", {
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(ok.status).toBe(200);
  });

  it("the in-process client is authenticated without any token over the durable store", async () => {
    const client = inProcessClient(env, undefined);
    const list = await client.list(R.namespaces);
    expect(list.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(["default", "kube-system"]),
    );
    const cm = await client.create(R.configmaps, "default", {
      metadata: { name: "inproc" },
      data: { a: "1" },
    });
    expect(cm.metadata?.managedFields).toBeDefined();
  });
});

/** The fields of a stored pod the node-restriction tests look at. */
interface StoredPod {
  metadata: {
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    finalizers?: string[];
    ownerReferences?: unknown[];
  };
  spec: { nodeName?: string; containers: { image: string }[] };
  status: { phase?: string };
}

describe("node restriction", () => {
  const NODE = { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };
  function server() {
    const app = createApiServer({
      store: new MemoryStore(),
      resources: RESOURCES,
      authenticate: async (r) => (r.headers.get("Authorization") === "Bearer node" ? NODE : ADMIN_USER),
      authorize,
    });
    const call = async (
      who: "node" | "admin",
      method: string,
      path: string,
      body?: unknown,
      type = "application/json",
    ) => {
      const response = await app.request(`http://test${path}`, {
        method,
        headers: { Authorization: `Bearer ${who}`, "Content-Type": type },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return response.status;
    };
    return Object.assign(call, {
      /** GET as admin, parsed. */
      read: async (path: string) =>
        (await (
          await app.request(`http://test${path}`, { headers: { Authorization: "Bearer admin" } })
        ).json()) as StoredPod,
    });
  }
  const pod = (name: string, nodeName: string) => ({
    metadata: { name },
    spec: { nodeName, containers: [{ name: "c", image: "busybox" }] },
  });

  it("lets a node write only its own Node, Lease and bound pods' status", async () => {
    const call = server();
    expect(await call("node", "POST", "/api/v1/nodes", { metadata: { name: "n1" } })).toBe(201);
    expect(await call("node", "POST", "/api/v1/nodes", { metadata: { name: "n2" } })).toBe(403);
    const lease = (name: string) => ({
      metadata: { name },
      spec: { holderIdentity: name, leaseDurationSeconds: 40 },
    });
    expect(
      await call(
        "node",
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        lease("n1"),
      ),
    ).toBe(201);
    expect(
      await call(
        "node",
        "POST",
        "/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases",
        lease("n2"),
      ),
    ).toBe(403);
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", pod("mine", "n1"))).toBe(201);
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", pod("theirs", "n2"))).toBe(201);
    const status = { status: { phase: "Running" } };
    const merge = "application/merge-patch+json";
    expect(await call("node", "PATCH", "/api/v1/namespaces/default/pods/mine/status", status, merge)).toBe(
      200,
    );
    expect(await call("node", "PATCH", "/api/v1/namespaces/default/pods/theirs/status", status, merge)).toBe(
      403,
    );
    expect(
      await call(
        "node",
        "PATCH",
        "/api/v1/namespaces/default/pods/mine",
        { metadata: { labels: { a: "b" } } },
        merge,
      ),
    ).toBe(403);
    expect(
      await call("node", "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "x" } }),
    ).toBe(403);
    expect(await call("node", "GET", "/api/v1/namespaces/default/pods")).toBe(200);
    expect(await call("node", "DELETE", "/api/v1/namespaces/default/pods/theirs")).toBe(403);
    expect(await call("node", "DELETE", "/api/v1/namespaces/default/pods/mine?gracePeriodSeconds=0")).toBe(
      200,
    );
  });

  it("a node reads only the Secrets its own pods reference, and never lists them", async () => {
    const call = server();
    const secret = (name: string) => ({ metadata: { name }, stringData: { k: "v" } });
    for (const name of ["used", "unused", "elsewhere"])
      expect(await call("admin", "POST", "/api/v1/namespaces/default/secrets", secret(name))).toBe(201);
    const mine = pod("mine", "n1") as { spec: Record<string, unknown> };
    mine.spec.volumes = [{ name: "s", secret: { secretName: "used" } }];
    const theirs = pod("theirs", "n2") as { spec: Record<string, unknown> };
    theirs.spec.volumes = [{ name: "s", secret: { secretName: "elsewhere" } }];
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", mine)).toBe(201);
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", theirs)).toBe(201);
    expect(await call("node", "GET", "/api/v1/namespaces/default/secrets/used")).toBe(200);
    expect(await call("node", "GET", "/api/v1/namespaces/default/secrets/unused")).toBe(403);
    expect(await call("node", "GET", "/api/v1/namespaces/default/secrets/elsewhere")).toBe(403);
    expect(await call("node", "GET", "/api/v1/namespaces/default/secrets")).toBe(403);
    expect(await call("node", "GET", "/api/v1/secrets?watch=true")).toBe(403);
  });

  it("a node reads ConfigMaps, PVCs and PVs only through its own pods, and never lists them", async () => {
    const call = server();
    for (const name of ["used", "unused"]) {
      expect(
        await call("admin", "POST", "/api/v1/namespaces/default/configmaps", { metadata: { name } }),
      ).toBe(201);
      const claim = {
        metadata: { name },
        spec: {
          accessModes: ["ReadWriteOnce"],
          resources: { requests: { storage: "1Gi" } },
          volumeName: `pv-${name}`,
        },
      };
      expect(await call("admin", "POST", "/api/v1/namespaces/default/persistentvolumeclaims", claim)).toBe(
        201,
      );
      const pv = {
        metadata: { name: `pv-${name}` },
        spec: { capacity: { storage: "1Gi" }, accessModes: ["ReadWriteOnce"], hostPath: { path: "/tmp" } },
      };
      expect(await call("admin", "POST", "/api/v1/persistentvolumes", pv)).toBe(201);
    }
    const mine = pod("mine", "n1") as { spec: Record<string, unknown> };
    mine.spec.containers = [
      {
        name: "c",
        image: "busybox",
        env: [{ name: "A", valueFrom: { configMapKeyRef: { name: "used", key: "a" } } }],
      },
    ];
    mine.spec.volumes = [{ name: "v", persistentVolumeClaim: { claimName: "used" } }];
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", mine)).toBe(201);
    expect(await call("node", "GET", "/api/v1/namespaces/default/configmaps/used")).toBe(200);
    expect(await call("node", "GET", "/api/v1/namespaces/default/configmaps/unused")).toBe(403);
    expect(await call("node", "GET", "/api/v1/namespaces/default/configmaps")).toBe(403);
    expect(await call("node", "GET", "/api/v1/configmaps?watch=1")).toBe(403);
    expect(await call("node", "GET", "/api/v1/namespaces/default/persistentvolumeclaims/used")).toBe(200);
    expect(await call("node", "GET", "/api/v1/namespaces/default/persistentvolumeclaims/unused")).toBe(403);
    expect(await call("node", "GET", "/api/v1/persistentvolumes/pv-used")).toBe(200);
    expect(await call("node", "GET", "/api/v1/persistentvolumes/pv-unused")).toBe(403);
    expect(await call("node", "GET", "/api/v1/persistentvolumes")).toBe(403);
    // Reads the node agent needs stay open (kube's system:node role).
    expect(
      await call("node", "GET", "/api/v1/namespaces/default/pods?fieldSelector=spec.nodeName%3Dn1"),
    ).toBe(200);
    expect(await call("node", "GET", "/api/v1/nodes")).toBe(200);
    expect(await call("node", "GET", "/apis/node.k8s.io/v1/runtimeclasses")).toBe(200);
  });

  it("a node gets no log, exec, attach or portforward, even for its own pods", async () => {
    const call = server();
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", pod("mine", "n1"))).toBe(201);
    for (const sub of ["log", "exec", "attach", "portforward"])
      expect(await call("node", "GET", `/api/v1/namespaces/default/pods/mine/${sub}`), sub).toBe(403);
    expect(await call("node", "POST", "/api/v1/namespaces/default/pods/mine/exec?command=sh")).toBe(403);
  });

  it("a node's pod status write cannot change labels, annotations, owner references, finalizers or spec", async () => {
    const call = server();
    const owned = pod("mine", "n1") as { metadata: Record<string, unknown> };
    owned.metadata = {
      name: "mine",
      labels: { app: "web" },
      annotations: { a: "1" },
      finalizers: ["example.com/keep"],
      ownerReferences: [
        { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: "u1", controller: true },
      ],
    };
    expect(await call("admin", "POST", "/api/v1/namespaces/default/pods", owned)).toBe(201);
    const merge = "application/merge-patch+json";
    const path = "/api/v1/namespaces/default/pods/mine/status";
    expect(await call("node", "PATCH", path, { metadata: { labels: { app: "db" } } }, merge)).toBe(403);
    expect(await call("node", "PATCH", path, { metadata: { labels: { extra: "x" } } }, merge)).toBe(403);
    expect(await call("node", "PATCH", path, { metadata: { annotations: { a: "2" } } }, merge)).toBe(403);
    const sneaky = {
      metadata: { finalizers: null, ownerReferences: null },
      spec: { nodeName: "n2", containers: [{ name: "c", image: "evil" }] },
      status: { phase: "Running" },
    };
    expect(await call("node", "PATCH", path, sneaky, merge)).toBe(200);
    const body = await call.read("/api/v1/namespaces/default/pods/mine");
    expect(body.metadata.labels).toEqual({ app: "web" });
    expect(body.metadata.annotations).toEqual({ a: "1" });
    expect(body.metadata.finalizers).toEqual(["example.com/keep"]);
    expect(body.metadata.ownerReferences).toHaveLength(1);
    expect(body.spec.nodeName).toBe("n1");
    expect(body.spec.containers[0].image).toBe("busybox");
    expect(body.status.phase).toBe("Running");
    // The same label change by an admin through status is allowed: the rule is the node's.
    expect(await call("admin", "PATCH", path, { metadata: { labels: { app: "db" } } }, merge)).toBe(200);
  });

  it("a bootstrap token not bound to a node may read discovery only", async () => {
    const BOOT = {
      name: "system:bootstrap:abcdef",
      groups: ["system:bootstrappers", "system:authenticated"],
    };
    const app = createApiServer({
      store: new MemoryStore(),
      resources: RESOURCES,
      authenticate: async () => BOOT,
      authorize,
    });
    const status = async (method: string, path: string, body?: unknown) =>
      (
        await app.request(`http://test${path}`, {
          method,
          headers: { "Content-Type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        })
      ).status;
    expect(await status("GET", "/api/v1")).toBe(200);
    expect(await status("GET", "/api/v1/namespaces/kube-system/secrets")).toBe(403);
    expect(await status("GET", "/api/v1/pods")).toBe(403);
    expect(await status("POST", "/api/v1/nodes", { metadata: { name: "any" } })).toBe(403);
  });

  it("a bootstrap token bound to a node authenticates as that node", async () => {
    const store = await storeWithToken("node01", "0123456789abcdef", { "node-name": "n1" });
    const user = await createAuthenticator({ store })(req("node01.0123456789abcdef"));
    expect(user).toEqual({ name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] });
  });
});
