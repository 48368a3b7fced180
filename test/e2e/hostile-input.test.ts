/**
 * Hostile input against the real local control plane (workerd through
 * test/e2e/harness.ts) and the real loopback registry endpoint: pathological
 * bodies, lying lengths, malformed escapes and path traversal answer 4xx as a
 * Kubernetes Status (or an OCI error), and the store is unchanged afterwards.
 */
import { connect as netConnect } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RegistryProxy, startRegistryProxy } from "../../scripts/local/registry-proxy.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;
let proxy: RegistryProxy;
const MiB = 1024 * 1024;
const CM = "/api/v1/namespaces/default/configmaps";

/**
 * Send raw bytes (a request line, headers and whatever body, lengths not
 * checked by any client library) and return the status code and body of
 * the first response.
 */
function raw(
  target: { host: string; port: number; tls: boolean },
  head: string,
  body: Buffer | string = "",
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const socket = target.tls
      ? tlsConnect({ host: target.host, port: target.port, rejectUnauthorized: false })
      : netConnect({ host: target.host, port: target.port });
    let data = "";
    const done = () => {
      const end = data.indexOf("\r\n\r\n");
      const head = data.slice(0, end);
      let text = data.slice(end + 4);
      const length = /\r\ncontent-length: *(\d+)/i.exec(head);
      if (length) text = text.slice(0, Number(length[1]));
      else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
        let out = "";
        for (let at = 0; ; ) {
          const eol = text.indexOf("\r\n", at);
          const n = Number.parseInt(text.slice(at, eol), 16);
          if (!n) break;
          out += text.slice(eol + 2, eol + 2 + n);
          at = eol + 2 + n + 2;
        }
        text = out;
      }
      resolve({ status: Number(data.split(" ")[1]), text });
    };
    socket.setEncoding("utf8");
    socket.on("data", (chunk) => {
      data += chunk;
      const end = data.indexOf("\r\n\r\n");
      const length = end < 0 ? null : /\r\ncontent-length: *(\d+)/i.exec(data.slice(0, end));
      // With a length, stop as soon as the body is in (the server may still be reading ours).
      if (length && data.length - end - 4 >= Number(length[1])) {
        socket.destroy();
        done();
      }
    });
    socket.on("end", () => (data.includes("\r\n\r\n") ? done() : reject(new Error(`no response: ${data}`))));
    socket.on("error", (error) => (data.includes("\r\n\r\n") ? done() : reject(error)));
    socket.once(target.tls ? "secureConnect" : "connect", () => {
      socket.write(head.replaceAll("\n", "\r\n"));
      if (body.length) socket.write(body, () => {});
    });
  });
}

function api() {
  const url = new URL(cp.url);
  return { host: url.hostname, port: Number(url.port), tls: true };
}

/** Every object's key and resourceVersion in the collections hostile requests aim at. */
async function snapshot(): Promise<string> {
  const out: string[] = [];
  for (const path of [
    "/api/v1/namespaces",
    "/api/v1/configmaps",
    "/api/v1/secrets",
    "/api/v1/pods",
    "/api/v1/nodes",
  ]) {
    const list = (await (await cp.fetch(path)).json()) as {
      items: { metadata: { namespace?: string; name: string; resourceVersion: string } }[];
    };
    for (const item of list.items)
      out.push(
        `${path} ${item.metadata.namespace ?? ""}/${item.metadata.name}@${item.metadata.resourceVersion}`,
      );
  }
  return out.join("\n");
}

/** The HTTP status and the Status body's kind, reason and code. */
async function status(
  response: Response,
): Promise<{ http: number; reason?: string; code?: number; kind?: string }> {
  const { kind, reason, code } = (await response.json()) as { reason?: string; code?: number; kind?: string };
  return { http: response.status, kind, reason, code };
}

const post = (path: string, body: string | ReadableStream, contentType: string) =>
  cp.fetch(path, {
    method: "POST",
    body,
    headers: { "Content-Type": contentType },
    duplex: "half",
  } as RequestInit);

beforeAll(async () => {
  cp = await startControlPlane();
  // Serve nothing but the built-in namespaces, plus one object to see survive.
  const seed = await post(
    CM,
    JSON.stringify({ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "kept" }, data: { a: "b" } }),
    "application/json",
  );
  expect(seed.status).toBe(201);
  // The endpoint forwards over the harness's fetch (Miniflare's self-signed certificate); it always
  // sets the puller's Authorization, so the harness's admin default is never used.
  proxy = await startRegistryProxy(0, (path, init) =>
    cp.fetch(path, { ...init, headers: { ...(init?.headers as Record<string, string>) } }),
  );
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await cp?.stop();
});

describe("hostile input against the local control plane", () => {
  it("refuses pathological YAML and JSON bodies with 400 BadRequest, and alias bombs too", async () => {
    const before = await snapshot();
    const body = 3 * MiB - 64;
    for (const [text, type] of [
      ["[".repeat(body), "application/yaml"],
      [`${"- ".repeat(body / 2)}a`, "application/yaml"],
      ["{a: ".repeat(body / 4), "application/apply-patch+yaml"],
      ["[".repeat(100_000), "application/json"],
      ['{"a":'.repeat(100_000), "application/json"],
      [
        [
          "apiVersion: v1",
          "kind: ConfigMap",
          "metadata: {name: bomb}",
          "x: &a [l,l,l,l,l,l,l,l,l,l]",
          "y: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]",
          "z: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]",
          "w: [*c,*c,*c,*c,*c,*c,*c,*c,*c,*c]",
        ].join("\n"),
        "application/yaml",
      ],
    ] as const) {
      const path = type === "application/apply-patch+yaml" ? `${CM}/deep?fieldManager=e2e` : CM;
      const res =
        type === "application/apply-patch+yaml"
          ? await cp.fetch(path, { method: "PATCH", body: text, headers: { "Content-Type": type } })
          : await post(path, text, type);
      expect(await status(res), `${type} ${text.slice(0, 20)}`).toMatchObject({
        http: 400,
        kind: "Status",
        reason: "BadRequest",
        code: 400,
      });
    }
    expect(await snapshot()).toBe(before);
  });

  it("answers malformed %-escapes with 400/404 before and after authentication", async () => {
    const before = await snapshot();
    for (const path of [
      `${CM}/%zz`,
      "/api/v1/namespaces/%/configmaps",
      "/apis/apps/v1/namespaces/%e0%80/deployments",
      "/apis/%zz/v1",
    ]) {
      for (const auth of [undefined, "Bearer nope"]) {
        const res = await cp.fetch(path, auth ? { headers: { Authorization: auth } } : {});
        const s = await status(res);
        expect(s.http, `${path} ${auth}`).toBeGreaterThanOrEqual(400);
        expect(s.http, `${path} ${auth}`).toBeLessThan(500);
        expect(s).toMatchObject({ kind: "Status", code: s.http });
      }
    }
    expect((await cp.fetch(`${CM}/%zz`, { method: "DELETE" })).status).toBe(400);
    const registry = await cp.fetch("/v2/%zz/manifests/v1");
    expect(registry.status).toBe(400);
    expect(((await registry.json()) as { errors: { code: string }[] }).errors[0].code).toBe("NAME_INVALID");
    const tunnel = await raw(
      api(),
      `GET /edgeplane/v1/tunnel/%zz HTTP/1.1\nHost: ${new URL(cp.url).host}\nAuthorization: Bearer ${cp.token}\nUpgrade: websocket\nConnection: Upgrade\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\nSec-WebSocket-Version: 13\n\n`,
    );
    expect(tunnel.status).toBe(400);
    expect(JSON.parse(tunnel.text)).toMatchObject({ kind: "Status", reason: "BadRequest" });
    expect(await snapshot()).toBe(before);
  });

  it("keeps a keep-alive connection usable after answering before the body was read (401 with a body)", async () => {
    // One connection: every request follows an early answer on the same socket (workerd reset it before).
    const agent = new Agent({ connections: 1, connect: { rejectUnauthorized: false } });
    const body = JSON.stringify({ apiVersion: "policy/v1", kind: "Eviction", pad: "p".repeat(20_000) });
    const failures: string[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const refused = await undiciFetch(`${cp.url}/api/v1/namespaces/default/pods/x/eviction`, {
          method: "POST",
          body,
          headers: { Authorization: "Bearer not-a-token", "Content-Type": "application/json" },
          dispatcher: agent,
        });
        expect(refused.status).toBe(401);
        await refused.text();
        await undiciFetch(`${cp.url}/version`, { dispatcher: agent })
          .then((r) => r.text())
          .catch((error: Error) => failures.push(`${error.message} (${String(error.cause)})`));
      }
    } finally {
      await agent.close();
    }
    expect(failures).toEqual([]);
  });

  it("counts body bytes itself: a lying or absent Content-Length gets 413 or 400, never a 5xx", async () => {
    const before = await snapshot();
    const host = `Host: ${new URL(cp.url).host}\nAuthorization: Bearer ${cp.token}\nContent-Type: application/json`;
    // Declares more than the limit: refused before a byte is read.
    const declared = await raw(
      api(),
      `POST ${CM} HTTP/1.1\n${host}\nContent-Length: ${4 * MiB}\nConnection: close\n\n`,
      "{}",
    );
    expect(declared.status).toBe(413);
    expect(JSON.parse(declared.text)).toMatchObject({
      kind: "Status",
      reason: "RequestEntityTooLarge",
      code: 413,
    });
    // Declares 12 bytes, sends 3 MiB: the server reads its 12 ("{\"metadata\":"), which is no object.
    const lying = await raw(
      api(),
      `POST ${CM} HTTP/1.1\n${host}\nContent-Length: 12\nConnection: close\n\n`,
      `{"metadata":${" ".repeat(3 * MiB)}}`,
    );
    expect(lying.status).toBe(400);
    // No length at all: chunked, 3 MiB + 1 counted while streaming.
    const size = 3 * MiB + 1;
    const chunked = await raw(
      api(),
      `POST ${CM} HTTP/1.1\n${host}\nTransfer-Encoding: chunked\nConnection: close\n\n`,
      Buffer.concat([
        Buffer.from(`${size.toString(16)}\r\n`),
        Buffer.alloc(size, 0x20),
        Buffer.from("\r\n0\r\n\r\n"),
      ]),
    );
    expect(chunked.status).toBe(413);
    // The same on a custom subresource, which used to read its body without a limit.
    const binding = await raw(
      api(),
      `POST /api/v1/namespaces/default/pods/p/binding HTTP/1.1\n${host}\nTransfer-Encoding: chunked\nConnection: close\n\n`,
      Buffer.concat([
        Buffer.from(`${size.toString(16)}\r\n`),
        Buffer.alloc(size, 0x20),
        Buffer.from("\r\n0\r\n\r\n"),
      ]),
    );
    expect(binding.status).toBe(413);
    expect(await snapshot()).toBe(before);
  });

  it("the loopback registry endpoint forwards only canonical pull paths, and only with a credential", async () => {
    const [host, port] = proxy.host.split(":");
    const target = { host, port: Number(port), tls: false };
    const auth = `Authorization: Bearer ${cp.token}`;
    for (const path of [
      "/v2/../api/v1/secrets",
      "/v2/%2e%2e/api/v1/secrets",
      "/v2//api/v1/secrets",
      "/v2/a%2f..%2f..%2fapi/manifests/v1",
    ]) {
      const res = await raw(
        target,
        `GET ${path} HTTP/1.1\nHost: ${proxy.host}\n${auth}\nConnection: close\n\n`,
      );
      expect(res.status, path).toBe(404);
      expect(JSON.parse(res.text).errors[0].code).toBe("NAME_UNKNOWN");
    }
    const push = await raw(
      target,
      `POST /v2/a/blobs/uploads/ HTTP/1.1\nHost: ${proxy.host}\n${auth}\nContent-Length: 0\nConnection: close\n\n`,
    );
    expect(push.status).toBe(405);
    const anonymous = await raw(target, `GET /v2/ HTTP/1.1\nHost: ${proxy.host}\nConnection: close\n\n`);
    expect(anonymous.status).toBe(401);
    const wrong = await raw(
      target,
      `GET /v2/ HTTP/1.1\nHost: ${proxy.host}\nAuthorization: Bearer wrong\nConnection: close\n\n`,
    );
    expect(wrong.status).toBe(401);
    const ok = await raw(target, `GET /v2/ HTTP/1.1\nHost: ${proxy.host}\n${auth}\nConnection: close\n\n`);
    expect(ok.status).toBe(200);
  });
});
