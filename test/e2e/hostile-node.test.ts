/**
 * Hostile node, end to end: the real control plane (workerd via Miniflare),
 * a real node agent joined with a node-bound bootstrap token made as
 * `npm start` makes them, and then that same token used the way a
 * compromised node would, with raw HTTPS and with real kubectl. Each test is
 * one of the holes of issue 11 (items 1, 3 and 4) and checks both the answer
 * and that nothing changed.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type AgentProcess, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { ensureBootstrapToken } from "../../scripts/local/tokens.ts";
import { type ControlPlane, kubeconfigYaml, startControlPlane } from "./harness.ts";

const NODE = "hostile-1";
const NS = "default";
let cp: ControlPlane;
let pki: LocalPki;
let dir: string;
let agent: AgentProcess;
let nodeToken: string;
let nodeKubeconfig: string;

type Obj = {
  metadata: { labels?: Record<string, string>; deletionTimestamp?: string; resourceVersion?: string };
  spec?: { nodeName?: string; finalizers?: string[] };
  status?: { phase?: string };
};

/** A request carrying the node's token (never the admin's). */
function asNode(path: string, init: RequestInit = {}): Promise<Response> {
  return cp.fetch(path, {
    ...init,
    headers: {
      "Content-Type": "application/json",
      ...(init.headers as object),
      Authorization: `Bearer ${nodeToken}`,
    },
  });
}

async function read(path: string): Promise<Obj> {
  const response = await cp.fetch(path);
  expect(response.status, path).toBe(200);
  return (await response.json()) as Obj;
}

async function create(path: string, object: unknown): Promise<void> {
  const response = await cp.fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(object),
  });
  expect(response.status, await response.clone().text()).toBe(201);
}

/** Send any method over raw HTTPS (fetch refuses some, e.g. TRACE), as the node; the status and the body. */
function rawAsNode(method: string, path: string, body = ""): Promise<{ status: number; text: string }> {
  const url = new URL(cp.url + path);
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        method,
        ca: readFileSync(pki.caCert),
        // Content-Length said outright: Node frames no body of an OPTIONS by itself (neither length nor
        // chunks), and those bytes would then be read as the next request (a 400 from any HTTP/1.1 server).
        headers: {
          Authorization: `Bearer ${nodeToken}`,
          "Content-Type": "application/json",
          "Content-Length": Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = "";
        res.on("data", (c) => {
          text += c;
        });
        res.on("end", () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}

const pod = (name: string, nodeName: string | undefined, extra: Record<string, unknown> = {}) => ({
  metadata: { name, labels: { app: name } },
  spec: {
    ...(nodeName ? { nodeName } : {}),
    // No RuntimeClass "hostile-none" exists: the agent reports the pod failed and runs nothing.
    runtimeClassName: "hostile-none",
    containers: [{ name: "c", image: "example.invalid/none:v1", ...extra }],
  },
});

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "hostile-node-"));
  pki = await ensurePki(join(dir, "pki"));
  cp = await startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } });
  const tokenFile = join(dir, "node-token");
  nodeToken = await ensureBootstrapToken(cp.fetch, tokenFile, { nodeName: NODE, description: "hostile e2e" });
  nodeKubeconfig = join(dir, "node-kubeconfig");
  writeFileSync(nodeKubeconfig, kubeconfigYaml(cp.url, nodeToken), { mode: 0o600 });
  agent = spawnAgent([
    "--server",
    cp.url,
    "--token-file",
    tokenFile,
    "--ca-file",
    pki.caCert,
    "--name",
    NODE,
    "--data-dir",
    join(dir, "agent"),
    "--node-ip",
    "127.0.0.1",
  ]);
  await agent.waitFor(/tunnel connected/, 60_000);

  await create(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "mine-cm" }, data: { a: "1" } });
  await create(`/api/v1/namespaces/${NS}/configmaps`, { metadata: { name: "theirs-cm" }, data: { a: "2" } });
  await create(`/api/v1/namespaces/${NS}/secrets`, {
    metadata: { name: "theirs-secret" },
    stringData: { k: "v" },
  });
  const envFrom = (cm: string, secret?: string) => ({
    envFrom: [{ configMapRef: { name: cm } }, ...(secret ? [{ secretRef: { name: secret } }] : [])],
  });
  await create(`/api/v1/namespaces/${NS}/pods`, pod("mine", NODE, envFrom("mine-cm")));
  await create(
    `/api/v1/namespaces/${NS}/pods`,
    pod("pending", undefined, envFrom("theirs-cm", "theirs-secret")),
  );
  await create(
    `/api/v1/namespaces/${NS}/pods`,
    pod("elsewhere", "other-node", envFrom("theirs-cm", "theirs-secret")),
  );
  await create("/api/v1/namespaces", { metadata: { name: "doomed" } });
}, 180_000);

afterAll(async () => {
  await agent?.stop().catch(() => {});
  await cp?.stop().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe("a node's token used as an attacker would", () => {
  it("the agent itself still works with that token: its Node and Lease are registered", async () => {
    expect((await read(`/api/v1/nodes/${NODE}`)).metadata.labels?.["kubernetes.io/hostname"]).toBe(NODE);
    await read(`/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases/${NODE}`);
  });

  it("OPTIONS (or any unmapped method) on binding, eviction and finalize is 405 and changes nothing", async () => {
    const cases: [string, string][] = [
      [`/api/v1/namespaces/${NS}/pods/pending/binding`, JSON.stringify({ target: { name: NODE } })],
      [
        `/api/v1/namespaces/${NS}/pods/elsewhere/eviction`,
        JSON.stringify({ deleteOptions: { gracePeriodSeconds: 0 } }),
      ],
      ["/api/v1/namespaces/doomed/finalize", JSON.stringify({ spec: { finalizers: [] } })],
    ];
    const seen: string[] = [];
    for (const [path, body] of cases) {
      const { status, text } = await rawAsNode("OPTIONS", path, body);
      expect(status, `OPTIONS ${path}: ${text}`).toBe(405);
      expect(JSON.parse(text)).toMatchObject({ kind: "Status", reason: "MethodNotAllowed", code: 405 });
      // Other methods: refused by the front end's HTTP parser (unknown ones) or by the Worker (405).
      for (const method of ["TRACE", "PROPFIND", "FROBNICATE"]) {
        // A closed connection (status 0) is a refusal too: Node's HTTP parser drops unknown methods.
        const { status } = await rawAsNode(method, path, body).catch(() => ({ status: 0 }));
        seen.push(`${method} ${status || "closed"}`);
        expect(status === 0 || status >= 400, `${method} ${status}`).toBe(true);
      }
    }
    console.log(`refused before the Worker: ${[...new Set(seen)].join(", ")}`);
    expect((await read(`/api/v1/namespaces/${NS}/pods/pending`)).spec?.nodeName).toBeUndefined();
    expect(
      (await read(`/api/v1/namespaces/${NS}/pods/elsewhere`)).metadata.deletionTimestamp,
    ).toBeUndefined();
    expect((await read("/api/v1/namespaces/doomed")).spec?.finalizers).toEqual(["kubernetes"]);
  });

  it("binding another workload's pending pod to itself is 403", async () => {
    const response = await asNode(`/api/v1/namespaces/${NS}/pods/pending/binding`, {
      method: "POST",
      body: JSON.stringify({
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "pending" },
        target: { name: NODE },
      }),
    });
    expect(response.status, await response.clone().text()).toBe(403);
    expect((await read(`/api/v1/namespaces/${NS}/pods/pending`)).spec?.nodeName).toBeUndefined();
  });

  it("evicting a pod on another node is 403, and so is finalizing a namespace", async () => {
    const eviction = await asNode(`/api/v1/namespaces/${NS}/pods/elsewhere/eviction`, {
      method: "POST",
      body: JSON.stringify({
        apiVersion: "policy/v1",
        kind: "Eviction",
        metadata: { name: "elsewhere" },
        deleteOptions: { gracePeriodSeconds: 0 },
      }),
    });
    expect(eviction.status, await eviction.clone().text()).toBe(403);
    const finalize = await asNode("/api/v1/namespaces/doomed/finalize", {
      method: "PUT",
      body: JSON.stringify({ metadata: { name: "doomed" }, spec: { finalizers: [] } }),
    });
    expect(finalize.status).toBe(403);
    expect(
      (await read(`/api/v1/namespaces/${NS}/pods/elsewhere`)).metadata.deletionTimestamp,
    ).toBeUndefined();
    expect((await read("/api/v1/namespaces/doomed")).spec?.finalizers).toEqual(["kubernetes"]);
  });

  it("reading a ConfigMap or Secret no pod of this node uses is 403; one its pod uses is readable", async () => {
    expect((await asNode(`/api/v1/namespaces/${NS}/configmaps/mine-cm`)).status).toBe(200);
    expect((await asNode(`/api/v1/namespaces/${NS}/configmaps/theirs-cm`)).status).toBe(403);
    expect((await asNode(`/api/v1/namespaces/${NS}/secrets/theirs-secret`)).status).toBe(403);
    expect((await asNode(`/api/v1/namespaces/${NS}/configmaps`)).status).toBe(403);
    const kubectl = await cp.kubectl([
      "--kubeconfig",
      nodeKubeconfig,
      "get",
      "secret",
      "theirs-secret",
      "-o",
      "name",
    ]);
    expect(kubectl.code).not.toBe(0);
    expect(kubectl.stderr).toMatch(/forbidden/i);
    expect(kubectl.stdout).toBe("");
  });

  it("pods/log of its own pod is 403 (nodes get no log, exec, attach or portforward)", async () => {
    const response = await asNode(`/api/v1/namespaces/${NS}/pods/mine/log`);
    expect(response.status).toBe(403);
    const kubectl = await cp.kubectl(["--kubeconfig", nodeKubeconfig, "logs", "mine"]);
    expect(kubectl.code).not.toBe(0);
    expect(kubectl.stderr).toMatch(/forbidden/i);
  });

  it("a status write that changes its own pod's labels is 403 and the labels stay", async () => {
    const response = await asNode(`/api/v1/namespaces/${NS}/pods/mine/status`, {
      method: "PATCH",
      headers: { "Content-Type": "application/merge-patch+json" },
      body: JSON.stringify({ metadata: { labels: { app: "db" } } }),
    });
    expect(response.status, await response.clone().text()).toBe(403);
    expect((await read(`/api/v1/namespaces/${NS}/pods/mine`)).metadata.labels).toEqual({ app: "mine" });
  });

  it("a node-bound token whose expiration does not parse is refused with 401", async () => {
    const b64 = (s: string) => Buffer.from(s).toString("base64");
    await create("/api/v1/namespaces/kube-system/secrets", {
      metadata: { name: "bootstrap-token-badexp" },
      type: "bootstrap.kubernetes.io/token",
      data: {
        "token-id": b64("badexp"),
        "token-secret": b64("0123456789abcdef"),
        "usage-bootstrap-authentication": b64("true"),
        "node-name": b64(NODE),
        expiration: b64("never"),
      },
    });
    const response = await cp.fetch(`/api/v1/nodes/${NODE}`, {
      headers: { Authorization: "Bearer badexp.0123456789abcdef" },
    });
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ kind: "Status", reason: "Unauthorized" });
  });
});
