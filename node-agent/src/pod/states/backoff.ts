/** backoff: nothing runs; wait for the earliest crash back-off to end (CrashLoopBackOff). */
import { deleting } from "../context.ts";
import { all, now } from "./common.ts";
import { defineState } from "./state.ts";

/** Sleeps until a container is due to start again. */
export const backoff = defineState({
  name: "backoff",
  next: ["starting", "terminating"],
  async run(ctx) {
    await ctx.report();
    for (;;) {
      if (deleting(ctx)) return "terminating";
      const until = Math.min(
        ...all(ctx)
          .filter((c) => c.needsStart)
          .map((c) => c.restartAt ?? 0),
      );
      if (!(until > now(ctx))) return "starting";
      await ctx.sleep(until - now(ctx));
    }
  },
});
