/** pulling: pull every image not yet pulled; a failure is ErrImagePull, then back-off. */
import { PullError } from "../../runtime/types.ts";
import { deleting } from "../context.ts";
import { all, emit, now } from "./common.ts";
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
        const began = now(ctx);
        // Kubelet looks first and says Pulling only when it pulls; the runtime tells after the fact (present),
        // so Pulling is said up front only when a pull is certain (policy Always).
        if (policy === "Always") emit(ctx, c, "Normal", "Pulling", `Pulling image "${image}"`);
        const result = await ctx.runtime.pullImage(image, { policy, auth });
        const took = goDuration(now(ctx) - began);
        if (result.present)
          emit(ctx, c, "Normal", "Pulled", `Container image "${image}" already present on machine`);
        else {
          if (policy !== "Always") emit(ctx, c, "Normal", "Pulling", `Pulling image "${image}"`);
          emit(
            ctx,
            c,
            "Normal",
            "Pulled",
            `Successfully pulled image "${image}" in ${took} (${took} including waiting)`,
          );
        }
        c.pulled = true;
        c.imageID = result.digest;
      } catch (error) {
        const reason = error instanceof PullError ? error.reason : "ErrImagePull";
        c.state = { waiting: { reason, message: (error as Error).message } };
        emit(ctx, c, "Warning", "Failed", `Failed to pull image "${image}": ${(error as Error).message}`);
        emit(ctx, c, "Warning", "Failed", `Error: ${reason}`);
        const delay = ctx.deps.pullBackoff.failure(`${ctx.pod.metadata.uid}/pull/${image}`, now(ctx));
        c.restartAt = now(ctx) + delay;
        await ctx.report();
        return "pullBackoff";
      }
    }
    return "starting";
  },
});

/** A duration as Go's time.Duration prints it (kubelet's messages): 850ms, 1.25s, 2m3.5s. */
export function goDuration(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))}ms`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = `${Number(((ms % 60_000) / 1000).toFixed(3))}s`;
  return minutes ? `${minutes}m${seconds}` : seconds;
}
