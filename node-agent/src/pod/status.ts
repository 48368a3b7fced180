/**
 * Builds a kubelet-style PodStatus from the state machine's view: phase,
 * the four conditions (keeping lastTransitionTime when a condition did not
 * change), container statuses, IPs, start time and QoS class.
 */
import { type ContainerRecord, containerUri, type PodContext } from "./context.ts";
import type { ContainerStatusJson, Pod, PodCondition, PodStatus } from "./k8s.ts";
import { parseQuantity } from "./k8s.ts";

/** The status to write for the pod right now. */
export function buildStatus(ctx: PodContext): PodStatus {
  const now = ctx.deps.clock.now().toISOString();
  const initialized = ctx.inits.every((c) => c.done);
  const containersReady = ctx.mains.every((c) => c.ready && "running" in c.state);
  const previous = ctx.pod.status?.conditions ?? [];
  const condition = (type: string, ok: boolean, reason?: string, message?: string): PodCondition => {
    const status = ok ? "True" : "False";
    const old = previous.find((c) => c.type === type);
    const c: PodCondition = {
      type,
      status,
      lastProbeTime: null,
      lastTransitionTime: old && old.status === status ? old.lastTransitionTime : now,
    };
    if (!ok && reason) {
      c.reason = reason;
      if (message) c.message = message;
    }
    return c;
  };
  const notReady = ctx.mains.filter((c) => !c.ready).map((c) => c.spec.name);
  const notReadyMessage = `containers with unready status: [${notReady.join(" ")}]`;
  const phase = podPhase(ctx);
  const terminal = phase === "Succeeded" || phase === "Failed";
  const status: PodStatus = {
    phase,
    conditions: [
      condition("PodReadyToStartContainers", ctx.sandboxId !== undefined),
      condition(
        "Initialized",
        initialized,
        "ContainersNotInitialized",
        `containers with incomplete status: [${ctx.inits
          .filter((c) => !c.done)
          .map((c) => c.spec.name)
          .join(" ")}]`,
      ),
      condition(
        "Ready",
        containersReady && !terminal,
        terminal ? "PodCompleted" : "ContainersNotReady",
        terminal ? undefined : notReadyMessage,
      ),
      condition(
        "ContainersReady",
        containersReady && !terminal,
        terminal ? "PodCompleted" : "ContainersNotReady",
        terminal ? undefined : notReadyMessage,
      ),
      condition("PodScheduled", true),
    ],
    hostIP: ctx.deps.hostIP,
    hostIPs: [{ ip: ctx.deps.hostIP }],
    startTime: ctx.startTime,
    containerStatuses: ctx.mains.map((c) => containerStatus(ctx, c)),
    qosClass: qosClass(ctx.pod),
  };
  if (ctx.podIP) {
    status.podIP = ctx.podIP;
    status.podIPs = [{ ip: ctx.podIP }];
  }
  if (ctx.inits.length) status.initContainerStatuses = ctx.inits.map((c) => containerStatus(ctx, c));
  return status;
}

function containerStatus(ctx: PodContext, c: ContainerRecord): ContainerStatusJson {
  const status: ContainerStatusJson = {
    name: c.spec.name,
    state: c.state,
    lastState: c.lastState,
    ready: c.ready && "running" in c.state,
    restartCount: c.restartCount,
    image: c.spec.image ?? "",
    imageID: c.imageID,
    started: "running" in c.state && c.started,
  };
  if (c.id) status.containerID = containerUri(ctx, c.id);
  return status;
}

/** Pending until every container has started at least once; Succeeded/Failed once finished for good. */
export function podPhase(ctx: PodContext): NonNullable<PodStatus["phase"]> {
  if (ctx.finalPhase) return ctx.finalPhase;
  if (!ctx.inits.every((c) => c.done)) return "Pending";
  const everStarted = ctx.mains.every(
    (c) => "running" in c.state || "terminated" in c.state || c.restartCount > 0,
  );
  return everStarted ? "Running" : "Pending";
}

/** Guaranteed, Burstable or BestEffort, by the rules of pkg/apis/core/v1/helper/qos. */
export function qosClass(pod: Pod): "Guaranteed" | "Burstable" | "BestEffort" {
  const containers = [...(pod.spec.initContainers ?? []), ...pod.spec.containers];
  let any = false;
  let guaranteed = true;
  for (const c of containers) {
    const limits = c.resources?.limits ?? {};
    const requests = { ...limits, ...(c.resources?.requests ?? {}) };
    for (const resource of ["cpu", "memory"]) {
      if (requests[resource] !== undefined || limits[resource] !== undefined) any = true;
      if (
        limits[resource] === undefined ||
        parseQuantity(requests[resource]) !== parseQuantity(limits[resource])
      )
        guaranteed = false;
    }
  }
  if (!any) return "BestEffort";
  return guaranteed ? "Guaranteed" : "Burstable";
}
