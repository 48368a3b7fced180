/**
 * RBAC end to end with real kubectl (1.33: protobuf review bodies) against the
 * real Worker under workerd: `auth can-i` (admin yes), `auth can-i --list`,
 * `auth whoami`; impersonation with --as / --as-group: an unbound user is
 * forbidden, a RoleBinding to `view` lets it list pods but not delete them, a
 * user with only `edit` cannot bind cluster-admin, a namespace admin is
 * refused the escalation; and an aggregated ClusterRole picks up a new
 * labelled role through the aggregation controller.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

const k = (args: string[], input?: string) => cp.kubectl(args, { version: "1.33", input });
async function ok(args: string[], input?: string): Promise<string> {
  const r = await k(args, input);
  expect(r.code, `kubectl ${args.join(" ")}\n${r.stderr}`).toBe(0);
  return r.stdout;
}

describe("RBAC with real kubectl", () => {
  it("can-i, can-i --list and whoami for the admin", async () => {
    expect((await ok(["auth", "can-i", "create", "pods"])).trim()).toBe("yes");
    expect((await ok(["auth", "can-i", "delete", "nodes"])).trim()).toBe("yes");
    // kubectl 1.27 sends the review as JSON.
    const old = await cp.kubectl(["auth", "can-i", "create", "pods", "--as=nobody"], { version: "1.27" });
    expect([old.code, old.stdout.trim()]).toEqual([1, "no"]);
    const list = await ok(["auth", "can-i", "--list", "-n", "default"]);
    expect(list).toMatch(/^Resources\s+Non-Resource URLs\s+Resource Names\s+Verbs/m);
    expect(list).toMatch(/^\*\.\*\s+\[\]\s+\[\]\s+\[\*\]/m);
    const whoami = await ok(["auth", "whoami"]);
    expect(whoami).toMatch(/Username\s+system:admin/);
    expect(whoami).toMatch(/Groups\s+\[system:masters system:authenticated\]/);
  });

  it("impersonation: an unbound user is forbidden; view lets it list pods but not delete them", async () => {
    await ok(["create", "namespace", "rbac-a"]);
    await ok(["-n", "rbac-a", "create", "configmap", "cfg", "--from-literal=a=b"]);
    const who = await ok(["auth", "whoami", "--as=bob", "--as-group=dev"]);
    expect(who).toMatch(/Username\s+bob/);
    expect(who).toMatch(/Groups\s+\[dev system:authenticated\]/);
    let r = await k(["-n", "rbac-a", "get", "pods", "--as=bob"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'Error from server (Forbidden): pods is forbidden: User "bob" cannot list resource "pods" in API group "" in the namespace "rbac-a"',
    );
    r = await k(["-n", "rbac-a", "auth", "can-i", "list", "pods", "--as=bob"]);
    expect(r.code).toBe(1);
    expect(r.stdout.trim()).toBe("no");
    await ok(["-n", "rbac-a", "create", "rolebinding", "bob-view", "--clusterrole=view", "--user=bob"]);
    // The root-CA publisher's kube-root-ca.crt may be there too, as in any namespace.
    expect((await ok(["-n", "rbac-a", "get", "configmaps", "--as=bob", "-o", "name"])).split("\n")).toContain(
      "configmap/cfg",
    );
    expect((await ok(["-n", "rbac-a", "get", "pods", "--as=bob"])).trim()).toBe("");
    expect((await ok(["-n", "rbac-a", "auth", "can-i", "list", "pods", "--as=bob"])).trim()).toBe("yes");
    r = await k(["-n", "rbac-a", "delete", "configmap", "cfg", "--as=bob"]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'User "bob" cannot delete resource "configmaps" in API group "" in the namespace "rbac-a"',
    );
    const rules = await ok(["-n", "rbac-a", "auth", "can-i", "--list", "--as=bob"]);
    expect(rules).toMatch(/^pods\s+\[\]\s+\[\]\s+\[get list watch\]/m);
    // Still nothing in other namespaces.
    expect((await k(["-n", "default", "get", "pods", "--as=bob"])).code).toBe(1);
    // A service account identity gets its groups from its name.
    expect(await ok(["auth", "whoami", "--as=system:serviceaccount:rbac-a:bot"])).toMatch(
      /Groups\s+\[system:serviceaccounts system:serviceaccounts:rbac-a system:authenticated\]/,
    );
  });

  it("a user with only edit cannot bind cluster-admin; a namespace admin is refused the escalation", async () => {
    await ok(["create", "namespace", "rbac-b"]);
    await ok(["-n", "rbac-b", "create", "rolebinding", "eve-edit", "--clusterrole=edit", "--user=eve"]);
    let r = await k([
      "-n",
      "rbac-b",
      "create",
      "rolebinding",
      "eve-root",
      "--clusterrole=cluster-admin",
      "--user=eve",
      "--as=eve",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'User "eve" cannot create resource "rolebindings" in API group "rbac.authorization.k8s.io"',
    );
    await ok(["-n", "rbac-b", "create", "rolebinding", "ann-admin", "--clusterrole=admin", "--user=ann"]);
    r = await k([
      "-n",
      "rbac-b",
      "create",
      "rolebinding",
      "ann-root",
      "--clusterrole=cluster-admin",
      "--user=ann",
      "--as=ann",
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(
      'rolebindings.rbac.authorization.k8s.io "ann-root" is forbidden: user "ann" (groups=["system:authenticated"]) is attempting to grant RBAC permissions not currently held',
    );
    await ok([
      "-n",
      "rbac-b",
      "create",
      "rolebinding",
      "eve-view",
      "--clusterrole=view",
      "--user=eve",
      "--as=ann",
    ]);
  });

  it("an aggregated ClusterRole picks up a new labelled ClusterRole", async () => {
    const label = "rbac.example.com/aggregate-to-monitoring";
    await ok(
      ["apply", "-f", "-"],
      `apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata: {name: monitoring}
aggregationRule:
  clusterRoleSelectors:
  - matchLabels: {${label}: "true"}
rules: []
`,
    );
    const watch = cp.kubectlStream(
      ["get", "clusterrole", "monitoring", "-w", "-o", 'jsonpath={.rules}{"\\n"}'],
      {
        version: "1.33",
      },
    );
    try {
      await ok(["create", "clusterrole", "monitoring-endpoints", "--verb=get,list", "--resource=endpoints"]);
      await ok(["label", "clusterrole", "monitoring-endpoints", `${label}=true`]);
      await watch.waitFor(/"resources":\["endpoints"\]/, 30_000);
    } finally {
      await watch.stop();
    }
    // The aggregated role grants what it picked up.
    await ok(["create", "clusterrolebinding", "mon", "--clusterrole=monitoring", "--user=mona"]);
    expect((await ok(["auth", "can-i", "list", "endpoints", "--as=mona", "-A"])).trim()).toBe("yes");
  });
});
