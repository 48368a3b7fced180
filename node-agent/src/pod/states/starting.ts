/**
 * starting: create the sandbox, then start the next init container (one at a
 * time, in order) or every main container that is due.
 */

import { containerConfig, containerSandboxConfig, sandboxConfig } from "../container-config.ts";
import {
  ConfigError,
  type ContainerRecord,
  deleting,
  type PodContext,
  type PreparedPod,
} from "../context.ts";
import { all, backoffKey, emit, now } from "./common.ts";
import { startProber } from "./prober.ts";
import { defineState } from "./state.ts";

/** Starts what is due; a container that fails to start waits in back-off. */
export const starting = defineState({
  name: "starting",
  next: ["running", "backoff", "pulling", "terminating"],
  async run(ctx) {
    if (deleting(ctx)) return "terminating";
    if (all(ctx).some((c) => !c.pulled && !c.done)) return "pulling";
    const { pod, deps } = ctx;
    if (!ctx.sandboxId) {
      const sandbox = await ctx.runtime.runSandbox(sandboxConfig(pod, deps.podDir(pod), deps.clusterDns));
      ctx.sandboxId = sandbox.id;
      ctx.podIP = sandbox.ip ?? deps.hostIP;
    }
    const nextInit = ctx.inits.find((c) => !c.done);
    const due = nextInit
      ? "running" in nextInit.state
        ? []
        : [nextInit]
      : ctx.mains.filter((c) => c.needsStart && (c.restartAt ?? 0) <= now(ctx));
    let prepared: PreparedPod;
    try {
      prepared = await deps.prepare(pod, ctx.podIP ?? deps.hostIP);
    } catch (error) {
      const reason = error instanceof ConfigError ? "CreateContainerConfigError" : "CreateContainerError";
      recordPrepareFailure(ctx, due, (error as Error).message);
      for (const c of due) {
        c.state = { waiting: { reason, message: (error as Error).message } };
        c.restartAt = now(ctx) + 10_000;
      }
      await ctx.report();
      return "backoff";
    }
    for (const c of due) {
      // Leaving a crash back-off arms the next, doubled window (kubelet's backOff.Next on restart).
      if (c.failedAt !== undefined && c.restartAt !== undefined)
        ctx.deps.crashBackoff.check(backoffKey(ctx, c), c.failedAt, now(ctx));
      try {
        await startContainer(ctx, c, prepared);
      } catch (error) {
        // Runtimes name a refusal (e.g. CreateContainerConfigError for a privileged container).
        const reason = (error as { reason?: string }).reason ?? "RunContainerError";
        c.state = { waiting: { reason, message: (error as Error).message } };
        emit(ctx, c, "Warning", "Failed", `Error: ${(error as Error).message}`);
        c.restartAt = now(ctx) + ctx.deps.crashBackoff.failure(backoffKey(ctx, c), now(ctx));
      }
    }
    await ctx.report();
    return "running";
  },
});

/** Create and start one container; on a restart keep only the previous instance (for `kubectl logs --previous`). */
async function startContainer(ctx: PodContext, c: ContainerRecord, prepared: PreparedPod): Promise<void> {
  const { pod, deps } = ctx;
  const attempt = c.id || "terminated" in c.state ? c.restartCount + 1 : c.restartCount;
  const previousId = c.id;
  const podDir = deps.podDir(pod);
  const id = await ctx.runtime.createContainer(
    ctx.sandboxId ?? "",
    containerConfig(pod, c.spec, prepared, podDir, attempt),
    containerSandboxConfig(pod, podDir),
  );
  emit(ctx, c, "Normal", "Created", `Created container: ${c.spec.name}`);
  await ctx.runtime.startContainer(id);
  emit(ctx, c, "Normal", "Started", `Started container ${c.spec.name}`);
  if (previousId) {
    if ("terminated" in c.state) c.lastState = c.state;
    c.restartCount = attempt;
    // Keep only the previous instance, as the kubelet does.
    const stale = (await ctx.runtime.listContainers(ctx.sandboxId)).filter(
      (x) => x.name === c.spec.name && x.id !== id && x.id !== previousId,
    );
    for (const s of stale) await ctx.runtime.removeContainer(s.id);
  }
  c.id = id;
  c.needsStart = false;
  c.restartAt = undefined;
  c.failedAt = undefined;
  c.killing = undefined;
  const status = await ctx.runtime.containerStatus(id);
  c.state = { running: { startedAt: (status?.startedAt ?? deps.clock.now()).toISOString() } };
  startProber(ctx, c);
}

/**
 * Kubelet reports a volume it cannot set up as FailedMount on the pod, and a missing env source as Failed on the
 * container. prepare() does both at once, so the error is matched against the names the pod's volumes use.
 */
function recordPrepareFailure(ctx: PodContext, due: ContainerRecord[], message: string): void {
  const volume = (ctx.pod.spec.volumes ?? []).find((v) => {
    const names = [
      v.name,
      v.configMap?.name,
      v.secret?.secretName,
      v.persistentVolumeClaim?.claimName,
      ...(v.projected?.sources ?? []).flatMap((s) => [s.configMap?.name, s.secret?.name]),
    ];
    return names.some((n) => n && message.includes(`"${n}"`));
  });
  if (volume) {
    emit(
      ctx,
      undefined,
      "Warning",
      "FailedMount",
      `MountVolume.SetUp failed for volume "${volume.name}" : ${message}`,
    );
    return;
  }
  for (const c of due) emit(ctx, c, "Warning", "Failed", `Error: ${message}`);
}
