/**
 * The one read-modify-write step of the registry (kube's
 * storage.Interface.GuaranteedUpdate): read the object, let `tryUpdate`
 * decide what it should become, write that with compare-and-swap on the
 * revision read, and on a lost race read again and retry, up to one limit.
 * Every update, delete and bookkeeping write of an existing object goes
 * through here, so the retry limit and the conflict message exist once.
 */
import type { KeyValue, TxnResult } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { type ApiError, errors } from "../../client/status.ts";
import type { ResourceInfo } from "./types.ts";

/** How many times a write is attempted before giving up (CAS races, generated-name clashes). */
export const MAX_ATTEMPTS = 16;

/** kube's storage.OptimisticLockErrorMsg: the one message of a lost optimistic-concurrency race. */
export const CONFLICT_MESSAGE =
  "the object has been modified; please apply your changes to the latest version and try again";

/** 409 Conflict for `name`: a stale resourceVersion, or retries used up. */
export function conflictError(info: ResourceInfo, name: string): ApiError {
  return errors.conflict(info.resource, name, CONFLICT_MESSAGE, info.group);
}

/**
 * What tryUpdate decided: write `object` in place of the current one, delete
 * the current one (`object` is what the caller reports), or leave it as it is.
 */
export type UpdateOutcome =
  | { type: "update"; object: KubeObject }
  | { type: "delete"; object: KubeObject }
  | { type: "none"; object: KubeObject };

/** The result of a guaranteed update; `event` is set only when a write was committed. */
export interface UpdateResult {
  object: KubeObject;
  deleted: boolean;
  event?: "MODIFIED" | "DELETED";
  /** The store revision of a committed delete (the object keeps the resourceVersion it was read at). */
  revision?: number;
  /** The (physical) key of that delete, which names its sub-shard. */
  key?: string;
}

/** The store operations a guaranteed update needs, bound to one key by the registry. */
export interface UpdateIO {
  /** Read the current state; throws 404 when the object is absent. */
  read(): Promise<KeyValue>;
  decode(kv: KeyValue): KubeObject;
  /** The resourceVersion of a written state (keys.ts objectResourceVersion). */
  version(kv: KeyValue): string;
  encode(object: KubeObject): string;
  /** The stored form must be rewritten even when unchanged (old key, plaintext). */
  isStale?(kv: KeyValue): boolean;
  /** Update-if-modRevision-matches. */
  update(kv: KeyValue, value: string): Promise<TxnResult>;
  /** Delete-if-modRevision-matches. */
  delete(kv: KeyValue): Promise<{ succeeded: boolean; revision: number }>;
}

/** Options of a guaranteed update. */
export interface GuaranteedUpdateOptions {
  /** Run tryUpdate and report its outcome, but write nothing. */
  dryRun?: boolean;
}

/**
 * Read, tryUpdate, CAS-write, retry on conflict. `tryUpdate` gets the
 * current object (it must copy before changing it) and may throw to abort,
 * e.g. with conflictError when a resourceVersion precondition no longer
 * holds. An update whose encoding equals what is stored writes nothing and
 * returns the current object, resourceVersion unchanged, as in kube.
 */
export async function guaranteedUpdate(
  info: ResourceInfo,
  name: string,
  io: UpdateIO,
  tryUpdate: (current: KubeObject) => UpdateOutcome | Promise<UpdateOutcome>,
  options: GuaranteedUpdateOptions = {},
): Promise<UpdateResult> {
  for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
    const kv = await io.read();
    const current = io.decode(kv);
    const outcome = await tryUpdate(current);
    if (outcome.type === "none") return { object: outcome.object, deleted: false };
    if (options.dryRun) return { object: outcome.object, deleted: outcome.type === "delete" };
    const { object } = outcome;
    if (outcome.type === "delete") {
      const txn = await io.delete(kv);
      if (!txn.succeeded) continue;
      return { object, deleted: true, event: "DELETED", revision: txn.revision, key: kv.key };
    }
    const value = io.encode(object);
    if (value === kv.value && !io.isStale?.(kv)) return { object: current, deleted: false };
    const txn = await io.update(kv, value);
    if (!txn.succeeded) continue;
    object.metadata ??= {};
    object.metadata.resourceVersion = io.version(txn.kv);
    return { object, deleted: false, event: "MODIFIED" };
  }
  throw conflictError(info, name);
}
