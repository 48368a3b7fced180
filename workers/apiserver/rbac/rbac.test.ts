import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { RbacCache } from "./cache.ts";
import { binding, type Json, RBAC, rbacServer as server, user } from "./test-server.ts";

const roleBinding = (name: string, kind: string, role: string, subjects: object[]) =>
  binding(name, kind, role, subjects);

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

  it("a WebSocket GET on pods/exec also needs create (kube 1.35)", async () => {
    const call = server();
    const role = (verbs: string[]) => ({
      metadata: { name: "execer" },
      rules: [{ verbs, apiGroups: [""], resources: ["pods/exec"] }],
    });
    await call("admin", "POST", `${RBAC}/namespaces/default/roles`, role(["get"]));
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      roleBinding("e", "Role", "execer", [user("alice")]),
    );
    const res = await call("alice", "GET", "/api/v1/namespaces/default/pods/web/exec?command=sh");
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'pods "web" is forbidden: User "alice" cannot get resource "pods/exec" in API group "" in the namespace "default": exec needs the create verb on pods/exec',
    );
    await call("admin", "PUT", `${RBAC}/namespaces/default/roles/execer`, role(["get", "create"]));
    // Authorized: the handler answers (404, no such pod).
    expect((await call("alice", "GET", "/api/v1/namespaces/default/pods/web/exec?command=sh")).status).toBe(
      404,
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
    const roles = (await call("admin", "GET", `${RBAC}/clusterroles`)).body.items as Json[];
    const named = (name: string) => roles.find((r) => r.metadata.name === name) as Json;
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
    const view = named("view");
    expect(view.aggregationRule.clusterRoleSelectors[0].matchLabels).toEqual({
      "rbac.authorization.k8s.io/aggregate-to-view": "true",
    });
    expect(view.rules.some((r: Json) => r.resources.includes("pods") && r.verbs.includes("list"))).toBe(true);
    const edit = named("edit");
    // edit aggregates view's rules too (view is labelled aggregate-to-edit).
    expect(edit.rules.length).toBeGreaterThan(view.rules.length);
    const bindings = (await call("admin", "GET", `${RBAC}/clusterrolebindings`)).body.items as Json[];
    expect((bindings.find((b) => b.metadata.name === "cluster-admin") as Json).subjects).toEqual([
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
    expect(res.body.details.causes.map((c: Json) => c.field)).toEqual([
      "rules[0].verbs",
      "rules[1].apiGroups",
      "rules[1].resources",
      "rules[2].nonResourceURLs",
    ]);
  });
});
