/**
 * The spec/status split shared by every kind with a status subresource
 * (the PrepareForCreate/PrepareForUpdate/PrepareForStatusUpdate trio of
 * kube strategies): a main-resource write never changes status, a status
 * write never changes anything else.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { Strategy } from "../registry/types.ts";

/** The three prepare hooks for a kind whose status is a subresource; `initial` is the status on create. */
export function statusSplit(
  initial: () => Record<string, unknown> | undefined = () => undefined,
): Pick<Strategy, "prepareForCreate" | "prepareForUpdate" | "prepareForStatusUpdate"> {
  return {
    prepareForCreate(object) {
      const status = initial();
      if (status === undefined) delete object.status;
      else object.status = status;
    },
    prepareForUpdate(object, old) {
      if (old.status === undefined) delete object.status;
      else object.status = structuredClone(old.status);
    },
    prepareForStatusUpdate(object, old) {
      // Everything but status comes from the stored object (metadata is handled generically).
      for (const key of Object.keys(object)) {
        if (key !== "status" && key !== "metadata" && key !== "apiVersion" && key !== "kind")
          delete object[key];
      }
      for (const key of Object.keys(old)) {
        if (key !== "status" && key !== "metadata" && key !== "apiVersion" && key !== "kind")
          object[key] = structuredClone(old[key]);
      }
    },
  };
}

/** The default specChanged: whether `spec` differs (JSON comparison). */
export function specDiffers(object: KubeObject, old: KubeObject): boolean {
  return JSON.stringify(object.spec ?? null) !== JSON.stringify(old.spec ?? null);
}

/** A condition entry, as in most status.conditions lists. */
export interface Condition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  lastProbeTime?: string | null;
  lastHeartbeatTime?: string;
}

/** The conditions list of an object's status (empty when unset). */
export function conditions(object: KubeObject): Condition[] {
  return ((object.status as { conditions?: Condition[] } | undefined)?.conditions ?? []) as Condition[];
}
