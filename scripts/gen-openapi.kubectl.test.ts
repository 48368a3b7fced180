/**
 * The generated OpenAPI as real kubectl uses it, against the real Worker
 * under workerd (test/e2e/harness.ts): `kubectl explain` (1.27 and 1.33),
 * and server-side field validation, which kubectl only turns on when the
 * v3 document advertises it (a PATCH with the kind's GVK and a
 * fieldValidation parameter); client-side apply, which computes its
 * strategic merge patch from the documents' patch merge keys; and the
 * kinds' table columns as kubectl prints them.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "../test/e2e/harness.ts";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: typo
spec:
  selector:
    matchLabels: {app: typo}
  template:
    metadata:
      labels: {app: typo}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        imagePullPolicyy: Always
`;

describe("kubectl and the OpenAPI v3 documents", () => {
  for (const version of ["1.27", "1.33"] as const) {
    it(`kubectl ${version} explains deployment.spec and nested fields`, async () => {
      const spec = await cp.kubectl(["explain", "deployment.spec"], { version });
      expect(spec.stderr).toBe("");
      expect(spec.code).toBe(0);
      expect(spec.stdout).toMatch(/GROUP:\s+apps/);
      expect(spec.stdout).toMatch(/FIELD:\s+spec <DeploymentSpec>/);
      expect(spec.stdout).toMatch(/replicas\s+<integer>/);
      expect(spec.stdout).toMatch(/template\s+<PodTemplateSpec> -required-/);
      expect(spec.stdout).toContain("Number of desired pods");
      const ports = await cp.kubectl(["explain", "pods.spec.containers.ports.containerPort"], { version });
      expect(ports.code, ports.stderr).toBe(0);
      expect(ports.stdout).toMatch(/FIELD:\s+containerPort <integer>/);
      const svc = await cp.kubectl(["explain", "svc.spec.ports.targetPort"], { version });
      expect(svc.code, svc.stderr).toBe(0);
      expect(svc.stdout).toMatch(/targetPort <IntOrString>/);
    });
  }

  it("kubectl sends fieldValidation=Strict and the server names the unknown field", async () => {
    for (const version of ["1.27", "1.33"] as const) {
      const strict = await cp.kubectl(["create", "-f", "-"], { version, input: DEPLOYMENT });
      expect(strict.code, version).not.toBe(0);
      expect(strict.stderr).toContain('unknown field "spec.template.spec.containers[0].imagePullPolicyy"');
    }
    const ignored = await cp.kubectl(["create", "-f", "-", "--validate=false"], {
      version: "1.33",
      input: DEPLOYMENT,
    });
    expect(ignored.code, ignored.stderr).toBe(0);
    const stored = await cp.kubectl([
      "get",
      "deployment",
      "typo",
      "-o",
      "jsonpath={.spec.template.spec.containers[0]}",
    ]);
    expect(stored.stdout).not.toContain("imagePullPolicyy");
  });
});

const APPLY_V1 = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: applied
spec:
  selector:
    matchLabels: {app: applied}
  template:
    metadata:
      labels: {app: applied}
    spec:
      containers:
      - name: app
        image: nginx:1.25
        env:
        - {name: KEEP, value: "1"}
        - {name: DROP, value: "2"}
`;

describe("client-side apply with the documents' patch merge keys", () => {
  it("removes a list item that disappeared from the applied file", async () => {
    const first = await cp.kubectl(["apply", "-f", "-"], { version: "1.33", input: APPLY_V1 });
    expect(first.code, first.stderr).toBe(0);
    const second = await cp.kubectl(["apply", "-f", "-"], {
      version: "1.33",
      input: APPLY_V1.replace('        - {name: DROP, value: "2"}\n', "").replace("nginx:1.25", "nginx:1.26"),
    });
    expect(second.code, second.stderr).toBe(0);
    const env = await cp.kubectl([
      "get",
      "deploy",
      "applied",
      "-o",
      "jsonpath={.spec.template.spec.containers[0].env[*].name} {.spec.template.spec.containers[0].image}",
    ]);
    expect(env.stdout).toBe("KEEP nginx:1.26");
  });
});

describe("kubectl get prints the kinds' columns", () => {
  const header = async (args: string[]) => {
    const out = await cp.kubectl(["get", ...args]);
    expect(out.code, out.stderr).toBe(0);
    return out.stdout
      .split("\n")[0]
      .trim()
      .split(/\s{2,}/);
  };

  it("services, configmaps, secrets, namespaces, jobs, cronjobs", async () => {
    const inputs = [
      "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  type: NodePort\n  selector: {app: web}\n  ports: [{port: 80}]\n",
      "apiVersion: batch/v1\nkind: Job\nmetadata: {name: once}\nspec:\n  template:\n    spec:\n      restartPolicy: Never\n      containers: [{name: c, image: busybox}]\n",
      "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: tick}\nspec:\n  schedule: '*/5 * * * *'\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          restartPolicy: OnFailure\n          containers: [{name: c, image: busybox}]\n",
    ];
    for (const input of inputs) {
      const created = await cp.kubectl(["create", "-f", "-"], { input });
      expect(created.code, created.stderr).toBe(0);
    }
    await cp.kubectl(["create", "configmap", "cfg", "--from-literal=a=1", "--from-literal=b=2"]);
    await cp.kubectl(["create", "secret", "generic", "sec", "--from-literal=k=v"]);
    expect(await header(["svc", "-o", "wide"])).toEqual([
      "NAME",
      "TYPE",
      "CLUSTER-IP",
      "EXTERNAL-IP",
      "PORT(S)",
      "AGE",
      "SELECTOR",
    ]);
    const svc = await cp.kubectl(["get", "svc", "web", "--no-headers"]);
    expect(svc.stdout).toMatch(/^web\s+NodePort\s+10\.96\.\d+\.\d+\s+<none>\s+80:3\d{4}\/TCP\s+\d+s/);
    expect(await header(["cm", "cfg"])).toEqual(["NAME", "DATA", "AGE"]);
    expect((await cp.kubectl(["get", "cm", "cfg", "--no-headers"])).stdout).toMatch(/^cfg\s+2\s+/);
    expect(await header(["secret", "sec"])).toEqual(["NAME", "TYPE", "DATA", "AGE"]);
    expect(await header(["ns", "default"])).toEqual(["NAME", "STATUS", "AGE"]);
    expect((await cp.kubectl(["get", "ns", "default", "--no-headers"])).stdout).toMatch(
      /^default\s+Active\s+/,
    );
    expect(await header(["jobs"])).toEqual(["NAME", "STATUS", "COMPLETIONS", "DURATION", "AGE"]);
    expect(await header(["cj", "-o", "wide"])).toEqual([
      "NAME",
      "SCHEDULE",
      "TIMEZONE",
      "SUSPEND",
      "ACTIVE",
      "LAST SCHEDULE",
      "AGE",
      "CONTAINERS",
      "IMAGES",
      "SELECTOR",
    ]);
    expect(await header(["pods", "-o", "wide", "-A"])).toEqual(
      expect.arrayContaining([
        "NAMESPACE",
        "NAME",
        "READY",
        "STATUS",
        "RESTARTS",
        "AGE",
        "IP",
        "NODE",
        "NOMINATED NODE",
        "READINESS GATES",
      ]),
    );
  });
});
