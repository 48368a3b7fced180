import { describe, expect, it } from "vitest";
import { ADMIN, bodyText, digestOf, errorCode, pushBlob, reg } from "./test-helpers.ts";

describe("registry auth", () => {
  it("answers /v2/ with 401 and a challenge without a token, 200 with one", async () => {
    const anon = await reg("/v2/", {}, null);
    expect(anon.status).toBe(401);
    expect(anon.headers.get("WWW-Authenticate")).toMatch(/^Basic realm=/);
    expect(await errorCode(anon)).toBe("UNAUTHORIZED");
    expect((await reg("/v2/", {}, "Bearer wrong-token")).status).toBe(401);
    const ok = await reg("/v2/");
    expect(ok.status).toBe(200);
    expect(ok.headers.get("Docker-Distribution-API-Version")).toBe("registry/2.0");
    expect((await reg("/v2/", {}, `Basic ${btoa(`anyone:${ADMIN}`)}`)).status).toBe(200);
  });

  it("lets a node's bootstrap token pull but not push (403 DENIED)", async () => {
    const secret = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: { name: "bootstrap-token-regabc", namespace: "kube-system" },
      type: "bootstrap.kubernetes.io/token",
      data: {
        "token-id": btoa("regabc"),
        "token-secret": btoa("0123456789abcdef"),
        "usage-bootstrap-authentication": btoa("true"),
      },
    };
    const created = await reg("/api/v1/namespaces/kube-system/secrets", {
      method: "POST",
      body: JSON.stringify(secret),
      headers: { "Content-Type": "application/json" },
    });
    expect(created.status).toBe(201);
    const node = "Bearer regabc.0123456789abcdef";
    const digest = await pushBlob("auth/node", "pulled by a node");
    expect((await reg(`/v2/auth/node/blobs/${digest}`, {}, node)).status).toBe(200);
    const push = await reg(`/v2/auth/node/blobs/uploads/`, { method: "POST" }, node);
    expect(push.status).toBe(403);
    expect(await errorCode(push)).toBe("DENIED");
  });

  it("refuses pushes without a token and stores nothing", async () => {
    const digest = await digestOf("anonymous");
    const res = await reg(
      `/v2/auth/anon/blobs/uploads/?digest=${digest}`,
      { method: "POST", body: "anonymous" },
      null,
    );
    expect(res.status).toBe(401);
    expect(await errorCode(res)).toBe("UNAUTHORIZED");
    expect((await reg(`/v2/auth/anon/blobs/${digest}`, { method: "HEAD" })).status).toBe(404);
  });
});

describe("blob uploads", () => {
  it("takes a monolithic POST ?digest= and serves it back with digest and length", async () => {
    const digest = await pushBlob("blobs/mono", "hello registry");
    const get = await reg(`/v2/blobs/mono/blobs/${digest}`);
    expect(get.status).toBe(200);
    expect(get.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(get.headers.get("Content-Length")).toBe("14");
    expect(await bodyText(get)).toBe("hello registry");
    const head = await reg(`/v2/blobs/mono/blobs/${digest}`, { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe("14");
    expect(await head.text()).toBe("");
  });

  it("takes POST then a single PUT with the body", async () => {
    const start = await reg("/v2/blobs/put/blobs/uploads/", { method: "POST" });
    expect(start.status).toBe(202);
    const location = start.headers.get("Location")!;
    expect(location).toMatch(/^\/v2\/blobs\/put\/blobs\/uploads\/[0-9a-f-]{36}$/);
    const digest = await digestOf("one shot");
    const put = await reg(`${location}?digest=${digest}`, { method: "PUT", body: "one shot" });
    expect(put.status).toBe(201);
    expect(put.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(await bodyText(await reg(`/v2/blobs/put/blobs/${digest}`))).toBe("one shot");
  });

  it("assembles chunked PATCH uploads in order and refuses out-of-order chunks with 416", async () => {
    const start = await reg("/v2/blobs/chunked/blobs/uploads/", { method: "POST" });
    const location = start.headers.get("Location")!;
    const p1 = await reg(location, { method: "PATCH", body: "abcde", headers: { "Content-Range": "0-4" } });
    expect(p1.status).toBe(202);
    expect(p1.headers.get("Range")).toBe("0-4");
    const wrong = await reg(location, { method: "PATCH", body: "zz", headers: { "Content-Range": "3-4" } });
    expect(wrong.status).toBe(416);
    expect(wrong.headers.get("Range")).toBe("0-4");
    // A chunk sent with chunked transfer encoding (no Content-Length), as skopeo does.
    const stream = new Blob(["fghij"]).stream();
    const p2 = await reg(location, { method: "PATCH", body: stream, duplex: "half" } as RequestInit);
    expect(p2.status).toBe(202);
    expect(p2.headers.get("Range")).toBe("0-9");
    const status = await reg(location);
    expect(status.status).toBe(204);
    expect(status.headers.get("Range")).toBe("0-9");
    const digest = await digestOf("abcdefghijKL");
    const done = await reg(`${location}?digest=${digest}`, { method: "PUT", body: "KL" });
    expect(done.status).toBe(201);
    expect(await bodyText(await reg(`/v2/blobs/chunked/blobs/${digest}`))).toBe("abcdefghijKL");
    // The session is gone once committed.
    expect((await reg(location)).status).toBe(404);
  });

  it("refuses content that does not match its digest and stores nothing", async () => {
    const claimed = await digestOf("what I said");
    const mono = await reg(`/v2/blobs/bad/blobs/uploads/?digest=${claimed}`, {
      method: "POST",
      body: "what I sent",
    });
    expect(mono.status).toBe(400);
    expect(await errorCode(mono)).toBe("DIGEST_INVALID");
    const start = await reg("/v2/blobs/bad/blobs/uploads/", { method: "POST" });
    const location = start.headers.get("Location")!;
    await reg(location, { method: "PATCH", body: "what I sent" });
    const put = await reg(`${location}?digest=${claimed}`, { method: "PUT" });
    expect(put.status).toBe(400);
    expect(await errorCode(put)).toBe("DIGEST_INVALID");
    expect((await reg(`/v2/blobs/bad/blobs/${claimed}`, { method: "HEAD" })).status).toBe(404);
  });

  it("serves byte ranges, mounts across repositories, cancels uploads", async () => {
    const digest = await pushBlob("blobs/src", "0123456789");
    const part = await reg(`/v2/blobs/src/blobs/${digest}`, { headers: { Range: "bytes=2-5" } });
    expect(part.status).toBe(206);
    expect(part.headers.get("Content-Range")).toBe("bytes 2-5/10");
    expect(await bodyText(part)).toBe("2345");
    const mount = await reg(`/v2/blobs/dst/blobs/uploads/?mount=${digest}&from=blobs/src`, {
      method: "POST",
    });
    expect(mount.status).toBe(201);
    expect(mount.headers.get("Location")).toBe(`/v2/blobs/dst/blobs/${digest}`);
    const start = await reg("/v2/blobs/dst/blobs/uploads/", { method: "POST" });
    const location = start.headers.get("Location")!;
    expect((await reg(location, { method: "DELETE" })).status).toBe(204);
    expect(await errorCode(await reg(location))).toBe("BLOB_UPLOAD_UNKNOWN");
  });

  it("rejects invalid names, digests and unknown blobs in the OCI error format", async () => {
    const name = await reg("/v2/Bad_Name/blobs/uploads/", { method: "POST" });
    expect(name.status).toBe(400);
    expect(await errorCode(name)).toBe("NAME_INVALID");
    const digest = await reg("/v2/ok/blobs/sha256:xyz");
    expect(await errorCode(digest)).toBe("DIGEST_INVALID");
    const unknown = await reg(`/v2/ok/blobs/${await digestOf("never pushed")}`);
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("BLOB_UNKNOWN");
    const method = await reg("/v2/ok/tags/list", { method: "POST" });
    expect(method.status).toBe(405);
  });
});
