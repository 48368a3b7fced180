/**
 * Kube's ControllerExpectations (controller_utils.go): before a controller
 * creates or deletes N pods for an owner it expects N adds or deletes; the
 * informer's events lower the count; while a count is above zero (and not
 * older than five minutes) the owner is not satisfied, and its controller
 * must not create or delete again. So a cache that lags behind the writes
 * never makes a controller create or delete twice.
 *
 * Entries are keyed by the owner's UID (every controller in the manager can
 * share one store: a pod's controller ownerReference names the UID, whatever
 * the owner's kind, and a re-created owner of the same name starts afresh).
 */
import type { KubeObject } from "../client/kube.ts";
import { controllerRef } from "./k8s.ts";

/** Expectations older than this are ignored (kube's ExpectationsTimeout). */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

interface Entry {
  add: number;
  del: number;
  /** When they were set (ms since epoch). */
  at: number;
}

/** What the informer saw happen to a pod (old and new copies as in client-go's handlers). */
export interface PodChange {
  type: "ADDED" | "MODIFIED" | "DELETED";
  object: KubeObject;
  old?: KubeObject;
}

/** Pending creations and deletions per owner UID. */
export class Expectations {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly now: () => number = Date.now) {}

  /** May the owner's controller create or delete pods now (nothing outstanding, or expired)? */
  satisfied(owner: string | undefined): boolean {
    if (!owner) return true;
    const e = this.entries.get(owner);
    if (!e) return true;
    if ((e.add <= 0 && e.del <= 0) || this.now() - e.at > EXPECTATIONS_TIMEOUT_MS) {
      this.entries.delete(owner);
      return true;
    }
    return false;
  }

  /** About to create `n` pods for the owner. */
  expectCreations(owner: string | undefined, n: number): void {
    if (owner && n > 0) this.raise(owner, n, 0);
  }

  /** About to delete `n` pods of the owner. */
  expectDeletions(owner: string | undefined, n: number): void {
    if (owner && n > 0) this.raise(owner, 0, n);
  }

  /** One expected creation was seen (or its request failed, so it never will be). */
  creationObserved(owner: string | undefined): void {
    const e = owner ? this.entries.get(owner) : undefined;
    if (e) e.add--;
  }

  /** One expected deletion was seen (or its request failed). */
  deletionObserved(owner: string | undefined): void {
    const e = owner ? this.entries.get(owner) : undefined;
    if (e) e.del--;
  }

  /** The owner is gone: forget what it expected. */
  forget(owner: string | undefined): void {
    if (owner) this.entries.delete(owner);
  }

  /**
   * Lower expectations from a pod event, as kube's addPod/updatePod/deletePod do: a new pod is a
   * creation of its controller's, a pod that starts terminating or disappears is a deletion.
   */
  observe(change: PodChange): void {
    const owner = controllerRef(change.object)?.uid;
    if (!owner || !this.entries.has(owner)) return;
    const deleting = Boolean(change.object.metadata?.deletionTimestamp);
    const wasDeleting = Boolean(change.old?.metadata?.deletionTimestamp);
    if (change.type === "ADDED") {
      if (deleting) this.deletionObserved(owner);
      else this.creationObserved(owner);
    } else if (change.type === "MODIFIED") {
      if (deleting && !wasDeleting) this.deletionObserved(owner);
    } else if (!wasDeleting) this.deletionObserved(owner);
  }

  private raise(owner: string, add: number, del: number): void {
    const e = this.entries.get(owner);
    const now = this.now();
    // Outstanding counts carry over (they are still in flight); an expired entry starts again.
    if (e && now - e.at <= EXPECTATIONS_TIMEOUT_MS) {
      e.add = Math.max(0, e.add) + add;
      e.del = Math.max(0, e.del) + del;
      e.at = now;
    } else this.entries.set(owner, { add, del, at: now });
  }
}
