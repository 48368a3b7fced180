import { mkdtemp, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { parseStartArgs } from "../local/args.ts";
import { readKubeconfig, writeKubeconfig } from "./kubeconfig.ts";
import { parseRef, sha256Digest } from "./oci-push.ts";

describe("parseRef", () => {
  it("splits host, repository and tag, defaulting the tag to latest", () => {
    expect(parseRef("127.0.0.1:6500/samples/hello:v1")).toEqual({
      host: "127.0.0.1:6500",
      repository: "samples/hello",
      tag: "v1",
    });
    expect(parseRef("registry.edgeplane.local/apps/x")).toEqual({
      host: "registry.edgeplane.local",
      repository: "apps/x",
      tag: "latest",
    });
    expect(parseRef("apps/x:2")).toEqual({ host: undefined, repository: "apps/x", tag: "2" });
    expect(() => parseRef("")).toThrow(/invalid reference/);
  });

  it("computes sha256 digests", () => {
    expect(sha256Digest(new TextEncoder().encode(""))).toBe(
      "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    );
  });
});

describe("kubeconfig", () => {
  it("round-trips server, token and CA, readable by its owner only", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeplane-kc-"));
    try {
      const path = join(dir, "kubeconfig");
      const access = {
        server: "https://127.0.0.1:6443",
        token: "t0k3n",
        ca: "-----BEGIN CERTIFICATE-----\nx\n",
      };
      await writeKubeconfig(path, "local", access);
      expect(await readKubeconfig(path)).toEqual(access);
      expect((await stat(path)).mode & 0o777).toBe(0o600);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe("npm start flags", () => {
  it("defaults to one node on 6443/6500 in .edgeplane, and validates numbers", () => {
    const o = parseStartArgs([], "/repo", {});
    expect(o).toMatchObject({ nodes: 1, port: 6443, registryPort: 6500, stateDir: "/repo/.edgeplane" });
    expect(parseStartArgs(["--nodes", "3", "--port", "0"], "/repo", {})).toMatchObject({ nodes: 3, port: 0 });
    expect(parseStartArgs([], "/repo", { EDGEPLANE_STATE_DIR: "/tmp/s" }).stateDir).toBe("/tmp/s");
    expect(() => parseStartArgs(["--nodes", "-1"], "/repo", {})).toThrow(/--nodes/);
    expect(() => parseStartArgs(["--port", "70000"], "/repo", {})).toThrow(/--port/);
    expect(() => parseStartArgs(["--bogus"], "/repo", {})).toThrow();
  });

  it("takes the pod network and bridge from flags or the environment, and refuses a network too small for the nodes", () => {
    expect(parseStartArgs([], "/repo", {})).toMatchObject({
      podNetwork: "10.244.0.0/16",
      cniBridge: "edgeplane0",
    });
    const env = { EDGEPLANE_POD_NETWORK: "10.201.7.0/24", EDGEPLANE_CNI_BRIDGE: "ept7" };
    expect(parseStartArgs([], "/repo", env)).toMatchObject({
      podNetwork: "10.201.7.0/24",
      cniBridge: "ept7",
    });
    // A /24 holds four nodes of a /26 (node IPAM cuts it smaller than /24: scripts/local/netns.test.ts), not five.
    expect(() => parseStartArgs(["--nodes", "5", "--pod-network", "10.201.7.0/24"], "/repo", {})).toThrow(
      /room for 4/,
    );
    expect(() => parseStartArgs(["--pod-network", "10.1.2.0/25"], "/repo", {})).toThrow(/--pod-network/);
    expect(() => parseStartArgs(["--cni-bridge", "a-name-far-too-long"], "/repo", {})).toThrow(
      /--cni-bridge/,
    );
  });
});
