/**
 * The agent's API proxy against the real control plane (the Worker under
 * workerd, serving HTTPS with a certificate of a local CA): a client that
 * trusts only the cluster CA and expects the `kubernetes` Service's names
 * reaches /api with its own token, watches stream through, a WebSocket
 * watch upgrades through, and the proxy adds no credential of its own.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { request } from "node:https";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TLSSocket } from "node:tls";
import { checkServerIdentity } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { ensureApiProxyCert, ensurePki } from "../../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "../../../test/e2e/harness.ts";
import { ApiProxy, forwardHeaders } from "./server.ts";

let cp: ControlPlane;
let proxy: ApiProxy;
let ca: string;
let dir: string;
const logs: string[] = [];

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "ep-apiproxy-"));
  const pki = await ensurePki(join(dir, "pki"));
  const leaf = await ensureApiProxyCert(join(dir, "pki"), pki);
  ca = readFileSync(pki.caCert, "utf8");
  cp = await startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } });
  proxy = new ApiProxy({
    server: cp.url,
    serverCa: ca,
    cert: readFileSync(leaf.cert, "utf8"),
    key: readFileSync(leaf.key, "utf8"),
    host: "127.0.0.1",
    log: (m) => logs.push(m),
  });
  await proxy.start();
});

afterAll(async () => {
  await proxy?.close();
  await cp?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** One request to the proxy as an in-cluster client makes it: trusting the cluster CA, checking `servername`. */
function get(
  path: string,
  headers: Record<string, string>,
  servername = "kubernetes.default.svc",
): Promise<{ status: number; body: string; peer: TLSSocket }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: "127.0.0.1", port: proxy.port, path, headers, ca, servername, agent: false },
      (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, body, peer: res.socket as TLSSocket }));
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const bearer = () => ({ Authorization: `Bearer ${cp.token}` });

/** ws passes TLS options on to tls.connect (its types do not list servername). */
const wsTls = () => ({ ca, servername: "kubernetes.default.svc" }) as WebSocket.ClientOptions;

describe("API proxy", () => {
  it("serves /api to a client that trusts only the cluster CA, under every name of the kubernetes Service", async () => {
    const res = await get("/api", bearer());
    expect(res.status, res.body).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const cert = res.peer.getPeerCertificate();
    for (const name of [
      "10.96.0.1",
      "kubernetes",
      "kubernetes.default",
      "kubernetes.default.svc",
      "kubernetes.default.svc.cluster.local",
    ])
      expect(checkServerIdentity(name, cert), name).toBeUndefined();
    expect(checkServerIdentity("example.com", cert)).toBeInstanceOf(Error);
  });

  it("adds no credential: without the caller's token the API answers 401 as a Status", async () => {
    const res = await get("/api/v1/namespaces/default/configmaps", {});
    expect(res.status).toBe(401);
    expect(JSON.parse(res.body)).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
  });

  it("streams a watch: an event written after the watch opened arrives through the proxy", async () => {
    const seen = new Promise<string>((resolve, reject) => {
      const req = request(
        {
          host: "127.0.0.1",
          port: proxy.port,
          path: "/api/v1/namespaces/default/configmaps?watch=true",
          headers: bearer(),
          ca,
          servername: "kubernetes.default.svc",
          agent: false,
        },
        (res) => {
          let buffered = "";
          res.setEncoding("utf8");
          res.on("data", (d: string) => {
            buffered += d;
            if (buffered.includes('"name":"through-proxy"')) {
              resolve(buffered);
              req.destroy();
            }
          });
          // The watch is open (headers came): now make the change it must carry.
          void cp.kubectl(["create", "configmap", "through-proxy", "--from-literal=a=1"]);
        },
      );
      req.on("error", reject);
      req.end();
    });
    expect(await seen).toMatch(/"type":"ADDED"/);
  });

  it("relays an Upgrade: a WebSocket watch opens through the proxy", async () => {
    expect((await cp.kubectl(["create", "configmap", "ws-seed", "--from-literal=a=1"])).code).toBe(0);
    const ws = new WebSocket(
      `wss://127.0.0.1:${proxy.port}/api/v1/namespaces/default/configmaps?watch=true`,
      ["base64.binary.k8s.io"],
      { headers: bearer(), ...wsTls() },
    );
    const first = new Promise<string>((resolve, reject) => {
      ws.once("message", (data) => resolve(String(data)));
      ws.once("error", reject);
      ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
    });
    const event = JSON.parse(await first) as { type: string };
    expect(event.type).toBe("ADDED");
    ws.close();
    // A refused upgrade comes back as the API server's own Status.
    const refused = new WebSocket(`wss://127.0.0.1:${proxy.port}/api/v1/configmaps?watch=true`, wsTls());
    const code = await new Promise<number>((resolve, reject) => {
      refused.once("unexpected-response", (_req, res) => resolve(res.statusCode ?? 0));
      refused.once("open", () => reject(new Error("opened without a token")));
      refused.once("error", reject);
    });
    expect(code).toBe(401);
  });

  it("forwards the caller's headers untouched but for Host and hop-by-hop ones", () => {
    const out = forwardHeaders(
      {
        host: "kubernetes.default.svc",
        authorization: "Bearer pod-token",
        connection: "keep-alive, x-private",
        "x-private": "hop",
        "keep-alive": "timeout=5",
        "transfer-encoding": "chunked",
        "proxy-authorization": "Basic x",
        accept: "application/json",
      },
      "edge.example:443",
    );
    expect(out).toEqual({
      host: "edge.example:443",
      authorization: "Bearer pod-token",
      accept: "application/json",
    });
    expect(forwardHeaders({ upgrade: "websocket", connection: "Upgrade" }, "h", "websocket")).toEqual({
      host: "h",
      connection: "Upgrade",
      upgrade: "websocket",
    });
  });
});
