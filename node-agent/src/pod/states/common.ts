/** Small helpers the state units share. */
import type { EventType } from "../../events/recorder.ts";
import type { ContainerRecord, PodContext } from "../context.ts";

/** How long a watching state sleeps between checks (ms). */
export const syncMs = (ctx: PodContext) => ctx.deps.syncPeriodMs ?? 1000;
/** The clock's now, in ms. */
export const now = (ctx: PodContext) => ctx.deps.clock.now().getTime();
/** Init containers then main containers. */
export const all = (ctx: PodContext) => [...ctx.inits, ...ctx.mains];
/** The crash back-off key of one container of this pod. */
export const backoffKey = (ctx: PodContext, c: ContainerRecord) => `${ctx.pod.metadata.uid}/${c.spec.name}`;
/** Record a kubelet event on the pod, about container `c` (fieldPath spec.containers{name}) or the pod itself. */
export function emit(
  ctx: PodContext,
  c: ContainerRecord | undefined,
  type: EventType,
  reason: string,
  message: string,
) {
  const fieldPath = c ? `spec.${c.init ? "initContainers" : "containers"}{${c.spec.name}}` : undefined;
  ctx.deps.events?.pod(ctx.pod, fieldPath, type, reason, message);
}
