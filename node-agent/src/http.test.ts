/**
 * The agent's HTTP client (http.ts) against real HTTPS servers with private
 * CAs: the CA pin (a server of another CA is refused), keep-alive (requests
 * share one connection), a streamed response read before it ends (a watch),
 * abort, request bodies with a Content-Length, gzip bodies, a retry when a
 * reused connection was closed by the server, plain http only to loopback
 * and requests only to the API server's origin; and that the API client and
 * an image pull over it load neither undici nor web streams.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo, Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { createNodeFetch, createTransport } from "./http.ts";

const here = dirname(fileURLToPath(import.meta.url));
let dir: string;
let pki: LocalPki;
let other: LocalPki;
const servers: Server[] = [];

type Handler = (req: IncomingMessage, res: ServerResponse, body: string) => void;

/** An HTTPS server with this PKI's certificate; records the connection each request came on. */
async function serve(p: LocalPki, handler: Handler) {
  const sockets: Socket[] = [];
  const server = createServer(
    { cert: readFileSync(p.serverCert), key: readFileSync(p.serverKey) },
    (req, res) => {
      let body = "";
      req.on("data", (c) => {
        body += c;
      });
      req.on("end", () => {
        sockets.push(req.socket);
        handler(req, res, body);
      });
    },
  );
  servers.push(server);
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, sockets, server };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "agent-http-"));
  [pki, other] = await Promise.all([ensurePki(join(dir, "a")), ensurePki(join(dir, "b"))]);
});

afterAll(() => {
  for (const s of servers) s.close();
  for (const s of servers) s.closeAllConnections();
  rmSync(dir, { recursive: true, force: true });
});

describe("agent transport (node:https)", () => {
  it("trusts only the pinned CA, keeps one connection alive across requests, and sends bodies with a length", async () => {
    const { url, sockets } = await serve(pki, (req, res, body) => {
      res.setHeader("Content-Type", "application/json");
      res.end(
        JSON.stringify({
          method: req.method,
          length: req.headers["content-length"],
          body,
          ua: req.headers["user-agent"],
        }),
      );
    });
    const t = createTransport({ server: url, caFile: pki.caCert });
    try {
      const first = await t.fetch(`${url}/a`);
      expect(first.status).toBe(200);
      expect(first.headers.get("content-type")).toBe("application/json");
      expect(await first.json()).toMatchObject({ method: "GET" });
      const posted = await t.fetch(`${url}/b`, {
        method: "POST",
        body: '{"x":1}',
        headers: { "User-Agent": "edgeplane-test" },
      });
      expect(await posted.json()).toEqual({
        method: "POST",
        length: "7",
        body: '{"x":1}',
        ua: "edgeplane-test",
      });
      expect(sockets).toHaveLength(2);
      expect(sockets[0]).toBe(sockets[1]);

      // Without the CA, the private certificate is refused.
      const untrusting = createTransport({ server: url });
      await expect(untrusting.fetch(`${url}/a`)).rejects.toThrow(/fetch failed/);
      await untrusting.close();
    } finally {
      await t.close();
    }
    // Pinned to another CA: refused too.
    const pinnedElsewhere = createTransport({ server: url, caFile: other.caCert });
    const error = await pinnedElsewhere.fetch(`${url}/a`).catch((e: Error) => e);
    expect(String((error as Error & { cause?: Error }).cause)).toMatch(/certificate/i);
    await pinnedElsewhere.close();
  });

  it("streams a response body as it arrives (a watch), ends it on abort, and decodes gzip", async () => {
    let release: () => void = () => {};
    const closed = new Promise<void>((r) => {
      release = r;
    });
    const { url } = await serve(pki, (req, res) => {
      if (req.url === "/gz") {
        res.setHeader("Content-Encoding", "gzip");
        res.end(gzipSync('{"zipped":true}'));
        return;
      }
      res.writeHead(200, { "Content-Type": "application/json" });
      res.write('{"type":"ADDED"}\n');
      res.on("close", () => release());
      // The rest never comes: the client must see the first event without the end.
    });
    const t = createTransport({ server: url, caFile: pki.caCert });
    try {
      const gz = await t.fetch(`${url}/gz`);
      expect(await gz.json()).toEqual({ zipped: true });

      const abort = new AbortController();
      const watch = await t.fetch(`${url}/watch`, { signal: abort.signal });
      const chunks = watch.body?.[Symbol.asyncIterator]();
      const first = await chunks?.next();
      expect(new TextDecoder().decode(first?.value)).toBe('{"type":"ADDED"}\n');
      abort.abort();
      await expect(chunks?.next()).rejects.toThrow();
      // The server sees the connection go.
      await closed;
    } finally {
      await t.close();
    }
  });

  it("sends a request again once when the server resets the kept-alive connection it was reused on", async () => {
    const served = new Set<Socket>();
    let resets = 0;
    const { url } = await serve(pki, (req, res, body) => {
      // The first request that comes on an already used connection finds it reset (workerd's idle close race).
      if (served.has(req.socket) && resets === 0) {
        resets++;
        req.socket.destroy();
        return;
      }
      served.add(req.socket);
      res.end(`${req.method} ${body}`);
    });
    const t = createTransport({ server: url, caFile: pki.caCert });
    try {
      expect(await (await t.fetch(`${url}/1`)).text()).toBe("GET ");
      expect(await (await t.fetch(`${url}/2`, { method: "POST", body: "x" })).text()).toBe("POST x");
      expect(resets).toBe(1);
      expect(served.size).toBe(2);
    } finally {
      await t.close();
    }
  });

  it("allows plain http only to loopback, and sends nothing (no token) to another origin", async () => {
    expect(() => createTransport({ server: "http://10.0.0.1:8080" })).toThrow(/refusing plain http/);
    const t = createTransport({ server: "http://127.0.0.1:8080" });
    await expect(t.fetch("http://127.0.0.2:8080/api")).rejects.toThrow(/not the API server/);
    await expect(t.fetch("https://127.0.0.1:8080/api")).rejects.toThrow(/not the API server/);
    await t.close();
  });

  it("serves the API client (get, create, watch) and an image pull without loading undici or web streams", () => {
    // In a fresh process: vitest itself may have loaded both already. Node 20 defines fetch's classes
    // lazily from its bundled undici, whose module is in the builtin module list once loaded (+9 MiB).
    const script = `
      const { createTransport, createNodeFetch } = await import(${JSON.stringify(join(here, "http.ts"))});
      const { createKubeClient } = await import(${JSON.stringify(join(here, "../../workers/client/kube.ts"))});
      const http = await import("node:http");
      const server = http.createServer((q, s) => {
        if (q.url.includes("watch=true")) return s.end('{"type":"ADDED","object":{"metadata":{"name":"w"}}}\\n');
        if (q.url === "/moved") return s.writeHead(302, { Location: "/blob" }).end();
        q.resume();
        q.on("end", () => s.end(JSON.stringify({ metadata: { name: q.method + " " + q.url } })));
      }).listen(0, "127.0.0.1");
      await new Promise((r) => server.once("listening", r));
      const base = "http://127.0.0.1:" + server.address().port;
      const transport = createTransport({ server: base });
      const client = createKubeClient({ fetch: transport.fetch, baseUrl: base, token: "t" });
      const ref = { group: "", version: "v1", resource: "nodes", namespaced: false };
      const seen = [(await client.get(ref, undefined, "n1")).metadata.name];
      seen.push((await client.create(ref, undefined, { metadata: { name: "n2" } })).metadata.name);
      for await (const event of client.watch(ref, undefined)) seen.push(event.object.metadata.name);
      const pulled = await createNodeFetch()(base + "/moved");
      seen.push(JSON.parse(Buffer.from(await pulled.arrayBuffer()).toString()).metadata.name);
      await transport.close();
      server.close();
      const loaded = (what) => process.moduleLoadList.some((m) => m.includes(what));
      console.log(JSON.stringify({ seen, undici: loaded("undici"), webstreams: loaded("webstreams/readablestream") }));
    `;
    const child = spawnSync(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(child.stderr).toBe("");
    expect(JSON.parse(child.stdout)).toEqual({
      seen: ["GET /api/v1/nodes/n1", "POST /api/v1/nodes", "w", "GET /blob"],
      undici: false,
      webstreams: false,
    });
  });
});

describe("nodeFetch (image pulls)", () => {
  /** A plain HTTP server on loopback that records what reached it. */
  async function plain(handler: (req: IncomingMessage, res: ServerResponse) => void) {
    const seen: { method?: string; url?: string; authorization?: string }[] = [];
    const server = createHttpServer((req, res) => {
      seen.push({ method: req.method, url: req.url, authorization: req.headers.authorization });
      req.resume();
      req.on("end", () => handler(req, res));
    });
    servers.push(server as unknown as Server);
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
  }

  it("follows a registry's redirect to another origin without its credentials, and keeps them on the same origin", async () => {
    const storage = await plain((_req, res) => res.end("blob bytes"));
    const registry = await plain((req, res) => {
      if (req.url === "/v2/x/blobs/a") res.writeHead(307, { Location: `${storage.url}/signed?x=1` }).end();
      else if (req.url === "/v2/x/blobs/b") res.writeHead(302, { Location: "/v2/x/blobs/c" }).end();
      else res.end(`here ${req.url}`);
    });
    const f = createNodeFetch();
    const headers = { Authorization: "Bearer secret" };
    const far = await f(`${registry.url}/v2/x/blobs/a`, { headers });
    expect(await far.text()).toBe("blob bytes");
    expect(storage.seen).toEqual([{ method: "GET", url: "/signed?x=1", authorization: undefined }]);
    const near = await f(new URL(`${registry.url}/v2/x/blobs/b`), { headers });
    expect(await near.text()).toBe("here /v2/x/blobs/c");
    expect(registry.seen.at(-1)).toEqual({
      method: "GET",
      url: "/v2/x/blobs/c",
      authorization: "Bearer secret",
    });
  });

  it("returns a redirect as is when asked (manual), turns a 303 after a POST into a GET, and stops a loop", async () => {
    const s = await plain((req, res) => {
      if (req.url === "/post") res.writeHead(303, { Location: "/result" }).end();
      else if (req.url === "/loop") res.writeHead(302, { Location: "/loop" }).end();
      else res.end(`${req.method} ${req.url}`);
    });
    const f = createNodeFetch();
    const manual = await f(`${s.url}/post`, { method: "POST", body: "x", redirect: "manual" });
    expect(manual.status).toBe(303);
    expect(manual.headers.get("location")).toBe("/result");
    expect(await (await f(`${s.url}/post`, { method: "POST", body: "x" })).text()).toBe("GET /result");
    await expect(f(`${s.url}/loop`)).rejects.toThrow(/fetch failed/);
    expect(s.seen.filter((r) => r.url === "/loop")).toHaveLength(21);
  });
});
