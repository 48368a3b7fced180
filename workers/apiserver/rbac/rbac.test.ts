import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { createApiServer } from "../app.ts";
import { createAuthorizer } from "../authorize.ts";
import { RESOURCES } from "../kinds/index.ts";
import { ADMIN_USER, type UserInfo } from "../tokens.ts";
import { RbacCache } from "./cache.ts";

const USERS: Record<string, UserInfo> = {
  admin: ADMIN_USER,
  alice: { name: "alice", groups: ["system:authenticated"] },
  ada: { name: "ada", groups: ["system:authenticated"] },
  node: { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] },
};
const RBAC = "/apis/rbac.authorization.k8s.io/v1";

function server(options: { store?: MemoryStore; cache?: RbacCache } = {}) {
  const app = createApiServer({
    store: options.store ?? new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) => USERS[(r.headers.get("Authorization") ?? "").replace("Bearer ", "")],
    authorizer: createAuthorizer({ cache: options.cache ?? new RbacCache() }),
  });
  return async (
    who: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ) => {
    const res = await app.request(path, {
      method,
      headers: { Authorization: `Bearer ${who}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, any> };
  };
}

const roleBinding = (name: string, kind: string, role: string, subjects: object[]) => ({
  apiVersion: "rbac.authorization.k8s.io/v1",
  kind: "RoleBinding",
  metadata: { name },
  roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
  subjects,
});
const user = (name: string) => ({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name });

describe("RBAC authorizer", () => {
  it("forbids an unbound user with kube's message; a RoleBinding to view lets it read but not delete, in that namespace only", async () => {
    const call = server();
    let res = await call("alice", "GET", "/api/v1/namespaces/default/pods");
    expect(res.status).toBe(403);
    expect(res.body).toMatchObject({
      kind: "Status",
      reason: "Forbidden",
      code: 403,
      message:
        'pods is forbidden: User "alice" cannot list resource "pods" in API group "" in the namespace "default"',
      details: { kind: "pods" },
    });
    res = await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      roleBinding("alice-view", "ClusterRole", "view", [user("alice")]),
    );
    expect(res.status).toBe(201);
    expect((await call("alice", "GET", "/api/v1/namespaces/default/pods")).status).toBe(200);
    res = await call("alice", "DELETE", "/api/v1/namespaces/default/pods/web");
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'pods "web" is forbidden: User "alice" cannot delete resource "pods" in API group "" in the namespace "default"',
    );
    res = await call("alice", "GET", "/api/v1/namespaces/kube-system/pods");
    expect(res.status).toBe(403);
    res = await call("alice", "GET", "/api/v1/nodes");
    expect(res.body.message).toBe(
      'nodes is forbidden: User "alice" cannot list resource "nodes" in API group "" at the cluster scope',
    );
    // Discovery is granted to every authenticated user by the default policy.
    expect((await call("alice", "GET", "/apis")).status).toBe(200);
    expect((await call("alice", "GET", "/api/v1")).status).toBe(200);
  });

  it("grants subresources, */subresource, resourceNames and Role rules in the role's namespace", async () => {
    const call = server();
    await call("admin", "POST", "/api/v1/namespaces", { metadata: { name: "team" } });
    const role = {
      metadata: { name: "r" },
      rules: [
        { verbs: ["get"], apiGroups: [""], resources: ["pods/log"] },
        { verbs: ["get", "update"], apiGroups: ["apps"], resources: ["*/scale"] },
        { verbs: ["get"], apiGroups: [""], resources: ["configmaps"], resourceNames: ["settings"] },
      ],
    };
    expect((await call("admin", "POST", `${RBAC}/namespaces/team/roles`, role)).status).toBe(201);
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/team/rolebindings`,
      roleBinding("b", "Role", "r", [user("alice")]),
    );
    await call("admin", "POST", "/api/v1/namespaces/team/configmaps", { metadata: { name: "settings" } });
    await call("admin", "POST", "/api/v1/namespaces/team/configmaps", { metadata: { name: "other" } });
    expect((await call("alice", "GET", "/api/v1/namespaces/team/configmaps/settings")).status).toBe(200);
    expect((await call("alice", "GET", "/api/v1/namespaces/team/configmaps/other")).status).toBe(403);
    expect((await call("alice", "GET", "/api/v1/namespaces/team/configmaps")).status).toBe(403);
    expect((await call("alice", "GET", "/api/v1/namespaces/team/pods/x")).status).toBe(403);
    // Allowed by RBAC, so the request reaches the handler (404: no such deployment).
    expect((await call("alice", "GET", "/apis/apps/v1/namespaces/team/deployments/d/scale")).status).toBe(
      404,
    );
    expect((await call("alice", "GET", "/apis/apps/v1/namespaces/team/deployments/d")).status).toBe(403);
    expect((await call("alice", "GET", "/apis/apps/v1/namespaces/default/deployments/d/scale")).status).toBe(
      403,
    );
  });

  it("keeps the Node authorizer first and system:masters unconditional", async () => {
    const call = server();
    expect((await call("node", "GET", "/api/v1/namespaces/default/secrets")).status).toBe(403);
    expect((await call("node", "GET", "/api/v1/nodes")).status).toBe(200);
    expect((await call("admin", "GET", "/api/v1/namespaces/default/secrets")).status).toBe(200);
  });

  it("sees RBAC writes made by another isolate once the revision check runs", async () => {
    const store = new MemoryStore();
    let now = 0;
    const other = server({ store });
    const call = server({ store, cache: new RbacCache({ maxAgeMs: 1000, now: () => now }) });
    expect((await call("alice", "GET", "/api/v1/namespaces/default/pods")).status).toBe(403);
    await other(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      roleBinding("v", "ClusterRole", "view", [user("alice")]),
    );
    // Within maxAgeMs the cached snapshot answers (no store read per request)...
    expect((await call("alice", "GET", "/api/v1/namespaces/default/pods")).status).toBe(403);
    now = 1000;
    // ...after it, the shards' revisions are compared and the new binding is loaded.
    expect((await call("alice", "GET", "/api/v1/namespaces/default/pods")).status).toBe(200);
  });
});

describe("default policy", () => {
  it("creates cluster-admin, aggregated admin/edit/view and the discovery roles and bindings at start-up", async () => {
    const call = server();
    const roles = (await call("admin", "GET", `${RBAC}/clusterroles`)).body.items as any[];
    const names = roles.map((r) => r.metadata.name);
    expect(names).toEqual(
      expect.arrayContaining([
        "cluster-admin",
        "admin",
        "edit",
        "view",
        "system:basic-user",
        "system:discovery",
        "system:public-info-viewer",
      ]),
    );
    const view = roles.find((r) => r.metadata.name === "view");
    expect(view.aggregationRule.clusterRoleSelectors[0].matchLabels).toEqual({
      "rbac.authorization.k8s.io/aggregate-to-view": "true",
    });
    expect(view.rules.some((r: any) => r.resources.includes("pods") && r.verbs.includes("list"))).toBe(true);
    const edit = roles.find((r) => r.metadata.name === "edit");
    // edit aggregates view's rules too (view is labelled aggregate-to-edit).
    expect(edit.rules.length).toBeGreaterThan(view.rules.length);
    const bindings = (await call("admin", "GET", `${RBAC}/clusterrolebindings`)).body.items as any[];
    expect(bindings.find((b) => b.metadata.name === "cluster-admin").subjects).toEqual([
      { apiGroup: "rbac.authorization.k8s.io", kind: "Group", name: "system:masters" },
    ]);
  });

  it("answers an invalid Role with 422 listing every field error", async () => {
    const call = server();
    const res = await call("admin", "POST", `${RBAC}/namespaces/default/roles`, {
      metadata: { name: "bad" },
      rules: [
        { verbs: [], apiGroups: [""], resources: ["pods"] },
        { verbs: ["get"] },
        { verbs: ["get"], nonResourceURLs: ["/healthz"] },
      ],
    });
    expect(res.status).toBe(422);
    expect(res.body.reason).toBe("Invalid");
    expect(res.body.details.causes.map((c: any) => c.field)).toEqual([
      "rules[0].verbs",
      "rules[1].apiGroups",
      "rules[1].resources",
      "rules[2].nonResourceURLs",
    ]);
  });
});
