/**
 * httpGet probes against real local servers: status classes, the kubelet's
 * headers, redirects not followed, HTTPS without verification, the timeout,
 * named ports; and that a probe does not load undici (the global fetch did).
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import * as http from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensurePki } from "../../scripts/local/pki.ts";
import type { ProbeTarget } from "./pod/probes.ts";
import { runProbe } from "./probe-run.ts";
import type { Runtime } from "./runtime/types.ts";

const seen: http.IncomingHttpHeaders[] = [];
const handler: http.RequestListener = (req, res) => {
  seen.push(req.headers);
  if (req.url === "/hang") return; // never answers
  const status = Number(req.url?.slice(1)) || 200;
  res.writeHead(status, status === 302 ? { location: "http://127.0.0.1:1/nowhere" } : {});
  res.end("body");
};
let plain: http.Server;
let secure: https.Server;
let pkiDir: string;

const target: ProbeTarget = { podIP: "127.0.0.1", containerId: "c", runtime: {} as Runtime };
const port = (server: http.Server) => (server.address() as AddressInfo).port;

beforeAll(async () => {
  // A certificate from a CA the agent does not trust: the kubelet's probes skip verification.
  pkiDir = mkdtempSync(join(tmpdir(), "probe-pki-"));
  const pki = await ensurePki(pkiDir);
  plain = http.createServer(handler);
  secure = https.createServer(
    { key: readFileSync(pki.serverKey), cert: readFileSync(pki.serverCert) },
    handler,
  );
  for (const server of [plain, secure])
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
});

afterAll(async () => {
  for (const server of [plain, secure]) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  rmSync(pkiDir, { recursive: true, force: true });
});

it("httpGet: 2xx and 3xx succeed (redirects not followed), 4xx/5xx and no listener fail", async () => {
  const get = (path: string, p = port(plain)) => runProbe({ httpGet: { path, port: p } }, target);
  expect(await get("/200")).toBe(true);
  expect(await get("/302")).toBe(true);
  expect(await get("/404")).toBe(false);
  expect(await get("/500")).toBe(false);
  expect(await get("/200", 1)).toBe(false);
});

it("httpGet sends the kubelet's User-Agent and the probe's headers, resolves named ports", async () => {
  seen.length = 0;
  const ok = await runProbe(
    { httpGet: { path: "/204", port: "web", httpHeaders: [{ name: "X-Probe", value: "yes" }] } },
    target,
    { name: "c", image: "i", ports: [{ name: "web", containerPort: port(plain) }] },
  );
  expect(ok).toBe(true);
  expect(seen).toMatchObject([{ "user-agent": "kube-probe/1.32", "x-probe": "yes" }]);
});

it("httpGet over HTTPS does not verify the pod's certificate, as the kubelet's does not", async () => {
  expect(await runProbe({ httpGet: { path: "/200", port: port(secure), scheme: "HTTPS" } }, target)).toBe(
    true,
  );
});

it("httpGet fails when the server does not answer within timeoutSeconds", async () => {
  expect(await runProbe({ httpGet: { path: "/hang", port: port(plain) }, timeoutSeconds: 1 }, target)).toBe(
    false,
  );
});

it("a probe does not load undici into the agent", () => {
  // In a fresh process: vitest itself may have loaded undici already. Node's bundled undici defines
  // the global fetch/Headers lazily; its module is in the builtin module list once loaded.
  const here = dirname(fileURLToPath(import.meta.url));
  const script = `
    const { runProbe } = await import(${JSON.stringify(join(here, "probe-run.ts"))});
    const http = await import("node:http");
    const server = http.createServer((q, s) => s.end()).listen(0, "127.0.0.1");
    await new Promise((r) => server.once("listening", r));
    const ok = await runProbe({ httpGet: { port: server.address().port } }, { podIP: "127.0.0.1" });
    server.close();
    console.log(JSON.stringify({ ok, undici: process.moduleLoadList.some((m) => m.includes("undici")) }));
  `;
  const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(child.stderr).toBe("");
  expect(JSON.parse(child.stdout)).toEqual({ ok: true, undici: false });
});
