/** pulling: pull every image not yet pulled; a failure is ErrImagePull, then back-off. */
import { PullError } from "../../runtime/types.ts";
import { deleting } from "../context.ts";
import { all, now } from "./common.ts";
import { defineState } from "./state.ts";

/** Pulls the pod's images in container order. */
export const pulling = defineState({
  name: "pulling",
  next: ["starting", "pullBackoff", "terminating"],
  async run(ctx) {
    for (const c of all(ctx)) {
      if (deleting(ctx)) return "terminating";
      if (c.pulled || c.done) continue;
      const image = c.spec.image ?? "";
      const asked = c.spec.imagePullPolicy;
      const policy =
        asked === "Always" || asked === "IfNotPresent" || asked === "Never"
          ? asked
          : /:latest$|^[^:@]+$/.test(image.split("/").pop() ?? "")
            ? "Always"
            : "IfNotPresent";
      try {
        const auth = await ctx.deps.pullAuth?.(ctx.pod, image);
        const result = await ctx.runtime.pullImage(image, { policy, auth });
        c.pulled = true;
        c.imageID = result.digest;
      } catch (error) {
        const reason = error instanceof PullError ? error.reason : "ErrImagePull";
        c.state = { waiting: { reason, message: (error as Error).message } };
        const delay = ctx.deps.pullBackoff.failure(`${ctx.pod.metadata.uid}/pull/${image}`, now(ctx));
        c.restartAt = now(ctx) + delay;
        await ctx.report();
        return "pullBackoff";
      }
    }
    return "starting";
  },
});
