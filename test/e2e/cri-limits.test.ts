/**
 * Resources and security under real containerd + runc: a memory limit kills
 * a hog (OOMKilled, 137) while the node and its other pods carry on; CPU
 * requests/limits land in the container's cgroup; runAsUser/Group,
 * readOnlyRootFilesystem, capabilities, privileged (refused unless the node
 * allows it), and volume mounts.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existingCgroupDirs } from "../../node-agent/src/runtime/cri/cgroups.ts";
import { ContainerConfigError, CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import {
  type CriTestEnv,
  runTestPod,
  startCriTestEnv,
  testContainer,
  testSandbox,
  waitExited,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";

const MiB = 1024 * 1024;

async function exec(env: CriTestEnv, id: string, cmd: string[]) {
  const r = await env.runtime.execSync(id, cmd, 10);
  return { code: r.exitCode, out: Buffer.from(r.stdout).toString(), err: Buffer.from(r.stderr).toString() };
}

/** CapEff of the container's init process, as a bigint. */
async function capEff(env: CriTestEnv, id: string): Promise<bigint> {
  const status = (await exec(env, id, ["cat", "/proc/1/status"])).out;
  const m = /CapEff:\s*([0-9a-f]+)/.exec(status);
  if (!m) throw new Error(`no CapEff in ${status}`);
  return BigInt(`0x${m[1]}`);
}

describe("resources and security on containerd + runc", () => {
  let env: CriTestEnv;
  beforeAll(async () => {
    env = await startCriTestEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("kills a memory hog at its limit (OOMKilled, 137) while the node and other pods stay healthy", async () => {
    const bystanderSb = testSandbox(env, "bystander");
    const bystander = await runTestPod(env, bystanderSb, [
      testContainer(env, bystanderSb, "main", { command: ["sleep", "3600"] }),
    ]);
    const sb = testSandbox(env, "hog");
    // tail buffers a "line" of /dev/zero forever: memory grows until the cgroup OOM-kills it.
    const pod = await runTestPod(env, sb, [
      testContainer(env, sb, "hog", {
        command: ["tail", "/dev/zero"],
        limits: { memoryBytes: 32 * MiB },
        requests: { memoryBytes: 32 * MiB },
      }),
    ]);
    const status = await waitExited(env, pod.containerIds[0], 30_000);
    expect(status).toMatchObject({ state: "exited", exitCode: 137, reason: "OOMKilled" });
    expect((await env.runtime.client.version()).runtimeName).toBe("containerd");
    expect(await env.runtime.containerStatus(bystander.containerIds[0])).toMatchObject({ state: "running" });
    expect((await exec(env, bystander.containerIds[0], ["echo", "alive"])).out).toBe("alive\n");
  });

  it("maps CPU request to shares, CPU limit to CFS quota, memory limit to the cgroup", async () => {
    const sb = testSandbox(env, "cpu");
    const pod = await runTestPod(env, sb, [
      testContainer(env, sb, "main", {
        command: ["sleep", "3600"],
        requests: { cpuMillis: 250, memoryBytes: 16 * MiB },
        limits: { cpuMillis: 500, memoryBytes: 64 * MiB },
      }),
    ]);
    const id = pod.containerIds[0];
    const cgroup = `${env.cgroupRoot}/pod${sb.uid}/${id}`;
    const dirs = existingCgroupDirs(cgroup);
    const read = async (file: string) => {
      const dir = dirs.find((d) => existsSync(join(d, file)));
      if (!dir) throw new Error(`no ${file} under ${cgroup}`);
      return (await readFile(join(dir, file), "utf8")).trim();
    };
    expect(await read("cpu.shares")).toBe("256");
    expect(await read("cpu.cfs_period_us")).toBe("100000");
    expect(await read("cpu.cfs_quota_us")).toBe("50000");
    expect(await read("memory.limit_in_bytes")).toBe(String(64 * MiB));
  });

  it("runs as the requested user and group, with a read-only root filesystem when asked", async () => {
    const sb = testSandbox(env, "user");
    const pod = await runTestPod(env, sb, [
      testContainer(env, sb, "main", {
        command: ["sleep", "3600"],
        securityContext: { runAsUser: 65534, runAsGroup: 65534, readOnlyRootFilesystem: true },
      }),
    ]);
    const id = pod.containerIds[0];
    expect((await exec(env, id, ["id", "-u"])).out.trim()).toBe("65534");
    expect((await exec(env, id, ["id", "-g"])).out.trim()).toBe("65534");
    const write = await exec(env, id, ["touch", "/newfile"]);
    expect(write.code).not.toBe(0);
    expect(write.err).toMatch(/Read-only file system/);
  });

  it("drops and adds capabilities", async () => {
    const sb = testSandbox(env, "caps");
    const pod = await runTestPod(env, sb, [
      testContainer(env, sb, "none", {
        command: ["sleep", "3600"],
        securityContext: { capabilities: { drop: ["ALL"] } },
      }),
      testContainer(env, sb, "netadmin", {
        command: ["sleep", "3600"],
        securityContext: { capabilities: { drop: ["ALL"], add: ["NET_ADMIN"] } },
      }),
      testContainer(env, sb, "default", { command: ["sleep", "3600"] }),
    ]);
    const [none, netadmin, dflt] = pod.containerIds;
    const CAP_NET_ADMIN = 1n << 12n;
    const CAP_SYS_ADMIN = 1n << 21n;
    expect(await capEff(env, none)).toBe(0n);
    expect(await capEff(env, netadmin)).toBe(CAP_NET_ADMIN);
    const d = await capEff(env, dflt);
    expect(d & CAP_NET_ADMIN).toBe(0n);
    expect(d & CAP_SYS_ADMIN).toBe(0n);
    // Without NET_ADMIN, changing the interface fails; with it, it works.
    expect((await exec(env, none, ["ip", "link", "set", "lo", "mtu", "1280"])).code).not.toBe(0);
    expect((await exec(env, netadmin, ["ip", "link", "set", "lo", "mtu", "1280"])).code).toBe(0);
  });

  it("refuses privileged containers unless the node allows them", async () => {
    const sb = testSandbox(env, "priv");
    const s = await env.runtime.runSandbox(sb);
    const c = testContainer(env, sb, "main", {
      command: ["sleep", "3600"],
      securityContext: { privileged: true },
    });
    const err = await env.runtime.createContainer(s.id, c, sb).catch((e) => e);
    expect(err).toBeInstanceOf(ContainerConfigError);
    expect(err.reason).toBe("CreateContainerConfigError");
    expect(await env.runtime.listContainers(s.id)).toEqual([]);

    const permissive = new CriRuntime({
      endpoint: env.containerd.socket,
      cgroupRoot: env.cgroupRoot,
      allowPrivileged: true,
    });
    try {
      const sb2 = testSandbox(env, "priv-ok");
      const s2 = await permissive.runSandbox(sb2);
      const id = await permissive.createContainer(s2.id, testContainer(env, sb2, "main", c), sb2);
      await permissive.startContainer(id);
      await waitFor(
        async () => (await permissive.containerStatus(id))?.state === "running",
        10_000,
        "running",
      );
      const r = await permissive.execSync(id, ["cat", "/proc/1/status"], 5);
      const eff = BigInt(`0x${/CapEff:\s*([0-9a-f]+)/.exec(Buffer.from(r.stdout).toString())![1]}`);
      expect(eff & (1n << 21n)).toBe(1n << 21n); // CAP_SYS_ADMIN
    } finally {
      await permissive.close();
    }
  });

  it("mounts volumes read-write and read-only, with command, args, env and working dir", async () => {
    const sb = testSandbox(env, "volumes");
    const data = join(sb.podDir, "volumes", "data");
    const config = join(sb.podDir, "volumes", "config");
    await mkdir(data, { recursive: true });
    await mkdir(config, { recursive: true });
    await writeFile(join(config, "settings"), "mode=test\n");
    const c = testContainer(env, sb, "main", {
      command: ["sh", "-c"],
      args: [
        'pwd; echo "$MODE" > /data/out; cat /config/settings; touch /config/x 2>/dev/null && echo writable || echo ro',
      ],
      env: { MODE: "from-env" },
      workingDir: "/data",
      mounts: [
        { hostPath: data, containerPath: "/data", readOnly: false },
        { hostPath: config, containerPath: "/config", readOnly: true },
      ],
    });
    const pod = await runTestPod(env, sb, [c]);
    expect(await waitExited(env, pod.containerIds[0])).toMatchObject({ exitCode: 0 });
    expect(await readFile(join(data, "out"), "utf8")).toBe("from-env\n");
    const log = await readFile(c.logPath, "utf8");
    expect(log).toMatch(/stdout F \/data\n/);
    expect(log).toMatch(/stdout F mode=test\n/);
    expect(log).toMatch(/stdout F ro\n/);
    expect(existsSync(join(config, "x"))).toBe(false);
  });
});
