/**
 * How `kubectl get pods` prints a pod: READY, STATUS (kubectl's printPod
 * logic: init progress, waiting/terminated reasons, Completed, Terminating),
 * RESTARTS, and the wide columns.
 */
import { since } from "./print.ts";
import { list, obj } from "./util.ts";

type Obj = Record<string, unknown>;

function isRestartableInit(c: Obj | undefined): boolean {
  return c?.restartPolicy === "Always";
}

function terminationReason(t: Obj, prefix: string): string {
  if (t.reason) return `${prefix}${t.reason}`;
  if (t.signal) return `${prefix}Signal:${t.signal}`;
  return `${prefix}ExitCode:${t.exitCode ?? 0}`;
}

function later(a: string, b: unknown): string {
  return typeof b === "string" && (!a || Date.parse(b) > Date.parse(a)) ? b : a;
}

/** What the printers read of a pod: any pod-shaped JSON (a typed Pod, or a status snapshot in a test). */
type PodLike = { metadata?: { deletionTimestamp?: string }; spec?: unknown; status?: unknown };

/** The cells READY, STATUS, RESTARTS of `kubectl get pods` (printPod). */
export function podStatusCells(pod: PodLike, now: Date): [string, string, string] {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const initSpecs = new Map(list(spec.initContainers).map((c) => [c.name as string, c]));
  let total = list(spec.containers).length;
  for (const c of initSpecs.values()) if (isRestartableInit(c)) total++;
  let ready = 0;
  let restarts = 0;
  let sidecarRestarts = 0;
  let lastRestart = "";
  let lastSidecarRestart = "";
  const phase = (status.phase as string | undefined) ?? "";
  let reason = (status.reason as string | undefined) || phase;
  for (const c of list(status.conditions)) {
    if (c.type === "PodScheduled" && c.reason === "SchedulingGated") reason = "SchedulingGated";
  }

  let initializing = false;
  const initStatuses = list(status.initContainerStatuses);
  for (let i = 0; i < initStatuses.length; i++) {
    const c = initStatuses[i];
    const state = obj(c.state);
    const lastTerminated = obj(obj(c.lastState).terminated);
    restarts += Number(c.restartCount ?? 0);
    lastRestart = later(lastRestart, lastTerminated.finishedAt);
    const restartable = isRestartableInit(initSpecs.get(c.name as string));
    if (restartable) {
      sidecarRestarts += Number(c.restartCount ?? 0);
      lastSidecarRestart = later(lastSidecarRestart, lastTerminated.finishedAt);
    }
    const terminated = state.terminated ? obj(state.terminated) : undefined;
    const waiting = state.waiting ? obj(state.waiting) : undefined;
    if (terminated && Number(terminated.exitCode ?? 0) === 0) continue;
    if (restartable && c.started === true) {
      if (c.ready) ready++;
      continue;
    }
    if (terminated) reason = terminationReason(terminated, "Init:");
    else if (waiting?.reason && waiting.reason !== "PodInitializing") reason = `Init:${waiting.reason}`;
    else reason = `Init:${i}/${initSpecs.size}`;
    initializing = true;
    break;
  }

  const initialized = list(status.conditions).some((c) => c.type === "Initialized" && c.status === "True");
  if (!initializing || initialized) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses = list(status.containerStatuses);
    for (let i = statuses.length - 1; i >= 0; i--) {
      const c = statuses[i];
      const state = obj(c.state);
      restarts += Number(c.restartCount ?? 0);
      lastRestart = later(lastRestart, obj(obj(c.lastState).terminated).finishedAt);
      const waiting = state.waiting ? obj(state.waiting) : undefined;
      const terminated = state.terminated ? obj(state.terminated) : undefined;
      if (waiting?.reason) reason = waiting.reason as string;
      else if (terminated) reason = terminationReason(terminated, "");
      else if (c.ready && state.running) {
        hasRunning = true;
        ready++;
      }
    }
    if (reason === "Completed" && hasRunning) {
      const podReady = list(status.conditions).some((c) => c.type === "Ready" && c.status === "True");
      reason = podReady ? "Running" : "NotReady";
    }
  }

  if (pod.metadata?.deletionTimestamp && status.reason === "NodeLost") reason = "Unknown";
  else if (pod.metadata?.deletionTimestamp && phase !== "Succeeded" && phase !== "Failed")
    reason = "Terminating";

  const restartText =
    restarts !== 0 && lastRestart ? `${restarts} (${since(lastRestart, now)} ago)` : `${restarts}`;
  return [`${ready}/${total}`, reason, restartText];
}

/** The wide cells IP, NODE, NOMINATED NODE, READINESS GATES. */
export function podWideCells(pod: PodLike): [string, string, string, string] {
  const spec = obj(pod.spec);
  const status = obj(pod.status);
  const ip =
    (list(status.podIPs)[0]?.ip as string | undefined) || (status.podIP as string | undefined) || "<none>";
  const gates = list(spec.readinessGates);
  let readiness = "<none>";
  if (gates.length > 0) {
    const conds = list(status.conditions);
    const trueCount = gates.filter((g) =>
      conds.some((c) => c.type === g.conditionType && c.status === "True"),
    ).length;
    readiness = `${trueCount}/${gates.length}`;
  }
  return [
    ip,
    (spec.nodeName as string | undefined) || "<none>",
    (status.nominatedNodeName as string | undefined) || "<none>",
    readiness,
  ];
}
