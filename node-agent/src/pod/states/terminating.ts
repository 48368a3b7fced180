/** terminating: graceful stop, SIGTERM then SIGKILL after the grace period, all containers in parallel. */
import { containerUri } from "../context.ts";
import { all, emit } from "./common.ts";
import { defineState } from "./state.ts";

/** Stops every running container and records how each ended. */
export const terminating = defineState({
  name: "terminating",
  next: ["terminated"],
  async run(ctx) {
    const grace =
      ctx.pod.metadata.deletionGracePeriodSeconds ?? ctx.pod.spec.terminationGracePeriodSeconds ?? 30;
    for (const c of all(ctx)) c.prober?.stop();
    for (const c of all(ctx))
      if (c.id && "running" in c.state)
        emit(ctx, c, "Normal", "Killing", `Stopping container ${c.spec.name}`);
    await Promise.all(
      all(ctx)
        .filter((c) => c.id && "running" in c.state)
        .map((c) => ctx.runtime.stopContainer(c.id ?? "", grace)),
    );
    for (const c of all(ctx)) {
      c.needsStart = false;
      c.ready = false;
      if (!c.id || !("running" in c.state)) {
        if ("waiting" in c.state) c.state = { terminated: { exitCode: 0, reason: "ContainerStatusUnknown" } };
        continue;
      }
      const status = await ctx.runtime.containerStatus(c.id);
      c.state = {
        terminated: {
          exitCode: status?.exitCode ?? 137,
          reason: status?.reason ?? "Error",
          startedAt: c.state.running?.startedAt,
          finishedAt: (status?.finishedAt ?? ctx.deps.clock.now()).toISOString(),
          containerID: containerUri(ctx, c.id),
        },
      };
    }
    return "terminated";
  },
});
