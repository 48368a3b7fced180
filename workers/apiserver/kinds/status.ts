/**
 * The spec/status split shared by every kind with a status subresource
 * (the PrepareForCreate/PrepareForUpdate/PrepareForStatusUpdate trio of
 * kube strategies): a main-resource write never changes status, a status
 * write never changes anything else.
 */
import type { Strategy } from "../registry/types.ts";

/** The three prepare hooks for a kind whose status is a subresource; `initial` is the status on create. */
export function statusSplit<T extends { status?: unknown }>(
  initial: () => T["status"] | undefined = () => undefined,
): Pick<Strategy<T>, "prepareForCreate" | "prepareForUpdate" | "prepareForStatusUpdate"> {
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
      // Reflect: the keys are whatever the body carried, not only T's declared fields.
      for (const key of Object.keys(object)) {
        if (key !== "status" && key !== "metadata" && key !== "apiVersion" && key !== "kind")
          Reflect.deleteProperty(object, key);
      }
      for (const key of Object.keys(old)) {
        if (key !== "status" && key !== "metadata" && key !== "apiVersion" && key !== "kind")
          Reflect.set(object, key, structuredClone(Reflect.get(old, key)));
      }
    },
  };
}

/** The default specChanged: whether `spec` differs (JSON comparison). */
export function specDiffers(object: { spec?: unknown }, old: { spec?: unknown }): boolean {
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
export function conditions(object: { status?: { conditions?: Condition[] } }): Condition[] {
  return object.status?.conditions ?? [];
}
