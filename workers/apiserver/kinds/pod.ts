/**
 * core/v1 Pod (pkg/registry/core/pod/strategy.go): defaults, the spec/status
 * split, the narrow set of mutable spec fields, graceful deletion, printing.
 */

import type { Pod, Writable } from "../../client/types.ts";
import type { FieldError, RequestContext, Strategy } from "../registry/types.ts";
import { podStatusCells, podWideCells } from "./pod-print.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { list, obj, setDefault, specOf } from "./util.ts";
import { deepEqual, forbidden, invalid } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";
import { validatePodSpec } from "./validation/podspec.ts";
import { defaultPodSpec } from "./validation/podspec-defaults.ts";
import { qosClass } from "./validation/qos.ts";

const PHASES = ["Failed", "Pending", "Running", "Succeeded", "Unknown"];
const MUTABLE_MESSAGE =
  "pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)";

/** The default NoExecute tolerations the DefaultTolerationSeconds admission plugin adds. */
const DEFAULT_TOLERATIONS = ["node.kubernetes.io/not-ready", "node.kubernetes.io/unreachable"].map((key) => ({
  key,
  operator: "Exists",
  effect: "NoExecute",
  tolerationSeconds: 300,
}));

const split = statusSplit();

/** Apply what kube's default admission chain adds on create: service account, default tolerations (priority: admission/priority.ts). */
function admissionDefaults(pod: Pod): void {
  const spec = specOf(pod);
  // kube's ServiceAccount admission leaves mirror pods (a node's static pods) without a service account.
  if (pod.metadata?.annotations?.["kubernetes.io/config.mirror"] === undefined) {
    setDefault(spec, "serviceAccountName", "default");
    setDefault(spec, "serviceAccount", spec.serviceAccountName);
  }
  const tolerations = list(spec.tolerations);
  for (const t of DEFAULT_TOLERATIONS) {
    if (!tolerations.some((x) => x.key === t.key && (x.effect === "NoExecute" || !x.effect)))
      tolerations.push({ ...t });
  }
  spec.tolerations = tolerations;
}

/**
 * kube's ValidatePodSpecificAnnotationUpdates: a pod cannot become or stop being a mirror pod, or point
 * at another static pod (a node agent would stop running it, or take it for its own and delete it).
 */
function mirrorAnnotationErrors(pod: Pod, old: Pod): FieldError[] {
  const key = "kubernetes.io/config.mirror";
  const now = pod.metadata?.annotations?.[key];
  const before = old.metadata?.annotations?.[key];
  const field = `metadata.annotations[${key}]`;
  if (before !== undefined && now !== before)
    return [forbidden(field, "may not remove or update mirror pod annotation")];
  if (before === undefined && now !== undefined)
    return [forbidden(field, "may not add mirror pod annotation")];
  return [];
}

/** Spec updates allowed on a live pod: images, activeDeadlineSeconds, toleration additions. */
function validateSpecUpdate(pod: Pod, old: Pod, ctx: RequestContext): FieldError[] {
  const now = obj(pod.spec);
  const before = structuredClone(obj(old.spec));
  const errs: FieldError[] = [];
  // Copy the mutable fields onto the old spec; anything else that still differs is forbidden.
  for (const key of ["containers", "initContainers"]) {
    const a = list(now[key]);
    const b = list(before[key]);
    if (a.length === b.length)
      a.forEach((c, i) => {
        b[i].image = c.image;
      });
  }
  before.activeDeadlineSeconds = now.activeDeadlineSeconds;
  const oldDeadline = obj(old.spec).activeDeadlineSeconds as number | undefined;
  const newDeadline = now.activeDeadlineSeconds as number | undefined;
  if (oldDeadline !== undefined && (newDeadline === undefined || newDeadline > oldDeadline))
    errs.push(
      invalid(
        "spec.activeDeadlineSeconds",
        newDeadline ?? null,
        "must be less than or equal to previous value",
      ),
    );
  const oldTolerations = list(before.tolerations);
  const newTolerations = list(now.tolerations);
  if (oldTolerations.every((t) => newTolerations.some((n) => deepEqual(n, t))))
    before.tolerations = now.tolerations;
  if (ctx.subresource === "binding" && !before.nodeName) before.nodeName = now.nodeName;
  if (!deepEqual(before, now)) {
    const changed = Object.keys({ ...before, ...now }).filter((k) => !deepEqual(before[k], now[k]));
    errs.push(
      forbidden("spec", `${MUTABLE_MESSAGE}\n  changed: ${changed.map((k) => `spec.${k}`).join(", ")}`),
    );
  }
  return errs;
}

/** The Pod strategy. */
export const podStrategy: Strategy<Writable<Pod>> = {
  defaults(pod) {
    defaultPodSpec(specOf(pod));
  },
  prepareForCreate(pod, ctx) {
    split.prepareForCreate?.(pod, ctx);
    admissionDefaults(pod);
    pod.status = { phase: "Pending", qosClass: qosClass(obj(pod.spec)) };
  },
  prepareForUpdate(pod, old, ctx) {
    // pods/binding writes spec.nodeName and the PodScheduled condition together.
    if (ctx.subresource === "binding") return;
    split.prepareForUpdate?.(pod, old, ctx);
  },
  prepareForStatusUpdate: split.prepareForStatusUpdate,
  validate(pod) {
    return validatePodSpec(pod.spec, "spec");
  },
  validateUpdate: (pod, old, ctx) => [
    ...mirrorAnnotationErrors(pod, old),
    ...validateSpecUpdate(pod, old, ctx),
  ],
  validateStatusUpdate(pod, old) {
    return [...mirrorAnnotationErrors(pod, old), ...oneOf(obj(pod.status).phase, PHASES, "status.phase")];
  },
  specChanged: specDiffers,
  gracePeriod(pod, requested) {
    const spec = obj(pod.spec);
    const phase = obj(pod.status).phase;
    let period = requested ?? (spec.terminationGracePeriodSeconds as number | undefined) ?? 30;
    // Unscheduled or finished pods have nothing to stop: delete at once.
    if (!spec.nodeName || phase === "Succeeded" || phase === "Failed") period = 0;
    return period < 0 ? 1 : period;
  },
  columns: [
    col("Ready", "The aggregate readiness state of this pod for accepting traffic."),
    col("Status", "The aggregate status of the containers in this pod."),
    col(
      "Restarts",
      "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
    ),
    AGE,
    col("IP", "IP address allocated to the pod.", { wide: true }),
    col("Node", "Name of the node this pod is assigned to.", { wide: true }),
    col("Nominated Node", "Name of the node where the pod is nominated to run.", { wide: true }),
    col("Readiness Gates", "The readiness gates of this pod.", { wide: true }),
  ],
  row: (pod, now) => [...podStatusCells(pod, now), age(pod, now), ...podWideCells(pod)],
  fieldSelectors: {
    "spec.nodeName": (p) => p.spec?.nodeName ?? "",
    "spec.restartPolicy": (p) => p.spec?.restartPolicy ?? "",
    "spec.schedulerName": (p) => p.spec?.schedulerName ?? "",
    "spec.serviceAccountName": (p) => p.spec?.serviceAccountName ?? "",
    "spec.hostNetwork": (p) => String(obj(p.spec).hostNetwork === true),
    "status.phase": (p) => p.status?.phase ?? "",
    "status.podIP": (p) => p.status?.podIP ?? "",
    "status.nominatedNodeName": (p) => p.status?.nominatedNodeName ?? "",
  },
};
