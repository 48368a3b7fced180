/**
 * One look at every container the runtime runs for the pod: kill what a
 * probe condemned, record exits, and decide restarts (restartPolicy + crash
 * back-off). The running state calls it once per sync.
 */
import { containerUri, type PodContext } from "../context.ts";
import { all, backoffKey, emit, now } from "./common.ts";

/** Update the container records from the runtime; sets ctx.finalPhase when an init container failed for good. */
export async function observe(ctx: PodContext): Promise<void> {
  const policy = ctx.pod.spec.restartPolicy ?? "Always";
  for (const c of all(ctx)) {
    if (!c.id || !("running" in c.state)) continue;
    if (c.killing) {
      const grace = ctx.pod.spec.terminationGracePeriodSeconds ?? 30;
      ctx.deps.log?.(c.killing);
      emit(ctx, c, "Normal", "Killing", c.killing);
      await ctx.runtime.stopContainer(c.id, grace);
    }
    const status = await ctx.runtime.containerStatus(c.id);
    if (status?.state !== "exited") continue;
    c.prober?.stop();
    c.ready = false;
    c.started = false;
    const exitCode = status.exitCode ?? 255;
    c.state = {
      terminated: {
        exitCode,
        reason: status.reason ?? (exitCode === 0 ? "Completed" : "Error"),
        ...(status.message ? { message: status.message } : {}),
        startedAt: c.state.running?.startedAt,
        finishedAt: (status.finishedAt ?? ctx.deps.clock.now()).toISOString(),
        containerID: containerUri(ctx, c.id),
      },
    };
    if (status.reason === "OOMKilled") {
      const { name, namespace } = ctx.pod.metadata;
      ctx.deps.events?.node(
        "Warning",
        "OOMKilling",
        `Memory cgroup out of memory: Killed container ${c.spec.name} of pod ${namespace}/${name}`,
      );
    }
    const failed = exitCode !== 0;
    if (c.init && !failed) {
      c.done = true;
      continue;
    }
    const restart =
      policy === "Always" || (policy === "OnFailure" && failed) || (c.init && failed && policy !== "Never");
    if (!restart) {
      c.done = true;
      if (c.init) ctx.finalPhase = "Failed";
      continue;
    }
    const finishedAt = status.finishedAt?.getTime() ?? now(ctx);
    const wait = ctx.deps.crashBackoff.check(backoffKey(ctx, c), finishedAt, now(ctx));
    c.needsStart = true;
    c.failedAt = finishedAt;
    c.restartAt = wait > 0 ? now(ctx) + wait : undefined;
  }
  for (const c of all(ctx)) {
    if (c.needsStart && (c.restartAt ?? 0) > now(ctx) && "terminated" in c.state) {
      const delay = ctx.deps.crashBackoff.delay(backoffKey(ctx, c)) / 1000;
      c.lastState = c.state;
      const { name, namespace, uid } = ctx.pod.metadata;
      emit(
        ctx,
        c,
        "Warning",
        "BackOff",
        `Back-off restarting failed container ${c.spec.name} in pod ${name}_${namespace}(${uid})`,
      );
      c.state = {
        waiting: {
          reason: "CrashLoopBackOff",
          message: `back-off ${delay}s restarting failed container=${c.spec.name} pod=${ctx.pod.metadata.name}_${ctx.pod.metadata.namespace}(${ctx.pod.metadata.uid})`,
        },
      };
    }
  }
  if (
    ctx.inits.some((c) => c.done && c.init && "terminated" in c.state && c.state.terminated?.exitCode !== 0)
  )
    ctx.finalPhase = "Failed";
}
