import { describe, expect, it } from "vitest";
import { ownRegistryAuth } from "./pull-auth.ts";

describe("the node's own pull credential", () => {
  const server = "https://edgeplane.example.workers.dev";
  it("is offered only to the control plane's own registry over HTTPS", () => {
    expect(ownRegistryAuth("edgeplane.example.workers.dev/apps/app:v1", server, "t0k")).toEqual({
      username: "node",
      password: "t0k",
    });
    expect(ownRegistryAuth("edgeplane.example.workers.dev:443/apps/app:v1", server, "t0k")?.password).toBe(
      "t0k",
    );
    expect(ownRegistryAuth("ghcr.io/apps/app:v1", server, "t0k")).toBeUndefined();
    expect(ownRegistryAuth("edgeplane.example.workers.dev.evil.io/a:v1", server, "t0k")).toBeUndefined();
    expect(ownRegistryAuth("edgeplane.example.workers.dev:8443/a:v1", server, "t0k")).toBeUndefined();
    expect(ownRegistryAuth("busybox", server, "t0k")).toBeUndefined();
    expect(ownRegistryAuth("127.0.0.1:6443/a:v1", "https://127.0.0.1:6443", "t0k")).toBeUndefined();
    expect(
      ownRegistryAuth("edgeplane.example.workers.dev/a:v1", "http://edgeplane.example.workers.dev", "t"),
    ).toBeUndefined();
  });
});
