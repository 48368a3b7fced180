/** terminated: final status; once the pod is deleted, remove its sandbox and release the object. */
import { deleting } from "../context.ts";
import { all, backoffKey } from "./common.ts";
import { defineState } from "./state.ts";

/** Keeps a finished pod until it is deleted, then cleans up and ends the worker. */
export const terminated = defineState({
  name: "terminated",
  next: ["done"],
  async run(ctx) {
    for (const c of all(ctx)) c.prober?.stop();
    if (!deleting(ctx)) {
      // A finished pod stays (Succeeded/Failed) until someone deletes it; its containers are stopped already.
      await ctx.report();
      while (!deleting(ctx)) await ctx.sleep(60_000);
      for (const c of all(ctx)) if (c.id && "running" in c.state) await ctx.runtime.stopContainer(c.id, 0);
    } else {
      await ctx.report();
    }
    if (ctx.sandboxId) await ctx.runtime.removeSandbox(ctx.sandboxId);
    for (const c of all(ctx)) {
      ctx.deps.crashBackoff.reset(backoffKey(ctx, c));
    }
    await ctx.deps.release(ctx.pod);
    return "done";
  },
});
