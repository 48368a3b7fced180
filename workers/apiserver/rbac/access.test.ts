import { describe, expect, it } from "vitest";
import { binding, RBAC, rbacServer, user } from "./test-server.ts";

const AUTHZ = "/apis/authorization.k8s.io/v1";
const text = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}
const field = (num: number, bytes: number[] | Uint8Array) => [
  ...varint((num << 3) | 2),
  ...varint(bytes.length),
  ...bytes,
];
const str = (num: number, s: string) => field(num, text.encode(s));
const envelope = (raw: number[]) => new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...field(2, raw)]);
const PROTOBUF = { "Content-Type": "application/vnd.kubernetes.protobuf" };

const ssar = (attributes: object) => ({
  apiVersion: "authorization.k8s.io/v1",
  kind: "SelfSubjectAccessReview",
  spec: { resourceAttributes: attributes },
});

describe("access reviews", () => {
  it("SelfSubjectAccessReview answers for the requester, in JSON and in protobuf (kubectl 1.32+)", async () => {
    const call = rbacServer();
    let res = await call(
      "admin",
      "POST",
      `${AUTHZ}/selfsubjectaccessreviews`,
      ssar({ verb: "create", resource: "pods", namespace: "default" }),
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ kind: "SelfSubjectAccessReview", status: { allowed: true } });
    res = await call(
      "alice",
      "POST",
      `${AUTHZ}/selfsubjectaccessreviews`,
      ssar({ verb: "list", resource: "pods", namespace: "default" }),
    );
    expect(res.body.status).toEqual({ allowed: false });
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("v", "ClusterRole", "view", [user("alice")]),
    );
    const proto = envelope(field(2, field(1, [...str(1, "default"), ...str(2, "list"), ...str(5, "pods")])));
    res = await call("alice", "POST", `${AUTHZ}/selfsubjectaccessreviews`, proto, PROTOBUF);
    expect(res.status).toBe(201);
    expect(res.body.spec.resourceAttributes).toEqual({
      namespace: "default",
      verb: "list",
      resource: "pods",
    });
    expect(res.body.status.allowed).toBe(true);
    res = await call(
      "alice",
      "POST",
      `${AUTHZ}/selfsubjectaccessreviews`,
      ssar({ verb: "delete", resource: "pods", namespace: "default" }),
    );
    expect(res.body.status.allowed).toBe(false);
    res = await call("alice", "POST", `${AUTHZ}/selfsubjectaccessreviews`, {
      spec: { nonResourceAttributes: { path: "/apis/apps", verb: "get" } },
    });
    expect(res.body.status.allowed).toBe(true);
  });

  it("rejects a review without attributes with 422, and refuses other verbs with 405", async () => {
    const call = rbacServer();
    const res = await call("alice", "POST", `${AUTHZ}/selfsubjectaccessreviews`, { spec: {} });
    expect(res.status).toBe(422);
    expect(res.body.details.causes[0].field).toBe("spec.resourceAttributes");
    const sar = await call("admin", "POST", `${AUTHZ}/subjectaccessreviews`, {
      spec: { resourceAttributes: { verb: "get", resource: "pods" } },
    });
    expect(sar.status).toBe(422);
    expect(sar.body.details.causes.map((c: { field: string }) => c.field)).toEqual(["spec.user"]);
    expect((await call("admin", "GET", `${AUTHZ}/selfsubjectaccessreviews`)).status).toBe(405);
  });

  it("answers malformed review bodies and impersonation headers with a 4xx Status or a plain answer, never a 5xx", async () => {
    const call = rbacServer();
    const bodies: unknown[] = [
      { spec: "x" },
      { spec: { resourceAttributes: 5 } },
      { spec: { resourceAttributes: { verb: 7, resource: ["pods"] } } },
      { spec: { nonResourceAttributes: { path: null } } },
      { spec: { resourceAttributes: {}, nonResourceAttributes: {} } },
      { spec: { user: {}, groups: "g", resourceAttributes: { verb: "get" } } },
      [],
    ];
    for (const path of [
      "selfsubjectaccessreviews",
      "subjectaccessreviews",
      "selfsubjectrulesreviews",
      "namespaces/default/localsubjectaccessreviews",
    ])
      for (const body of bodies) {
        const res = await call("admin", "POST", `${AUTHZ}/${path}`, body);
        expect(res.status, `${path} ${JSON.stringify(body)}`).toBeLessThan(500);
      }
    const cases: Record<string, string>[] = [
      { "Impersonate-User": "system:serviceaccount:" },
      { "Impersonate-User": "bob", "Impersonate-Extra-%zz": "v" },
      { "Impersonate-Uid": "1" },
    ];
    for (const headers of cases) {
      const res = await call("admin", "GET", "/api/v1/namespaces/default/pods", undefined, headers);
      expect(res.status, JSON.stringify(headers)).toBe(400);
      expect(res.body.kind).toBe("Status");
    }
  });

  it("SubjectAccessReview asks about another user; only those allowed to create it may", async () => {
    const call = rbacServer();
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("v", "ClusterRole", "view", [user("alice")]),
    );
    const spec = {
      user: "alice",
      groups: ["system:authenticated"],
      resourceAttributes: { verb: "get", resource: "pods", namespace: "default" },
    };
    let res = await call("admin", "POST", `${AUTHZ}/subjectaccessreviews`, { spec });
    expect(res.body.status.allowed).toBe(true);
    res = await call("admin", "POST", `${AUTHZ}/subjectaccessreviews`, { spec: { ...spec, user: "bob" } });
    expect(res.body.status.allowed).toBe(false);
    res = await call("alice", "POST", `${AUTHZ}/subjectaccessreviews`, { spec });
    expect(res.status).toBe(403);
  });

  it("LocalSubjectAccessReview asks within the URL's namespace; a namespace admin may send it there only", async () => {
    const call = rbacServer();
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("a", "ClusterRole", "admin", [user("ada")]),
    );
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("v", "ClusterRole", "view", [user("alice")]),
    );
    const spec = {
      user: "alice",
      groups: ["system:authenticated"],
      resourceAttributes: { verb: "list", resource: "pods" },
    };
    let res = await call("ada", "POST", `${AUTHZ}/namespaces/default/localsubjectaccessreviews`, { spec });
    expect(res.status).toBe(201);
    expect(res.body.status.allowed).toBe(true);
    expect(res.body.spec.resourceAttributes.namespace).toBe("default");
    res = await call("ada", "POST", `${AUTHZ}/namespaces/default/localsubjectaccessreviews`, {
      spec: { ...spec, resourceAttributes: { ...spec.resourceAttributes, namespace: "kube-system" } },
    });
    expect(res.status).toBe(400);
    res = await call("ada", "POST", `${AUTHZ}/namespaces/kube-system/localsubjectaccessreviews`, { spec });
    expect(res.status).toBe(403);
  });

  it("SelfSubjectRulesReview lists the rules that apply in a namespace", async () => {
    const call = rbacServer();
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("v", "ClusterRole", "view", [user("alice")]),
    );
    const proto = envelope(field(2, str(1, "default")));
    const res = await call("alice", "POST", `${AUTHZ}/selfsubjectrulesreviews`, proto, PROTOBUF);
    expect(res.status).toBe(201);
    expect(res.body.status.incomplete).toBe(false);
    const rules = res.body.status.resourceRules as { verbs: string[]; resources: string[] }[];
    expect(rules).toContainEqual({
      verbs: ["create"],
      apiGroups: ["authorization.k8s.io"],
      resources: ["selfsubjectaccessreviews", "selfsubjectrulesreviews"],
    });
    expect(rules.some((r) => r.resources.includes("pods") && r.verbs.includes("list"))).toBe(true);
    expect(rules.some((r) => r.verbs.includes("delete"))).toBe(false);
    expect(res.body.status.nonResourceRules).toContainEqual({
      verbs: ["get"],
      nonResourceURLs: expect.arrayContaining(["/api", "/apis/*"]),
    });
    const other = await call("alice", "POST", `${AUTHZ}/selfsubjectrulesreviews`, {
      spec: { namespace: "kube-system" },
    });
    expect(
      (other.body.status.resourceRules as { resources: string[] }[]).some((r) =>
        r.resources.includes("pods"),
      ),
    ).toBe(false);
  });

  it("SelfSubjectReview says who the requester is (protobuf body)", async () => {
    const call = rbacServer();
    const res = await call(
      "alice",
      "POST",
      "/apis/authentication.k8s.io/v1/selfsubjectreviews",
      envelope([]),
      PROTOBUF,
    );
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      apiVersion: "authentication.k8s.io/v1",
      kind: "SelfSubjectReview",
      status: { userInfo: { username: "alice", groups: ["system:authenticated"] } },
    });
  });
});

describe("escalation prevention", () => {
  it("a namespace admin may bind view but not cluster-admin, nor write a role with rules it lacks, unless granted bind/escalate", async () => {
    const call = rbacServer();
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("ada-admin", "ClusterRole", "admin", [user("ada")]),
    );
    let res = await call(
      "ada",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("alice-view", "ClusterRole", "view", [user("alice")]),
    );
    expect(res.status).toBe(201);
    res = await call(
      "ada",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("alice-root", "ClusterRole", "cluster-admin", [user("alice")]),
    );
    expect(res.status).toBe(403);
    expect(res.body.reason).toBe("Forbidden");
    expect(res.body.message).toBe(
      'rolebindings.rbac.authorization.k8s.io "alice-root" is forbidden: user "ada" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held:\n' +
        '{APIGroups:["*"], Resources:["*"], Verbs:["*"]}\n{NonResourceURLs:["*"], Verbs:["*"]}',
    );
    const role = {
      metadata: { name: "nodes" },
      rules: [{ verbs: ["get"], apiGroups: [""], resources: ["nodes", "pods"] }],
    };
    res = await call("ada", "POST", `${RBAC}/namespaces/default/roles`, role);
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('{APIGroups:[""], Resources:["nodes"], Verbs:["get"]}');
    expect(res.body.message).not.toContain('"pods"');
    // bind on cluster-admin and escalate on roles lift each check.
    await call("admin", "POST", `${RBAC}/clusterroles`, {
      metadata: { name: "binder" },
      rules: [
        {
          verbs: ["bind"],
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["clusterroles"],
          resourceNames: ["cluster-admin", "future"],
        },
        { verbs: ["escalate"], apiGroups: ["rbac.authorization.k8s.io"], resources: ["roles"] },
      ],
    });
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("ada-binder", "ClusterRole", "binder", [user("ada")]),
    );
    res = await call(
      "ada",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("alice-root", "ClusterRole", "cluster-admin", [user("alice")]),
    );
    expect(res.status).toBe(201);
    expect((await call("ada", "POST", `${RBAC}/namespaces/default/roles`, role)).status).toBe(201);
    // With bind, a binding may name a role that does not exist yet; without it, the missing role is 404.
    res = await call(
      "ada",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("f", "ClusterRole", "future", [user("alice")]),
    );
    expect(res.status).toBe(201);
    res = await call(
      "ada",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("g", "ClusterRole", "missing", [user("alice")]),
    );
    expect(res.status).toBe(404);
  });

  it("relabelling a role so an aggregated role picks it up is an escalation too", async () => {
    const call = rbacServer();
    await call("admin", "POST", `${RBAC}/clusterroles`, {
      metadata: { name: "role-editor" },
      rules: [
        {
          verbs: ["get", "update", "patch"],
          apiGroups: ["rbac.authorization.k8s.io"],
          resources: ["clusterroles"],
        },
      ],
    });
    await call(
      "admin",
      "POST",
      `${RBAC}/clusterrolebindings`,
      binding("ed", "ClusterRole", "role-editor", [user("alice")], "ClusterRoleBinding"),
    );
    await call("admin", "POST", `${RBAC}/clusterroles`, {
      metadata: { name: "powerful" },
      rules: [{ verbs: ["delete"], apiGroups: [""], resources: ["nodes"] }],
    });
    const patch = (labels: Record<string, string>) =>
      call(
        "alice",
        "PATCH",
        `${RBAC}/clusterroles/powerful`,
        { metadata: { labels } },
        {
          "Content-Type": "application/merge-patch+json",
        },
      );
    const res = await patch({ "rbac.authorization.k8s.io/aggregate-to-view": "true" });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('{APIGroups:[""], Resources:["nodes"], Verbs:["delete"]}');
    // An annotation grants nothing: allowed.
    const annotated = await call(
      "alice",
      "PATCH",
      `${RBAC}/clusterroles/powerful`,
      { metadata: { annotations: { note: "x" } } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(annotated.status).toBe(200);
  });

  it("a user with only edit cannot bind cluster-admin (it may not write bindings at all)", async () => {
    const call = rbacServer();
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("alice-edit", "ClusterRole", "edit", [user("alice")]),
    );
    const res = await call(
      "alice",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("x", "ClusterRole", "cluster-admin", [user("alice")]),
    );
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'rolebindings.rbac.authorization.k8s.io is forbidden: User "alice" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io" in the namespace "default"',
    );
  });
});

describe("impersonation", () => {
  it("needs the impersonate verb; --as and --as-group then act as that identity", async () => {
    const call = rbacServer();
    let res = await call("alice", "GET", "/api/v1/namespaces/default/pods", undefined, {
      "Impersonate-User": "bob",
    });
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'users "bob" is forbidden: User "alice" cannot impersonate resource "users" in API group "" at the cluster scope',
    );
    res = await call("admin", "GET", "/api/v1/namespaces/default/pods", undefined, {
      "Impersonate-User": "bob",
    });
    expect(res.status).toBe(403);
    expect(res.body.message).toContain('User "bob" cannot list resource "pods"');
    const whoami = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    res = await call(
      "admin",
      "POST",
      whoami,
      {},
      { "Impersonate-User": "bob", "Impersonate-Group": "dev", "Impersonate-Extra-Scopes": "a" },
    );
    expect(res.body.status.userInfo).toEqual({
      username: "bob",
      groups: ["dev", "system:authenticated"],
      extra: { scopes: ["a"] },
    });
    res = await call("admin", "POST", whoami, {}, { "Impersonate-User": "system:serviceaccount:ns1:bot" });
    expect(res.body.status.userInfo.groups).toEqual([
      "system:serviceaccounts",
      "system:serviceaccounts:ns1",
      "system:authenticated",
    ]);
    res = await call("admin", "GET", "/api/v1/namespaces/default/pods", undefined, {
      "Impersonate-Group": "dev",
    });
    expect(res.status).toBe(400);
  });

  it("a namespace editor may impersonate its service accounts only (edit grants impersonate on serviceaccounts)", async () => {
    const call = rbacServer();
    await call(
      "admin",
      "POST",
      `${RBAC}/namespaces/default/rolebindings`,
      binding("alice-edit", "ClusterRole", "edit", [user("alice")]),
    );
    const whoami = "/apis/authentication.k8s.io/v1/selfsubjectreviews";
    let res = await call(
      "alice",
      "POST",
      whoami,
      {},
      { "Impersonate-User": "system:serviceaccount:default:bot" },
    );
    expect(res.status).toBe(201);
    res = await call(
      "alice",
      "POST",
      whoami,
      {},
      { "Impersonate-User": "system:serviceaccount:kube-system:bot" },
    );
    expect(res.status).toBe(403);
    expect(res.body.message).toBe(
      'serviceaccounts "bot" is forbidden: User "alice" cannot impersonate resource "serviceaccounts" in API group "" in the namespace "kube-system"',
    );
  });
});
