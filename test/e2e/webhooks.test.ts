/**
 * Admission webhooks with real kubectl against the real Worker under workerd:
 * a small HTTPS server started here (its certificate from a CA made by
 * scripts/local/pki.ts, which workerd trusts as `npm start` makes it trust the
 * local cluster's CA) is a validating webhook refusing a create with its own
 * message (unless its CEL matchConditions exclude the object) and a mutating
 * one adding a label; with the server stopped,
 * failurePolicy Ignore lets a create through and Fail refuses it; a
 * validating webhook for DELETE refuses `kubectl delete` of one ConfigMap.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NS = "webhooks-e2e";
let cp: ControlPlane;
let dir: string;
let hooks: Server;
let hooksUrl: string;
let caBundle: string;
/** A port nothing listens on any more: the "stopped" webhook server. */
let stoppedUrl: string;
/** Every review the webhook server was sent. */
const reviews: { path: string; operation: string; name: string }[] = [];
/** What the DELETE webhook was shown: the object (null on a delete) and the stored object's name. */
const deletes: { name: string; object: unknown; oldName?: string; options?: object }[] = [];

interface Review {
  request: {
    uid: string;
    operation: string;
    name?: string;
    object?: { metadata?: { labels?: object } } | null;
    oldObject?: { metadata?: { name?: string } };
    options?: object;
  };
}

function answer(path: string, review: Review): Record<string, unknown> {
  const { request } = review;
  reviews.push({ path, operation: request.operation, name: request.name ?? "" });
  const response: Record<string, unknown> = { uid: request.uid, allowed: true };
  if (path === "/validate" && request.name?.startsWith("forbidden-")) {
    response.allowed = false;
    response.status = { code: 403, message: "names starting with forbidden- are refused by the e2e policy" };
  }
  if (path === "/protect") {
    const { name = "", object, oldObject, options } = request;
    deletes.push({ name, object, oldName: oldObject?.metadata?.name, options });
    if (name === "protected") {
      response.allowed = false;
      response.status = { code: 403, message: "configmap protected may not be deleted (e2e policy)" };
    }
  }
  if (path === "/mutate") {
    // JSON patch cannot add a key under a missing object: add the whole labels map when there is none.
    const patch = request.object?.metadata?.labels
      ? [{ op: "add", path: "/metadata/labels/webhook-mutated", value: "yes" }]
      : [{ op: "add", path: "/metadata/labels", value: { "webhook-mutated": "yes" } }];
    response.patchType = "JSONPatch";
    response.patch = Buffer.from(JSON.stringify(patch)).toString("base64");
    response.warnings = ["labelled by the e2e mutating webhook"];
  }
  return { apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response };
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeplane-webhooks-"));
  const pki = await ensurePki(join(dir, "pki"));
  const [ca, cert, key] = await Promise.all([
    readFile(pki.caCert, "utf8"),
    readFile(pki.serverCert),
    readFile(pki.serverKey),
  ]);
  caBundle = Buffer.from(ca).toString("base64");
  hooks = createServer({ cert, key }, (req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = JSON.stringify(
        answer(new URL(req.url ?? "/", "https://x").pathname, JSON.parse(Buffer.concat(chunks).toString())),
      );
      res.writeHead(200, { "Content-Type": "application/json" }).end(body);
    });
  });
  const stopped = createServer({ cert, key });
  [hooksUrl, stoppedUrl] = await Promise.all([listen(hooks), listen(stopped)]);
  await new Promise((resolve) => stopped.close(resolve));
  cp = await startControlPlane({ trustedCertificates: [ca] });
  const ns = await cp.kubectl(["create", "namespace", NS]);
  expect(ns.code, ns.stderr).toBe(0);
  expect((await cp.kubectl(["label", "namespace", NS, "e2e-webhooks=on"])).code).toBe(0);
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  await new Promise((resolve) => (hooks ? hooks.close(resolve) : resolve(undefined)));
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A webhook configuration for configmaps in the test namespace (objectSelector narrows it further). */
function configYaml(kind: string, name: string, url: string, extra = ""): string {
  return `apiVersion: admissionregistration.k8s.io/v1
kind: ${kind}
metadata:
  name: ${name}
webhooks:
- name: ${name}.e2e.edgeplane.dev
  clientConfig:
    url: ${url}
    caBundle: ${caBundle}
  rules:
  - operations: ["CREATE", "UPDATE"]
    apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["configmaps"]
  namespaceSelector:
    matchLabels:
      e2e-webhooks: "on"
  sideEffects: None
  admissionReviewVersions: ["v1"]
  timeoutSeconds: 5
${extra}`;
}

async function apply(yaml: string): Promise<void> {
  const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
  expect(r.code, r.stderr).toBe(0);
}

describe("admission webhooks", () => {
  it("a validating webhook refuses a create with its own message; a mutating one adds a label", async () => {
    // matchConditions (CEL): an object annotated e2e/exempt never reaches the validating webhook.
    const exempt = `  matchConditions:\n  - name: not-exempt\n    expression: "!has(object.metadata.annotations) || !('e2e/exempt' in object.metadata.annotations)"\n`;
    await apply(configYaml("ValidatingWebhookConfiguration", "deny", `${hooksUrl}/validate`, exempt));
    await apply(configYaml("MutatingWebhookConfiguration", "label", `${hooksUrl}/mutate`));
    const table = await cp.kubectl(["get", "validatingwebhookconfigurations"]);
    expect(table.stdout).toMatch(/^NAME\s+WEBHOOKS\s+AGE\ndeny\s+1\s+\S+\n$/);
    const explained = await cp.kubectl(["explain", "mutatingwebhookconfiguration.webhooks.failurePolicy"]);
    expect(explained.stdout).toMatch(/FIELD: failurePolicy <string>[\s\S]*defines how unrecognized errors/);

    const refused = await cp.kubectl([
      "-n",
      NS,
      "create",
      "configmap",
      "forbidden-one",
      "--from-literal=a=b",
    ]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'admission webhook "deny.e2e.edgeplane.dev" denied the request: names starting with forbidden- are refused by the e2e policy',
    );
    expect((await cp.kubectl(["-n", NS, "get", "configmap", "forbidden-one"])).code).not.toBe(0);

    const created = await cp.kubectl(["-n", NS, "create", "configmap", "allowed-one", "--from-literal=a=b"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain("Warning: labelled by the e2e mutating webhook");
    const shown = await cp.kubectl(["-n", NS, "get", "configmap", "allowed-one", "--show-labels"]);
    expect(shown.stdout).toMatch(/allowed-one\s+1\s+\S+\s+webhook-mutated=yes/);
    // The mutating webhook ran before the validating one, both on the create.
    expect(reviews.filter((r) => r.name === "allowed-one").map((r) => `${r.path} ${r.operation}`)).toEqual([
      "/mutate CREATE",
      "/validate CREATE",
    ]);

    const exempted = await cp.kubectl(["-n", NS, "create", "-f", "-"], {
      input: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: forbidden-but-exempt\n  annotations:\n    e2e/exempt: "yes"\n`,
    });
    expect(exempted.code, exempted.stderr).toBe(0);
    expect(reviews.filter((r) => r.name === "forbidden-but-exempt").map((r) => r.path)).toEqual(["/mutate"]);

    // Outside the selected namespace neither webhook is called.
    const before = reviews.length;
    const elsewhere = await cp.kubectl(["-n", "default", "create", "configmap", "forbidden-elsewhere"]);
    expect(elsewhere.code, elsewhere.stderr).toBe(0);
    expect(reviews.slice(before).filter((r) => r.name === "forbidden-elsewhere")).toEqual([]);
  });

  it("with the webhook server stopped, failurePolicy Ignore lets a create through and Fail refuses it", async () => {
    const extra = `  objectSelector:\n    matchLabels:\n      probe: stopped\n  failurePolicy: Ignore\n`;
    await apply(configYaml("ValidatingWebhookConfiguration", "stopped", `${stoppedUrl}/validate`, extra));
    const probe = (name: string) =>
      cp.kubectl(["-n", NS, "create", "-f", "-"], {
        input: `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: ${name}\n  labels:\n    probe: stopped\n`,
      });
    const ignored = await probe("through-ignore");
    expect(ignored.code, ignored.stderr).toBe(0);

    await apply(
      configYaml(
        "ValidatingWebhookConfiguration",
        "stopped",
        `${stoppedUrl}/validate`,
        extra.replace("Ignore", "Fail"),
      ),
    );
    const failed = await probe("refused-fail");
    expect(failed.code).not.toBe(0);
    expect(failed.stderr).toContain('failed calling webhook "stopped.e2e.edgeplane.dev"');
    expect(failed.stderr).toContain("InternalError");
    expect((await cp.kubectl(["-n", NS, "get", "configmap", "refused-fail"])).code).not.toBe(0);
  });

  it("a validating webhook for DELETE refuses `kubectl delete` with its message and the ConfigMap stays", async () => {
    const yaml = configYaml("ValidatingWebhookConfiguration", "protect", `${hooksUrl}/protect`);
    await apply(yaml.replace('["CREATE", "UPDATE"]', '["DELETE"]'));
    for (const name of ["protected", "unprotected"]) {
      const created = await cp.kubectl(["-n", NS, "create", "configmap", name, "--from-literal=a=b"]);
      expect(created.code, created.stderr).toBe(0);
    }
    const refused = await cp.kubectl(["-n", NS, "delete", "configmap", "protected"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(
      'admission webhook "protect.e2e.edgeplane.dev" denied the request: configmap protected may not be deleted (e2e policy)',
    );
    const still = await cp.kubectl(["-n", NS, "get", "configmap", "protected", "-o", "jsonpath={.data.a}"]);
    expect(still.stdout, still.stderr).toBe("b");
    const deleted = await cp.kubectl(["-n", NS, "delete", "configmap", "unprotected"]);
    expect(deleted.code, deleted.stderr).toBe(0);
    // Only the deletes reached it, each with object null, the stored object and kubectl's DeleteOptions.
    expect(deletes).toEqual([
      {
        name: "protected",
        object: null,
        oldName: "protected",
        options: expect.objectContaining({ kind: "DeleteOptions" }),
      },
      {
        name: "unprotected",
        object: null,
        oldName: "unprotected",
        options: expect.objectContaining({ kind: "DeleteOptions" }),
      },
    ]);
  });
});
