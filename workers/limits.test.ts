/** Limits and malformed input through the whole Worker (workers/index.ts routing), as a client sends them. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { digestOf, errorCode, reg } from "./oci-registry/test-helpers.ts";

const ADMIN = { Authorization: "Bearer test-admin-token" };
const BASE = "https://edgeplane.test";

/** A body of `total` bytes of `byte`, streamed in 64 KiB chunks with no Content-Length (chunked). */
function chunked(total: number, byte = 0x61): ReadableStream<Uint8Array> {
  let sent = 0;
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close();
      const n = Math.min(64 * 1024, total - sent);
      controller.enqueue(new Uint8Array(n).fill(byte));
      sent += n;
    },
  });
}

describe("malformed %-escapes", () => {
  it("answer 400/404 as a Status or OCI error on every route, with and without a token", async () => {
    for (const path of [
      "/api/v1/namespaces/%/configmaps",
      "/api/v1/namespaces/default/configmaps/%zz",
      "/apis/apps/v1/namespaces/%e0%80/deployments",
      "/api/v1/namespaces/default/configmaps?labelSelector=%",
    ]) {
      for (const headers of [ADMIN, {}]) {
        const res = await SELF.fetch(BASE + path, { headers });
        expect(res.status, path).toBeLessThan(500);
        const body = (await res.json()) as { kind: string; code: number };
        expect(body.kind).toBe("Status");
        expect(body.code).toBe(res.status);
      }
    }
    const api = await SELF.fetch(`${BASE}/api/v1/namespaces/%zz/configmaps`, { headers: ADMIN });
    expect(api.status).toBe(400);
    for (const path of [
      "/v2/%zz/manifests/v1",
      "/v2/a/manifests/%",
      "/v2/a/blobs/%e0",
      "/v2/a/tags/%/list",
    ]) {
      const res = await reg(path);
      expect(res.status, path).toBeGreaterThanOrEqual(400);
      expect(res.status, path).toBeLessThan(500);
      expect(await errorCode(res)).toMatch(/_INVALID|_UNKNOWN/);
    }
    const tunnel = await SELF.fetch(`${BASE}/edgeplane/v1/tunnel/%zz`, {
      headers: { ...ADMIN, Upgrade: "websocket" },
    });
    expect(tunnel.status).toBe(400);
    expect(((await tunnel.json()) as { reason: string }).reason).toBe("BadRequest");
  });
});

describe("body limits on every route", () => {
  it("custom subresources refuse bodies over 3 MiB (413) and deep JSON (400)", async () => {
    const path = "/api/v1/namespaces/default/pods/p/binding";
    const big = await SELF.fetch(BASE + path, {
      method: "POST",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: chunked(3 * 1024 * 1024 + 1),
      duplex: "half",
    } as RequestInit);
    expect(big.status).toBe(413);
    expect(((await big.json()) as { reason: string }).reason).toBe("RequestEntityTooLarge");
    const deep = await SELF.fetch(BASE + path, {
      method: "POST",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: "[".repeat(100_000),
    });
    expect(deep.status).toBe(400);
    const finalize = await SELF.fetch(`${BASE}/api/v1/namespaces/default/finalize`, {
      method: "PUT",
      headers: { ...ADMIN, "Content-Type": "application/json" },
      body: chunked(3 * 1024 * 1024 + 1),
      duplex: "half",
    } as RequestInit);
    expect(finalize.status).toBe(413);
  });

  it("the registry stops reading a manifest at 4 MiB: an endless chunked body is 413 SIZE_INVALID", async () => {
    const res = await reg("/v2/limits/m/manifests/v1", {
      method: "PUT",
      headers: { "Content-Type": "application/vnd.oci.image.manifest.v1+json" },
      body: chunked(Number.POSITIVE_INFINITY, 0x20),
      duplex: "half",
    } as RequestInit);
    expect(res.status).toBe(413);
    expect(await errorCode(res)).toBe("SIZE_INVALID");
  });

  it("blob bodies without a length are stored in bounded pieces, then verified and committed", async () => {
    const size = 9 * 1024 * 1024; // more than one 8 MiB piece
    const digest = await digestOf(new Uint8Array(size).fill(0x62));
    const start = await reg("/v2/limits/b/blobs/uploads/", { method: "POST" });
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    const patch = await reg(location, {
      method: "PATCH",
      body: chunked(size, 0x62),
      duplex: "half",
    } as RequestInit);
    expect(patch.status).toBe(202);
    expect(patch.headers.get("Range")).toBe(`0-${size - 1}`);
    const put = await reg(`${location}?digest=${digest}`, { method: "PUT" });
    expect(put.status).toBe(201);
    const head = await reg(`/v2/limits/b/blobs/${digest}`, { method: "HEAD" });
    expect(head.headers.get("Content-Length")).toBe(String(size));
    const mono = await reg(`/v2/limits/c/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: chunked(size, 0x62),
      duplex: "half",
    } as RequestInit);
    expect(mono.status).toBe(201);
    const wrong = await reg(`/v2/limits/c/blobs/uploads/?digest=${digest}`, {
      method: "POST",
      body: chunked(size, 0x63),
      duplex: "half",
    } as RequestInit);
    expect(wrong.status).toBe(400);
    expect(await errorCode(wrong)).toBe("DIGEST_INVALID");
  });
});

describe("fuzz: registry and tunnel routes", () => {
  it("400 seeded malformed registry and tunnel requests never answer 5xx", async () => {
    let seed = 7;
    const next = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
    const digest = `sha256:${"0".repeat(64)}`;
    const paths = [
      "/v2/",
      "/v2/_catalog?n=%&last=%zz",
      "/v2/a/tags/list?n=-1",
      "/v2/a/tags/list?n=abc&last=%",
      "/v2/%/manifests/v1",
      "/v2/a/manifests/%e0",
      `/v2/a/manifests/${digest}`,
      "/v2/a/manifests/sha256:xyz",
      "/v2/a/blobs/%",
      `/v2/a/blobs/${digest}`,
      "/v2/a/blobs/uploads/",
      "/v2/a/blobs/uploads/?digest=%",
      "/v2/a/blobs/uploads/?mount=%zz&from=%",
      "/v2/a/blobs/uploads/00000000-0000-0000-0000-000000000000?digest=bogus",
      "/v2/a/blobs/uploads/not-a-uuid",
      "/v2/../api/v1/secrets",
      "/v2//a/manifests/v1",
      "/edgeplane/v1/tunnel/%",
      "/edgeplane/v1/tunnel/node-1",
      "/edgeplane/v1/tunnel/",
    ];
    const bodies = [
      "",
      "{",
      "null",
      '{"schemaVersion":2,"mediaType":"bogus"}',
      '{"schemaVersion":2,"layers":"x"}',
      "[".repeat(50_000),
    ];
    const failures: string[] = [];
    for (let i = 0; i < 400; i++) {
      const method = pick(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]);
      const path = pick(paths);
      const headers: Record<string, string> = {};
      const auth = pick([ADMIN.Authorization, "", "Bearer nope", "Basic %%%", `Basic ${btoa("x:nope")}`]);
      if (auth) headers.Authorization = auth;
      if (next() < 0.5)
        headers["Content-Type"] = pick(["application/vnd.oci.image.manifest.v1+json", "bogus/%", ""]);
      if (next() < 0.2) headers["Content-Range"] = pick(["0-", "5-1", "bytes=0-0", "%"]);
      if (next() < 0.2) headers.Range = pick(["bytes=5-1", "bytes=-", "items=0-1"]);
      const body = method === "GET" || method === "HEAD" ? undefined : pick(bodies);
      const res = await SELF.fetch(BASE + path, { method, headers, body });
      const text = await res.text();
      if (res.status >= 500)
        failures.push(`${method} ${path} ${auth.slice(0, 12)}: ${res.status} ${text.slice(0, 120)}`);
    }
    expect(failures).toEqual([]);
  }, 60_000);
});

describe("nesting just under the limit", () => {
  it("is decoded and handled without a 5xx on create, server-side apply and merge patch", async () => {
    const deep = (n: number) => `${'{"a":'.repeat(n)}1${"}".repeat(n)}`;
    const path = "/api/v1/namespaces/default/configmaps";
    const body = `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"deep"},"x":${deep(490)}}`;
    const headers = { ...ADMIN, "Content-Type": "application/json" };
    const created = await SELF.fetch(`${BASE}${path}?fieldValidation=Warn`, {
      method: "POST",
      headers,
      body,
    });
    expect(created.status, await created.clone().text()).toBe(201);
    const strict = await SELF.fetch(`${BASE}${path}?fieldValidation=Strict`, {
      method: "POST",
      headers,
      body,
    });
    expect(strict.status).toBeLessThan(500);
    const applied = await SELF.fetch(`${BASE}${path}/deep-apply?fieldManager=t&fieldValidation=Ignore`, {
      method: "PATCH",
      headers: { ...ADMIN, "Content-Type": "application/apply-patch+yaml" },
      body: body.replace('"deep"', '"deep-apply"'),
    });
    expect(applied.status, await applied.clone().text()).toBeLessThan(300);
    const patched = await SELF.fetch(`${BASE}${path}/deep`, {
      method: "PATCH",
      headers: { ...ADMIN, "Content-Type": "application/merge-patch+json" },
      body: `{"y":${deep(495)}}`,
    });
    expect(patched.status).toBeLessThan(500);
  });
});
