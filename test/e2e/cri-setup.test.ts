/**
 * The agent's entry to the container runtime: setupCri in managed mode
 * starts a private containerd, imports the locally built sandbox image,
 * writes the CNI config, and follows the Node's pod CIDR when it changes.
 */
import { randomBytes } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { type CriSetup, setupCri } from "../../node-agent/src/runtime/cri/setup.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  startLocalRegistry,
} from "../../node-agent/src/runtime/cri/testing.ts";

/** Pids of containerd processes running with this config file. */
function containerdPids(config: string): number[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const cmd = readFileSync(`/proc/${d}/cmdline`, "utf8").split("\0");
        return cmd[0].endsWith("containerd") && cmd.includes(config);
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe("setupCri (--containerd=managed)", () => {
  let dir: string;
  let cri: CriSetup | undefined;
  let registry: LocalRegistry | undefined;
  const subnets: { cidr: string; release(): void }[] = [];
  const bridge = `eps${randomBytes(3).toString("hex")}`;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ep-cri-setup-"));
    subnets.push(claimSubnet(), claimSubnet());
  });
  afterAll(async () => {
    if (cri) {
      for (const s of await cri.runtime.listSandboxes()) {
        await cri.runtime.stopSandbox(s.id);
        await cri.runtime.removeSandbox(s.id);
      }
      await cri.close();
    }
    await registry?.stop();
    await deleteBridge(bridge);
    for (const s of subnets) s.release();
    await rm(dir, { recursive: true, force: true });
  });

  it("starts containerd, imports the pause image, and gives pods IPs from the pod CIDR it is told", async () => {
    const images = await buildTestImages();
    registry = await startLocalRegistry(join(dir, "registry"));
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const [first, second] = subnets.map((s) => s.cidr);
    cri = await setupCri({
      containerd: "managed",
      dataDir: join(dir, "agent"),
      podCidr: first,
      bridge,
      sandboxImageArchive: join(images, "pause.tar"),
      cgroupRoot: `/edgeplane-test-${bridge}`,
    });
    const config = await readFile(join(dir, "agent", "containerd", "config.toml"), "utf8");
    expect(config).toContain("restrict_oom_score_adj = true");
    expect(config).toContain('bin_dir = "/usr/lib/cni"');
    const conditions = await cri.runtime.client.status();
    expect(conditions).toContainEqual(expect.objectContaining({ type: "RuntimeReady", status: true }));
    expect(conditions).toContainEqual(expect.objectContaining({ type: "NetworkReady", status: true }));

    await cri.runtime.pullImage(busybox, { policy: "IfNotPresent" });
    const pod = async (name: string) =>
      cri!.runtime.runSandbox({
        uid: `${name}-${randomBytes(4).toString("hex")}`,
        namespace: "default",
        name,
        hostname: name,
        labels: {},
        annotations: {},
        ports: [],
        podDir: join(dir, "pods", name),
      });
    const a = await pod("a");
    expect(a.ip?.startsWith(first.replace(/0\/24$/, ""))).toBe(true);

    // The Node's spec.podCIDR arrives: new sandboxes use it (containerd reloads the CNI config).
    await cri.setPodCidr(second);
    const b = await pod("b");
    expect(b.ip?.startsWith(second.replace(/0\/24$/, ""))).toBe(true);
  });

  it("adopts the containerd a killed agent left running instead of starting a second one", async () => {
    // A second setup on the same data dir without closing the first: what an agent restarted after SIGKILL sees.
    const again = await setupCri({
      containerd: "managed",
      dataDir: join(dir, "agent"),
      podCidr: subnets[1].cidr,
      bridge,
      sandboxImageArchive: join(await buildTestImages(), "pause.tar"),
      cgroupRoot: `/edgeplane-test-${bridge}`,
    });
    const config = join(dir, "agent", "containerd", "config.toml");
    const pid = Number(await readFile(join(dir, "agent", "containerd", "containerd.pid"), "utf8"));
    expect(containerdPids(config)).toEqual([pid]);
    const before = (await cri!.runtime.listSandboxes()).map((s) => s.id).sort();
    expect((await again.runtime.listSandboxes()).map((s) => s.id).sort()).toEqual(before);
    expect(before.length).toBe(2);
    await again.runtime.close();
  });
});
