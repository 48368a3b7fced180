/**
 * The generated OpenAPI as real kubectl uses it, against the real Worker
 * under workerd (test/e2e/harness.ts): `kubectl explain` (1.27 and 1.33),
 * and server-side field validation, which kubectl only turns on when the
 * v3 document advertises it (a PATCH with the kind's GVK and a
 * fieldValidation parameter).
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
