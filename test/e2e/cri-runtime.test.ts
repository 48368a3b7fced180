/**
 * The container runtime against real containerd + runc + CNI: sandbox and
 * container lifecycle, CRI log files, pod IPs, exit codes, exec, graceful
 * stop and cleanup, adoption after an agent restart, pull errors.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { existingCgroupDirs } from "../../node-agent/src/runtime/cri/cgroups.ts";
import { CriRuntime, ExecTimeoutError } from "../../node-agent/src/runtime/cri/index.ts";
import {
  type CriTestEnv,
  runTestPod,
  sandboxNetns,
  startCriTestEnv,
  testContainer,
  testSandbox,
  waitExited,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { PullError } from "../../node-agent/src/runtime/types.ts";

describe("CriRuntime on containerd + runc", () => {
  let env: CriTestEnv;
  beforeAll(async () => {
    env = await startCriTestEnv();
  });
  afterAll(async () => {
    await env?.stop();
  });

  it("runs a sandbox and a container: pod IP from the pod CIDR, output in the CRI log file, exit 0 = Completed", async () => {
    const sandbox = testSandbox(env, "hello");
    const c = testContainer(env, sandbox, "main", {
      command: ["sh", "-c"],
      args: ['echo "hello $GREETING from $(hostname)"; echo oops >&2'],
      env: { GREETING: "world" },
    });
    const pod = await runTestPod(env, sandbox, [c]);
    expect(pod.ip).toMatch(new RegExp(`^${env.podCidr.split(".").slice(0, 3).join("\\.")}\\.\\d+$`));
    const status = await waitExited(env, pod.containerIds[0]);
    expect(status).toMatchObject({ name: "main", state: "exited", exitCode: 0, reason: "Completed" });
    expect(status.startedAt).toBeInstanceOf(Date);
    // containerd stamps startedAt when runc's start returns and finishedAt from the exit event, so a
    // process this short can "finish" a moment before it "started": check both are real and close.
    expect(status.finishedAt).toBeInstanceOf(Date);
    expect(Math.abs(status.finishedAt!.getTime() - status.startedAt!.getTime())).toBeLessThan(10_000);
    expect(status.startedAt!.getTime()).toBeGreaterThan(Date.now() - 120_000);
    expect(status.imageId).toBeTruthy();
    const log = await readFile(c.logPath, "utf8");
    const lines = log.trim().split("\n");
    // CRI format: "<RFC3339Nano> <stream> <P|F> <line>"
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z stdout F hello world from hello$/));
    expect(lines).toContainEqual(expect.stringMatching(/^\S+Z stderr F oops$/));
    const sb = await env.runtime.sandboxStatus(pod.sandboxId);
    expect(sb).toEqual({ id: pod.sandboxId, state: "ready", ip: pod.ip });
  });

  it("reports a non-zero exit code with reason Error", async () => {
    const sandbox = testSandbox(env, "fails");
    const pod = await runTestPod(env, sandbox, [
      testContainer(env, sandbox, "main", { command: ["sh", "-c", "exit 3"] }),
    ]);
    const status = await waitExited(env, pod.containerIds[0]);
    expect(status).toMatchObject({ state: "exited", exitCode: 3, reason: "Error" });
  });

  it("restarts a container in the same sandbox under a new attempt", async () => {
    const sandbox = testSandbox(env, "restarts");
    const c = testContainer(env, sandbox, "main", { command: ["sh", "-c", "echo run; exit 1"] });
    const pod = await runTestPod(env, sandbox, [c]);
    await waitExited(env, pod.containerIds[0]);
    const second = await env.runtime.createContainer(
      pod.sandboxId,
      { ...c, logPath: `${c.logPath}.1` },
      sandbox,
    );
    await env.runtime.startContainer(second);
    expect(second).not.toBe(pod.containerIds[0]);
    expect(await waitExited(env, second)).toMatchObject({ exitCode: 1 });
    expect((await env.runtime.listContainers(pod.sandboxId)).map((x) => x.id).sort()).toEqual(
      [pod.containerIds[0], second].sort(),
    );
  });

  it("runs exec probes through ExecSync: exit codes, output, timeouts", async () => {
    const sandbox = testSandbox(env, "exec");
    const pod = await runTestPod(env, sandbox, [
      testContainer(env, sandbox, "main", {
        command: ["sh", "-c", "echo ready > /tmp/ready; exec sleep 3600"],
      }),
    ]);
    const id = pod.containerIds[0];
    await waitFor(
      async () => (await env.runtime.containerStatus(id))?.state === "running",
      10_000,
      "running",
    );
    const ok = await env.runtime.execSync(id, ["cat", "/tmp/ready"], 5);
    expect(ok.exitCode).toBe(0);
    expect(Buffer.from(ok.stdout).toString()).toBe("ready\n");
    const bad = await env.runtime.execSync(id, ["sh", "-c", "echo nope >&2; exit 7"], 5);
    expect(bad.exitCode).toBe(7);
    expect(Buffer.from(bad.stderr).toString()).toBe("nope\n");
    await expect(env.runtime.execSync(id, ["sleep", "30"], 1)).rejects.toBeInstanceOf(ExecTimeoutError);
  });

  it("stops with the grace period (TERM honoured → 0; TERM ignored → KILL after the grace period) and leaves no sandbox, container, netns or cgroup", async () => {
    const sandbox = testSandbox(env, "graceful");
    const polite = testContainer(env, sandbox, "polite", {
      command: ["sh", "-c", "trap 'echo bye; exit 0' TERM; echo up; while true; do sleep 0.1; done"],
    });
    const stubborn = testContainer(env, sandbox, "stubborn", {
      command: ["sh", "-c", "trap '' TERM; echo up; while true; do sleep 0.1; done"],
    });
    const pod = await runTestPod(env, sandbox, [polite, stubborn]);
    const [politeId, stubbornId] = pod.containerIds;
    await waitFor(
      async () => (await readFile(stubborn.logPath, "utf8")).includes("up"),
      10_000,
      "stubborn up",
    );
    await waitFor(async () => (await readFile(polite.logPath, "utf8")).includes("up"), 10_000, "polite up");
    const netns = await sandboxNetns(env.runtime.client, pod.sandboxId);
    expect(netns).toMatch(/^\/var\/run\/netns\/cni-/);
    expect(existsSync(netns!)).toBe(true);
    const cgroupParent = `${env.cgroupRoot}/pod${sandbox.uid}`;
    expect(existingCgroupDirs(cgroupParent).length).toBeGreaterThan(0);

    await env.runtime.stopContainer(politeId, 10);
    expect(await env.runtime.containerStatus(politeId)).toMatchObject({ state: "exited", exitCode: 0 });
    expect(await readFile(polite.logPath, "utf8")).toMatch(/stdout F bye/);

    const stopAt = Date.now();
    await env.runtime.stopContainer(stubbornId, 2);
    const s = await env.runtime.containerStatus(stubbornId);
    expect(s).toMatchObject({ state: "exited", exitCode: 137 });
    // SIGKILL came only after the grace period (1 s of slack for clock granularity).
    expect(s!.finishedAt!.getTime()).toBeGreaterThanOrEqual(stopAt + 1_000);

    await env.runtime.stopSandbox(pod.sandboxId);
    await env.runtime.stopSandbox(pod.sandboxId); // idempotent
    await env.runtime.removeSandbox(pod.sandboxId);
    await env.runtime.removeSandbox(pod.sandboxId); // idempotent
    expect(await env.runtime.sandboxStatus(pod.sandboxId)).toBeUndefined();
    expect(await env.runtime.containerStatus(politeId)).toBeUndefined();
    expect((await env.runtime.listSandboxes()).map((x) => x.id)).not.toContain(pod.sandboxId);
    expect(await env.runtime.listContainers(pod.sandboxId)).toEqual([]);
    expect(existsSync(netns!)).toBe(false);
    expect(existingCgroupDirs(cgroupParent)).toEqual([]);
    const runcState = "/run/containerd/runc/k8s.io";
    for (const id of [politeId, stubbornId, pod.sandboxId])
      expect(existsSync(`${runcState}/${id}`)).toBe(false);
  });

  it("lets a restarted agent adopt its pods (labelled by pod UID) and remove orphans", async () => {
    const keep = testSandbox(env, "keep");
    const orphan = testSandbox(env, "orphan");
    const kept = await runTestPod(env, keep, [
      testContainer(env, keep, "main", { command: ["sleep", "3600"] }),
    ]);
    const orphaned = await runTestPod(env, orphan, [
      testContainer(env, orphan, "main", { command: ["sleep", "3600"] }),
    ]);
    const restarted = new CriRuntime({ endpoint: env.containerd.socket, cgroupRoot: env.cgroupRoot });
    try {
      const sandboxes = await restarted.listSandboxes();
      expect(sandboxes).toContainEqual({ id: kept.sandboxId, state: "ready", ip: kept.ip, podUid: keep.uid });
      expect(sandboxes).toContainEqual({
        id: orphaned.sandboxId,
        state: "ready",
        ip: orphaned.ip,
        podUid: orphan.uid,
      });
      const containers = await restarted.listContainers(kept.sandboxId);
      expect(containers).toEqual([
        expect.objectContaining({
          id: kept.containerIds[0],
          name: "main",
          state: "running",
          sandboxId: kept.sandboxId,
          podUid: keep.uid,
        }),
      ]);
      const live = new Set(
        (await restarted.listSandboxes()).map((s) => s.podUid).filter((u) => u !== orphan.uid),
      );
      expect(await restarted.removeOrphans(live)).toEqual([orphaned.sandboxId]);
      expect(await restarted.sandboxStatus(orphaned.sandboxId)).toBeUndefined();
      expect(await restarted.sandboxStatus(kept.sandboxId)).toMatchObject({ state: "ready" });
      // Removing a sandbox that was never stopped stops it first (network released, containers killed).
      await restarted.removeSandbox(kept.sandboxId);
      expect(await restarted.sandboxStatus(kept.sandboxId)).toBeUndefined();
      expect(await restarted.containerStatus(kept.containerIds[0])).toBeUndefined();
    } finally {
      await restarted.close();
    }
  });

  it("pulls per policy and reports pull failures as ErrImagePull / ErrImageNeverPull", async () => {
    const present = await env.runtime.pullImage(env.busybox, { policy: "IfNotPresent" });
    expect(present.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    // Never finds it present (kubelet's "already present" event); Always pulls it again, same digest.
    expect(await env.runtime.pullImage(env.busybox, { policy: "Never" })).toEqual({
      digest: present.digest,
      present: true,
    });
    expect(await env.runtime.pullImage(env.busybox, { policy: "Always" })).toEqual({
      digest: present.digest,
    });
    const missing = `${env.registry.host}/edgeplane/does-not-exist:1`;
    const err = await env.runtime.pullImage(missing, { policy: "IfNotPresent" }).catch((e) => e);
    expect(err).toBeInstanceOf(PullError);
    expect(err.reason).toBe("ErrImagePull");
    expect(err.message).toMatch(/not found/);
    const never = await env.runtime.pullImage(missing, { policy: "Never" }).catch((e) => e);
    expect(never).toMatchObject({ reason: "ErrImageNeverPull" });
  });
});
