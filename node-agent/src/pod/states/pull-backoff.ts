/** pullBackoff: wait out an image pull back-off (ImagePullBackOff), then pull again. */
import { deleting } from "../context.ts";
import { all, emit, now } from "./common.ts";
import { defineState } from "./state.ts";

/** Waits until the earliest failed pull may be retried. */
export const pullBackoff = defineState({
  name: "pullBackoff",
  next: ["pulling", "terminating"],
  async run(ctx) {
    const waiting = all(ctx).filter((c) => !c.pulled && c.restartAt !== undefined);
    for (const c of waiting) {
      c.state = {
        waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${c.spec.image}"` },
      };
      emit(ctx, c, "Normal", "BackOff", `Back-off pulling image "${c.spec.image}"`);
      emit(ctx, c, "Warning", "Failed", "Error: ImagePullBackOff");
    }
    await ctx.report();
    const until = Math.min(...waiting.map((c) => c.restartAt ?? 0));
    while (now(ctx) < until) {
      if (deleting(ctx)) return "terminating";
      await ctx.sleep(until - now(ctx));
    }
    for (const c of waiting) c.restartAt = undefined;
    return deleting(ctx) ? "terminating" : "pulling";
  },
});
