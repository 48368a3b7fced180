/** running: watch the containers (exits, probes) every sync period and hand over when something is due. */
import { deleting } from "../context.ts";
import { all, now, syncMs } from "./common.ts";
import { observe } from "./observe.ts";
import { defineState } from "./state.ts";

/** Stays until a container must start, everything waits in back-off, the pod finished, or it is deleted. */
export const running = defineState({
  name: "running",
  next: ["running", "starting", "backoff", "terminating", "terminated"],
  async run(ctx) {
    for (;;) {
      if (deleting(ctx)) return "terminating";
      await observe(ctx);
      await ctx.report();
      if (ctx.finalPhase === "Failed") return "terminated";
      const nextInit = ctx.inits.find((c) => !c.done);
      if (nextInit && !("running" in nextInit.state) && !nextInit.needsStart) return "starting";
      const pending = all(ctx).filter((c) => c.needsStart);
      if (!nextInit && pending.some((c) => (c.restartAt ?? 0) <= now(ctx))) return "starting";
      const anyRunning = all(ctx).some((c) => "running" in c.state);
      if (!anyRunning && pending.length > 0) return "backoff";
      if (!anyRunning && ctx.mains.every((c) => c.done)) {
        ctx.finalPhase = ctx.mains.every((c) => c.state.terminated?.exitCode === 0) ? "Succeeded" : "Failed";
        return "terminated";
      }
      const nextRestart = Math.min(...pending.map((c) => c.restartAt ?? Number.POSITIVE_INFINITY));
      await ctx.sleep(Math.max(1, Math.min(syncMs(ctx), nextRestart - now(ctx))));
    }
  },
});
