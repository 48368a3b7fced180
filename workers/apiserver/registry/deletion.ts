/**
 * What DELETE does to an object (kube's generic/registry BeforeDelete and
 * deletion with finalizers): check the preconditions, then either remove
 * it now, or set deletionTimestamp (graceful deletion, finalizers, the
 * garbage collector's foregroundDeletion/orphan finalizer) and keep it.
 * Decided here, written by the guaranteed update.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { UpdateOutcome } from "./guaranteed-update.ts";
import { sameVersion } from "./keys.ts";
import type { RequestContext, ResourceInfo } from "./types.ts";

/** Delete options (metav1.DeleteOptions subset). */
export interface DeleteRequest {
  gracePeriodSeconds?: number;
  /** Foreground/Orphan add the foregroundDeletion/orphan finalizer for the garbage collector; Background (default) does not. */
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

function checkPreconditions(info: ResourceInfo, object: KubeObject, options: DeleteRequest): void {
  const meta = object.metadata ?? {};
  const name = meta.name ?? "";
  const pre = options.preconditions;
  if (pre?.uid && pre.uid !== meta.uid)
    throw errors.conflict(
      info.resource,
      name,
      `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`,
      info.group,
    );
  if (pre?.resourceVersion && !sameVersion(pre.resourceVersion, meta.resourceVersion))
    throw errors.conflict(
      info.resource,
      name,
      `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
      info.group,
    );
}

/** The outcome of deleting `object` (the current stored state, not changed here). */
export function deleteOutcome(
  info: ResourceInfo,
  object: KubeObject,
  ctx: RequestContext,
  options: DeleteRequest,
): UpdateOutcome {
  checkPreconditions(info, object, options);
  const meta = object.metadata!;
  const grace = info.strategy.gracePeriod?.(object, options.gracePeriodSeconds);
  const graceful = grace !== undefined && grace > 0;
  const policy = options.propagationPolicy;
  if (policy && !["Foreground", "Background", "Orphan"].includes(policy))
    throw new ApiError("BadRequest", `unsupported propagationPolicy "${policy}"`);
  const gcFinalizer =
    !meta.deletionTimestamp && policy === "Foreground"
      ? "foregroundDeletion"
      : !meta.deletionTimestamp && policy === "Orphan"
        ? "orphan"
        : undefined;
  const pending = (meta.finalizers?.length ?? 0) > 0 || gcFinalizer !== undefined;
  if (!graceful && !pending) return { type: "delete", object };
  const next = structuredClone(object);
  const nm = next.metadata!;
  if (gcFinalizer && !(nm.finalizers ?? []).includes(gcFinalizer))
    nm.finalizers = [...(nm.finalizers ?? []), gcFinalizer];
  const seconds = graceful ? grace : 0;
  // Already deleting with a grace period no longer than this one: nothing to shorten.
  if (nm.deletionTimestamp && (nm.deletionGracePeriodSeconds ?? 0) <= seconds)
    return { type: "none", object };
  nm.deletionTimestamp = timestamp(new Date(ctx.now.getTime() + seconds * 1000));
  nm.deletionGracePeriodSeconds = seconds;
  return { type: "update", object: next };
}

/** The request's metav1.DeleteOptions as admission shows them (AdmissionRequest.options of a DELETE). */
export function deleteOptionsObject(options: DeleteRequest, dryRun: boolean): Record<string, unknown> {
  const object: Record<string, unknown> = { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1" };
  if (options.gracePeriodSeconds !== undefined) object.gracePeriodSeconds = options.gracePeriodSeconds;
  if (options.preconditions) object.preconditions = options.preconditions;
  if (options.propagationPolicy) object.propagationPolicy = options.propagationPolicy;
  if (dryRun) object.dryRun = ["All"];
  return object;
}
