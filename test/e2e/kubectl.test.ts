/**
 * Real kubectl (the oldest and newest we support) against the real Worker
 * under workerd: discovery, tables, apply (client- and server-side), patch,
 * scale, watch, delete, namespaces, conflicts, validation and auth.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, type KubectlVersion, startControlPlane } from "./harness.ts";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

function deployment(ns: string, name: string, image: string, replicas = 2): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
  namespace: ${ns}
  labels: {app: ${name}}
spec:
  replicas: ${replicas}
  selector: {matchLabels: {app: ${name}}}
  template:
    metadata: {labels: {app: ${name}}}
    spec:
      containers:
      - name: c
        image: ${image}
        ports: [{containerPort: 80}]
`;
}

describe.each(["1.27", "1.33"] as KubectlVersion[])("kubectl %s", (version) => {
  const ns = `e2e-${version.replace(".", "-")}`;
  const k = async (args: string[], input?: string) => {
    const result = await cp.kubectl(args, { version, input });
    return result;
  };
  const ok = async (args: string[], input?: string) => {
    const result = await k(args, input);
    expect(result.code, `kubectl ${args.join(" ")}\n${result.stderr}`).toBe(0);
    return result.stdout;
  };

  it("discovers resources with short names and subresources (api-resources)", async () => {
    const out = await ok(["api-resources"]);
    expect(out).toMatch(/^pods\s+po\s+v1\s+true\s+Pod$/m);
    expect(out).toMatch(/^deployments\s+deploy\s+apps\/v1\s+true\s+Deployment$/m);
    expect(out).toMatch(/^namespaces\s+ns\s+v1\s+false\s+Namespace$/m);
  });

  it("explains fields from the OpenAPI documents and validates fields strictly", async () => {
    const explained = await ok(["explain", "deployment.spec"]);
    expect(explained).toContain("DeploymentSpec");
    expect(explained).toMatch(/replicas\s+<integer>/);
    const unknown = await k(
      ["apply", "-f", "-"],
      deployment("default", "strict", "nginx").replace("  replicas:", "  bogus: 1\n  replicas:"),
    );
    expect(unknown.code).not.toBe(0);
    expect(unknown.stderr).toContain('unknown field "spec.bogus"');
  });

  it("creates a namespace, a configmap from literals and a generic secret", async () => {
    await ok(["create", "namespace", ns]);
    await ok([
      "-n",
      ns,
      "create",
      "configmap",
      "settings",
      "--from-literal=color=blue",
      "--from-literal=size=2",
    ]);
    await ok(["-n", ns, "create", "secret", "generic", "creds", "--from-literal=password=s3cr3t"]);
    const cm = JSON.parse(await ok(["-n", ns, "get", "configmap", "settings", "-o", "json"]));
    expect(cm.data).toEqual({ color: "blue", size: "2" });
    const secret = JSON.parse(await ok(["-n", ns, "get", "secret", "creds", "-o", "json"]));
    expect(Buffer.from(secret.data.password, "base64").toString()).toBe("s3cr3t");
    expect(await ok(["get", "ns"])).toMatch(new RegExp(`^${ns}\\s+Active`, "m"));
  });

  it("creates with the typed create subcommands (protobuf bodies on 1.32+)", async () => {
    await ok(["-n", ns, "create", "deployment", "made", "--image=nginx:1", "--replicas=3", "--port=8080"]);
    const dep = JSON.parse(await ok(["-n", ns, "get", "deploy", "made", "-o", "json"]));
    expect(dep.spec.replicas).toBe(3);
    expect(dep.spec.selector).toEqual({ matchLabels: { app: "made" } });
    expect(dep.spec.template.metadata.labels).toEqual({ app: "made" });
    expect(dep.spec.template.spec.containers[0]).toMatchObject({
      name: "nginx",
      image: "nginx:1",
      ports: [{ containerPort: 8080, protocol: "TCP" }],
    });
    await ok(["-n", ns, "expose", "deployment", "made", "--port=80", "--target-port=8080"]);
    const svc = JSON.parse(await ok(["-n", ns, "get", "service", "made", "-o", "json"]));
    expect(svc.spec.ports[0]).toMatchObject({ port: 80, targetPort: 8080, protocol: "TCP" });
    expect(svc.spec.selector).toEqual({ app: "made" });
    await ok(["-n", ns, "create", "job", "once", "--image=busybox", "--", "sleep", "1"]);
    expect(
      await ok([
        "-n",
        ns,
        "get",
        "job",
        "once",
        "-o",
        "jsonpath={.spec.template.spec.containers[0].command}",
      ]),
    ).toBe('["sleep","1"]');
    await ok(["-n", ns, "create", "serviceaccount", "robot"]);
    await ok(["-n", ns, "create", "role", "reader", "--verb=get", "--verb=list", "--resource=pods"]);
    await ok(["-n", ns, "create", "rolebinding", "reader", "--role=reader", `--serviceaccount=${ns}:robot`]);
    const rb = JSON.parse(await ok(["-n", ns, "get", "rolebinding", "reader", "-o", "json"]));
    expect(rb.roleRef).toEqual({ apiGroup: "rbac.authorization.k8s.io", kind: "Role", name: "reader" });
    expect(rb.subjects).toEqual([{ kind: "ServiceAccount", name: "robot", namespace: ns }]);
    await ok(["-n", ns, "create", "cronjob", "tick", "--image=busybox", "--schedule=*/5 * * * *"]);
    expect(await ok(["-n", ns, "get", "cronjob", "tick", "-o", "jsonpath={.spec.schedule}"])).toBe(
      "*/5 * * * *",
    );
  });

  it("applies a deployment, then re-applies a change (client-side apply)", async () => {
    expect(await ok(["apply", "-f", "-"], deployment(ns, "web", "nginx:1"))).toContain(
      "deployment.apps/web created",
    );
    expect(await ok(["apply", "-f", "-"], deployment(ns, "web", "nginx:2", 3))).toContain(
      "deployment.apps/web configured",
    );
    const out = await ok([
      "-n",
      ns,
      "get",
      "deploy",
      "web",
      "-o",
      "jsonpath={.spec.replicas} {.spec.template.spec.containers[0].image}",
    ]);
    expect(out).toBe("3 nginx:2");
    const yaml = await ok(["-n", ns, "get", "deploy", "web", "-o", "yaml"]);
    expect(yaml).toContain("kubectl.kubernetes.io/last-applied-configuration");
    expect(yaml).toMatch(/generation: 2/);
  });

  it("server-side applies with field managers and reports conflicts", async () => {
    expect(await ok(["apply", "--server-side", "-f", "-"], deployment(ns, "ssa", "nginx:1"))).toContain(
      "serverside-applied",
    );
    const conflict = await k(
      ["apply", "--server-side", "--field-manager=other", "-f", "-"],
      deployment(ns, "ssa", "nginx:2"),
    );
    expect(conflict.code).not.toBe(0);
    expect(conflict.stderr).toContain('conflict with "kubectl"');
    expect(conflict.stderr).toContain('.spec.template.spec.containers[name="c"].image');
    await ok(
      ["apply", "--server-side", "--field-manager=other", "--force-conflicts", "-f", "-"],
      deployment(ns, "ssa", "nginx:2"),
    );
    const managed = JSON.parse(
      await ok(["-n", ns, "get", "deploy", "ssa", "-o", "json", "--show-managed-fields"]),
    );
    const managers = managed.metadata.managedFields.map(
      (m: { manager: string; operation: string }) => `${m.manager}/${m.operation}`,
    );
    expect(managers).toEqual(expect.arrayContaining(["kubectl/Apply", "other/Apply"]));
    expect(managed.spec.template.spec.containers[0].image).toBe("nginx:2");
  });

  it("prints tables: -o wide, -A, --show-labels, -l and --field-selector", async () => {
    const wide = await ok(["-n", ns, "get", "deploy", "-o", "wide"]);
    expect(wide.split("\n")[0]).toMatch(
      /^NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/,
    );
    expect(wide).toMatch(/^web\s+.*nginx:2\s+app=web$/m);
    const all = await ok(["get", "deploy", "-A", "--show-labels"]);
    expect(all.split("\n")[0]).toMatch(/^NAMESPACE\s+NAME\s+.*LABELS$/);
    expect(all).toMatch(new RegExp(`^${ns}\\s+web\\s+.*app=web$`, "m"));
    const selected = await ok(["-n", ns, "get", "deploy", "-l", "app in (ssa)", "-o", "name"]);
    expect(selected.trim()).toBe("deployment.apps/ssa");
    const byField = await ok([
      "-n",
      ns,
      "get",
      "deploy",
      "--field-selector",
      "metadata.name!=web,metadata.name!=made",
      "-o",
      "name",
    ]);
    expect(byField.trim()).toBe("deployment.apps/ssa");
  });

  it("labels, annotates and describes", async () => {
    await ok(["-n", ns, "label", "configmap", "settings", "tier=backend"]);
    await ok(["-n", ns, "annotate", "configmap", "settings", "owner=team-a"]);
    const described = await ok(["-n", ns, "describe", "configmap", "settings"]);
    expect(described).toMatch(/Labels:\s+tier=backend/);
    expect(described).toMatch(/Annotations:\s+owner: team-a/);
    const dep = await ok(["-n", ns, "describe", "deployment", "web"]);
    expect(dep).toMatch(/Replicas:\s+3 desired/);
  });

  it("patches with json, merge and strategic types, and scales", async () => {
    await ok([
      "-n",
      ns,
      "patch",
      "deploy",
      "web",
      "--type=merge",
      "-p",
      '{"metadata":{"labels":{"patched":"merge"}}}',
    ]);
    await ok([
      "-n",
      ns,
      "patch",
      "deploy",
      "web",
      "--type=json",
      "-p",
      '[{"op":"add","path":"/metadata/labels/json","value":"yes"}]',
    ]);
    await ok([
      "-n",
      ns,
      "patch",
      "deploy",
      "web",
      "--type=strategic",
      "-p",
      '{"spec":{"template":{"spec":{"containers":[{"name":"side","image":"busybox"}]}}}}',
    ]);
    const after = JSON.parse(await ok(["-n", ns, "get", "deploy", "web", "-o", "json"]));
    expect(after.metadata.labels).toMatchObject({ patched: "merge", json: "yes" });
    // Strategic merge added a container by name instead of replacing the list.
    expect(after.spec.template.spec.containers.map((c: { name: string }) => c.name)).toEqual(["c", "side"]);
    await ok(["-n", ns, "scale", "deploy", "web", "--replicas=5"]);
    expect(await ok(["-n", ns, "get", "deploy", "web", "-o", "jsonpath={.spec.replicas}"])).toBe("5");
  });

  it("watches changes with get -w", async () => {
    const watch = cp.kubectlStream(["-n", ns, "get", "configmap", "-w", "--output-watch-events"], {
      version,
    });
    try {
      await watch.waitFor(/ADDED\s+settings/);
      await ok(["-n", ns, "create", "configmap", "watched", "--from-literal=a=b"]);
      await watch.waitFor(/ADDED\s+watched/);
      await ok(["-n", ns, "label", "configmap", "watched", "x=y"]);
      await watch.waitFor(/MODIFIED\s+watched/);
      await ok(["-n", ns, "delete", "configmap", "watched"]);
      await watch.waitFor(/DELETED\s+watched/);
    } finally {
      await watch.stop();
    }
  });

  it("fails a stale replace with Conflict", async () => {
    const stale = await ok(["-n", ns, "get", "configmap", "settings", "-o", "json"]);
    await ok(["-n", ns, "label", "configmap", "settings", "bump=1"]);
    const replaced = await k(["replace", "-f", "-"], stale);
    expect(replaced.code).not.toBe(0);
    expect(replaced.stderr).toContain("Conflict");
    expect(replaced.stderr).toContain("the object has been modified");
  });

  it("rejects an invalid object listing every field error", async () => {
    const bad = `apiVersion: apps/v1
kind: Deployment
metadata: {name: Bad_Name, namespace: ${ns}, labels: {"bad key": x}}
spec:
  replicas: -1
  selector: {matchLabels: {app: a}}
  template:
    metadata: {labels: {app: a}}
    spec:
      containers: [{name: c}]
`;
    const result = await k(["apply", "-f", "-"], bad);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain("is invalid");
    for (const field of [
      "metadata.name",
      "metadata.labels",
      "spec.replicas",
      "spec.template.spec.containers[0].image",
    ])
      expect(result.stderr).toContain(field);
  });

  it("deletes with --wait, and deleting a namespace empties it", async () => {
    expect(await ok(["-n", ns, "delete", "deploy", "ssa", "--wait"])).toContain(
      'deployment.apps "ssa" deleted',
    );
    expect((await k(["-n", ns, "get", "deploy", "ssa"])).stderr).toContain("NotFound");
    await ok(["delete", "namespace", ns, "--wait"]);
    expect((await k(["get", "namespace", ns])).stderr).toContain("NotFound");
    const cms = await cp.fetch(`/api/v1/namespaces/${ns}/configmaps`);
    expect(((await cms.json()) as { items: unknown[] }).items).toEqual([]);
  });

  it("fails with 401 Unauthorized for a wrong token", async () => {
    const result = await k(["--token", "wrong-token", "get", "namespaces"]);
    expect(result.code).not.toBe(0);
    expect(result.stderr).toMatch(/Unauthorized|provide credentials/);
  });
});
