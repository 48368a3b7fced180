/**
 * Images under real containerd: a crafted image whose layer carries `../`
 * paths, absolute paths, absolute and climbing symlinks, an absolute hard
 * link and device nodes cannot write outside the container's rootfs
 * (containerd unpacks it; the device cgroup keeps the nodes unusable), and
 * image garbage collection removes unused images only.
 */
import { existsSync, mkdirSync, readdirSync, rmSync } from "node:fs";
import { type AddressInfo, createServer, type Socket } from "node:net";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type CriTestEnv,
  IMAGES_DIR,
  runTestPod,
  startBasicAuthProxy,
  startCriTestEnv,
  testContainer,
  testSandbox,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { buildTar, stackLayer } from "../../node-agent/src/runtime/cri/testing-oci.ts";
import { PullError } from "../../node-agent/src/runtime/types.ts";

describe("images on containerd", () => {
  let env: CriTestEnv;
  beforeAll(async () => {
    env = await startCriTestEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  async function run(id: string, cmd: string[]) {
    const r = await env.runtime.execSync(id, cmd, 10);
    return { code: r.exitCode, out: Buffer.from(r.stdout).toString(), err: Buffer.from(r.stderr).toString() };
  }

  it("keeps a malicious layer (../ paths, absolute symlinks, hard links, device files) inside the rootfs", async () => {
    const marker = `ep-escape-${process.pid}-${Date.now()}`;
    const hostDir = `/tmp/${marker}-dir`;
    mkdirSync(hostDir);
    try {
      const layer = await buildTar([
        { name: `../../../../../../../tmp/${marker}-dotdot`, content: "dotdot\n" },
        { name: `/tmp/${marker}-abs`, content: "abs\n" },
        { name: "abslink", type: "symlink", linkname: hostDir },
        { name: "abslink/via-abs-symlink", content: "abs-symlink\n" },
        { name: "uplink", type: "symlink", linkname: `../../../../../../..${hostDir}` },
        { name: "uplink/via-rel-symlink", content: "rel-symlink\n" },
        { name: "etc/inside", content: "inside\n" },
        { name: "hardlink", type: "link", linkname: "/etc/inside" },
        { name: "dev-mem", type: "character-device", devmajor: 1, devminor: 1, mode: 0o666 },
        { name: "dev-disk", type: "block-device", devmajor: 254, devminor: 0, mode: 0o666 },
      ]);
      const layout = join(env.dir, "crafted");
      await stackLayer(join(IMAGES_DIR, "oci"), "busybox", layout, "crafted", layer);
      const image = await env.registry.push(layout, "crafted", "edgeplane/crafted:1");
      await env.runtime.pullImage(image, { policy: "Always" });
      const sb = testSandbox(env, "crafted");
      const pod = await runTestPod(env, sb, [
        testContainer(env, sb, "main", { image, command: ["sleep", "3600"] }),
      ]);
      const id = pod.containerIds[0];

      // Nothing reached the host.
      expect(existsSync(`/tmp/${marker}-dotdot`)).toBe(false);
      expect(existsSync(`/tmp/${marker}-abs`)).toBe(false);
      expect(readdirSync(hostDir)).toEqual([]);

      // Every write landed inside the rootfs instead.
      const inside = await run(id, [
        "cat",
        `/tmp/${marker}-dotdot`,
        `/tmp/${marker}-abs`,
        `${hostDir}/via-abs-symlink`,
        `${hostDir}/via-rel-symlink`,
        "/hardlink",
      ]);
      expect(inside).toMatchObject({ code: 0, out: "dotdot\nabs\nabs-symlink\nrel-symlink\ninside\n" });

      // Device nodes exist in the rootfs but the device cgroup refuses them.
      for (const dev of ["/dev-mem", "/dev-disk"]) {
        const r = await run(id, ["head", "-c", "1", dev]);
        expect(r.code).not.toBe(0);
        expect(r.err).toMatch(/Operation not permitted/);
      }
      expect((await run(id, ["sh", "-c", "echo x > /dev-mem"])).err).toMatch(/Operation not permitted/);
    } finally {
      rmSync(hostDir, { recursive: true, force: true });
    }
  });

  it("garbage-collects unused images when the image filesystem is over the threshold, sparing images in use and the sandbox image", async () => {
    const layout = join(env.dir, "gc");
    await stackLayer(
      join(IMAGES_DIR, "oci"),
      "busybox",
      layout,
      "gc",
      await buildTar([{ name: "gc-marker", content: "x\n" }]),
    );
    const unused = await env.registry.push(layout, "gc", "edgeplane/unused:1");
    await env.runtime.pullImage(unused, { policy: "Always" });
    const unusedId = (await env.runtime.client.imageStatus(unused))!.id;
    const sb = testSandbox(env, "in-use");
    await runTestPod(env, sb, [testContainer(env, sb, "main", { command: ["sleep", "3600"] })]);
    const busyboxId = (await env.runtime.client.imageStatus(env.busybox))!.id;

    const GiB = 1024 ** 3;
    const half = await env.runtime.garbageCollectImages({
      usage: async () => ({ capacityBytes: 100 * GiB, availableBytes: 50 * GiB }),
    });
    expect(half).toEqual({ usagePercent: 50, removed: [], freedBytes: 0 });
    expect(await env.runtime.client.imageStatus(unused)).toBeDefined();

    const full = await env.runtime.garbageCollectImages({
      usage: async () => ({ capacityBytes: 100 * GiB, availableBytes: 5 * GiB }),
    });
    expect(full.usagePercent).toBe(95);
    expect(full.removed).toContain(unusedId);
    expect(full.removed).not.toContain(busyboxId);
    expect(full.freedBytes).toBeGreaterThan(0);
    expect(await env.runtime.client.imageStatus(unused)).toBeUndefined();
    expect(await env.runtime.client.imageStatus(env.busybox)).toBeDefined();
    expect(await env.runtime.client.imageStatus("edgeplane.local/pause:1")).toBeDefined();

    // The real filesystem figures come from ImageFsInfo + statfs.
    const real = await env.runtime.garbageCollectImages({ highThresholdPercent: 100 });
    expect(real.usagePercent).toBeGreaterThan(0);
    expect(real.removed).toEqual([]);
  });

  it("pulls with pull-secret credentials through the CRI, and fails without them", async () => {
    const layout = join(env.dir, "private");
    await stackLayer(
      join(IMAGES_DIR, "oci"),
      "busybox",
      layout,
      "private",
      await buildTar([{ name: "private-marker", content: "secret\n" }]),
    );
    await env.registry.push(layout, "private", "edgeplane/private:1");
    const proxy = await startBasicAuthProxy(env.registry.host, "puller", "s3cret");
    try {
      const image = `${proxy.host}/edgeplane/private:1`;
      const denied = await env.runtime.pullImage(image, { policy: "Always" }).catch((e) => e);
      expect(denied).toBeInstanceOf(PullError);
      expect(denied.reason).toBe("ErrImagePull");
      expect(denied.message).toMatch(/401|unauthorized/i);
      const wrong = await env.runtime
        .pullImage(image, { policy: "Always", auth: { username: "puller", password: "nope" } })
        .catch((e) => e);
      expect(wrong).toBeInstanceOf(PullError);
      const ok = await env.runtime.pullImage(image, {
        policy: "Always",
        auth: { username: "puller", password: "s3cret" },
      });
      expect(ok.digest).toMatch(/^sha256:/);
      await env.runtime.client.removeImage(image);
      // The dockerconfigjson "auth" form (base64 user:password) works too.
      const viaAuth = await env.runtime.pullImage(image, {
        policy: "IfNotPresent",
        auth: { auth: Buffer.from("puller:s3cret").toString("base64") },
      });
      expect(viaAuth).toEqual(ok);
    } finally {
      await proxy.stop();
    }
  });

  it("cancels a pull when the pod's pull is aborted (a registry that never answers)", async () => {
    let connected: () => void = () => {};
    const reached = new Promise<void>((r) => {
      connected = r;
    });
    // Accepts and never answers.
    const sockets: Socket[] = [];
    const silent = createServer((c) => {
      sockets.push(c);
      connected();
    });
    await new Promise<void>((r) => silent.listen(0, "127.0.0.1", r));
    try {
      const image = `127.0.0.1:${(silent.address() as AddressInfo).port}/edgeplane/hangs:1`;
      const controller = new AbortController();
      const pull = env.runtime
        .pullImage(image, { policy: "Always", signal: controller.signal })
        .catch((e) => e);
      // containerd is now waiting on the registry: cancel the pull mid-flight.
      await reached;
      controller.abort();
      const err = await pull;
      expect(err).toBeInstanceOf(PullError);
      expect(err.reason).toBe("ErrImagePull");
      expect(err.message).toMatch(/cancel/i);
    } finally {
      silent.close();
      for (const c of sockets) c.destroy();
    }
  });
});
