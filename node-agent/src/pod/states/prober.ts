/** Starting a container's probes, wired to its record and the worker's wake-up. */
import type { ContainerRecord, PodContext } from "../context.ts";
import { ContainerProber } from "../probes.ts";
import { emit } from "./common.ts";

/** (Re)start the probes of a running main container; init containers are never probed. */
export function startProber(ctx: PodContext, c: ContainerRecord): void {
  c.prober?.stop();
  if (c.init) {
    c.ready = false;
    c.started = false;
    return;
  }
  const prober = new ContainerProber(
    c.spec,
    { podIP: ctx.podIP ?? ctx.deps.hostIP, containerId: c.id ?? "", runtime: ctx.runtime, container: c.spec },
    ctx.deps.clock,
    ctx.deps.probe,
    {
      changed: () => {
        c.ready = prober.ready;
        c.started = prober.started;
        ctx.poke();
      },
      failed: (kind) =>
        emit(ctx, c, "Warning", "Unhealthy", `${kind[0].toUpperCase()}${kind.slice(1)} probe failed`),
      kill: (reason) => {
        c.killing = reason;
        ctx.poke();
      },
    },
  );
  c.prober = prober;
  c.ready = prober.ready;
  c.started = prober.started;
  prober.start();
}
