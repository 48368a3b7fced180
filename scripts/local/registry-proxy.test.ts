import { describe, expect, it } from "vitest";
import { pullTarget, startRegistryProxy } from "./registry-proxy.ts";

const DIGEST = `sha256:${"a".repeat(64)}`;

describe("registry proxy path canonicalisation", () => {
  it("forwards the read endpoints, rebuilt from their validated parts", () => {
    expect(pullTarget("GET", "/v2/")).toEqual({ path: "/v2/" });
    expect(pullTarget("GET", "/v2")).toEqual({ path: "/v2/" });
    expect(pullTarget("HEAD", "/v2/samples/ticker/manifests/v1")).toEqual({
      path: "/v2/samples/ticker/manifests/v1",
    });
    expect(pullTarget("GET", `/v2/a/b/c/manifests/${DIGEST}`)).toEqual({
      path: `/v2/a/b/c/manifests/${DIGEST}`,
    });
    expect(pullTarget("GET", `/v2/a/blobs/${DIGEST}?x=1`)).toEqual({ path: `/v2/a/blobs/${DIGEST}` });
    expect(pullTarget("GET", "/v2/a/tags/list?n=10&last=v1&evil=../x")).toEqual({
      path: "/v2/a/tags/list?n=10&last=v1",
    });
  });

  it("refuses traversal, escapes, empty segments, other endpoints (404) and other methods (405)", () => {
    for (const url of [
      "/v2/../api",
      "/v2/../api/v1/secrets",
      "/v2/%2e%2e/api",
      "/v2/%2E%2E/api/v1/namespaces",
      "/v2//x",
      "/v2//x/manifests/v1",
      "/v2/a/../../api/manifests/v1",
      "/v2/a%2fb/manifests/v1",
      "/v2/a/manifests/%2e%2e",
      "/v2/a/manifests/..",
      "/v2/./a/manifests/v1",
      "/v2/a\\..\\api/manifests/v1",
      "/v2/a/blobs/sha256:nothex",
      "/v2/a/blobs/uploads/",
      "/v2/_catalog",
      "/v2/A/manifests/v1",
      "/api/v1/secrets",
      "/v2x/a/manifests/v1",
      "//v2/a/manifests/v1",
      `/v2/${"a".repeat(256)}/manifests/v1`,
    ])
      expect(pullTarget("GET", url), url).toMatchObject({ status: 404, code: "NAME_UNKNOWN" });
    for (const method of ["POST", "PUT", "PATCH", "DELETE", "OPTIONS"])
      expect(pullTarget(method, "/v2/a/manifests/v1")).toMatchObject({ status: 405, code: "UNSUPPORTED" });
  });
});

describe("registry proxy supervision", () => {
  it("reports an unexpected close and listens again on the same port", async () => {
    const closes: string[] = [];
    const fetcher = Object.assign(async () => new Response("{}"), { close: async () => {} });
    const proxy = await startRegistryProxy(0, fetcher as never, (why) => closes.push(why));
    try {
      await new Promise((r) => proxy.server.close(r));
      expect(closes).toEqual(["it stopped listening"]);
      await proxy.restart();
      const res = await fetch(`http://${proxy.host}/v2/`);
      expect(res.status).toBe(401);
      await res.arrayBuffer();
      expect(closes).toEqual(["it stopped listening"]);
    } finally {
      await proxy.stop();
    }
    expect(closes).toEqual(["it stopped listening"]);
  });
});
