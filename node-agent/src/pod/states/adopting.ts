/**
 * adopting: after an agent (re)start, take over containers the runtime
 * already runs for this pod instead of restarting them; a pod that finished
 * before this agent started is never run again.
 */
import { deleting } from "../context.ts";
import { all } from "./common.ts";
import { startProber } from "./prober.ts";
import { defineState } from "./state.ts";

/** The first state of every pod worker. */
export const adopting = defineState({
  name: "adopting",
  next: ["pulling", "running", "terminating", "terminated"],
  async run(ctx) {
    const uid = ctx.pod.metadata.uid ?? "";
    const phase = ctx.pod.status?.phase;
    if ((phase === "Succeeded" || phase === "Failed") && !deleting(ctx)) {
      // Finished before this agent started: never run it again, just keep its final status.
      ctx.finalPhase = phase;
      const old = [
        ...(ctx.pod.status?.containerStatuses ?? []),
        ...(ctx.pod.status?.initContainerStatuses ?? []),
      ];
      for (const c of all(ctx)) {
        const o = old.find((s) => s.name === c.spec.name);
        if (o)
          Object.assign(c, {
            state: o.state,
            lastState: o.lastState,
            restartCount: o.restartCount,
            imageID: o.imageID,
          });
        c.done = true;
        c.needsStart = false;
      }
      return "terminated";
    }
    const sandbox = (await ctx.runtime.listSandboxes()).find((s) => s.podUid === uid && s.state === "ready");
    let adopted = false;
    if (sandbox) {
      ctx.sandboxId = sandbox.id;
      ctx.podIP = sandbox.ip ?? ctx.deps.hostIP;
      const previous = ctx.pod.status;
      const containers = await ctx.runtime.listContainers(sandbox.id);
      for (const c of all(ctx)) {
        const mine = containers
          .filter((x) => x.name === c.spec.name)
          .sort((a, b) => (a.startedAt?.getTime() ?? 0) - (b.startedAt?.getTime() ?? 0));
        const latest = mine[mine.length - 1];
        const old = [...(previous?.containerStatuses ?? []), ...(previous?.initContainerStatuses ?? [])].find(
          (s) => s.name === c.spec.name,
        );
        c.restartCount = old?.restartCount ?? 0;
        if (old?.lastState) c.lastState = old.lastState;
        if (!latest) continue;
        adopted = true;
        c.id = latest.id;
        c.pulled = true;
        c.imageID = latest.imageId ?? "";
        let startedAt = latest.startedAt;
        if (latest.state === "created") {
          // Created but never started: the last agent died between CreateContainer and
          // StartContainer. Adopted as it was, it sat "running" in the status for ever and never
          // ran; start it now (a failure throws, and the worker retries adopting).
          await ctx.runtime.startContainer(latest.id);
          startedAt = ctx.deps.clock.now();
        }
        // Seen as running: observe() then records an exit and decides restarts as for any exit.
        c.needsStart = false;
        c.state = { running: { startedAt: startedAt?.toISOString() } };
        if (latest.state === "running" || latest.state === "created") startProber(ctx, c);
      }
      if (adopted) for (const c of ctx.inits) c.done = c.done || ctx.mains.some((m) => m.id);
    }
    if (deleting(ctx)) return "terminating";
    if (adopted) return "running";
    return "pulling";
  },
});
