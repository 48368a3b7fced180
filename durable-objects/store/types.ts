/**
 * The store contract: the subset of etcd that a Kubernetes API server uses
 * (kine is the model). Keys look like `/registry/<group>/<resource>/<ns>/<name>`;
 * values are opaque strings (the API server stores JSON).
 *
 * Every write gets the shard's next revision. Revisions are per shard: the
 * API server turns them into opaque resourceVersions, so a hot resource can
 * later be split across shards behind a composite resourceVersion.
 *
 * Two implementations pass the same conformance suite (conformance.ts):
 * the in-memory store (memory.ts) and the SQLite Durable Object (object.ts,
 * reached through client.ts).
 */

/** One key's current (or historical) state, as etcd's mvccpb.KeyValue. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the write that created this key (since its last delete). */
  createRevision: number;
  /** Revision of the last write to this key. */
  modRevision: number;
  /** Number of writes since creation, starting at 1. */
  version: number;
  /** Lease the key is attached to, 0 for none. */
  lease: number;
}

/** A change to a key, delivered by watch in revision order. */
export interface WatchEvent {
  type: "PUT" | "DELETE";
  /** For PUT the new state; for DELETE the key with modRevision = the delete's revision and value of the deleted object. */
  kv: KeyValue;
  /** The state before this write, when there was one. */
  prevKv?: KeyValue;
}

/**
 * What a watch yields: a batch of events (all at revisions above what was
 * already sent, in order), or a progress notification carrying the shard's
 * current revision so a quiet watcher can bookmark.
 */
export type WatchMessage = { type: "events"; events: WatchEvent[] } | { type: "progress"; revision: number };

export interface ListOptions {
  /** Read at this past revision (must be >= compacted revision); 0 or undefined = current. */
  revision?: number;
  /** Return at most this many keys; 0 or undefined = no limit. */
  limit?: number;
  /** Start strictly after this key (for continue tokens). */
  startAfter?: string;
}

export interface ListResult {
  kvs: KeyValue[];
  /** The revision the list was served at (pass it back with startAfter for a consistent next page). */
  revision: number;
  /** True when more keys remain after the last one returned. */
  more: boolean;
  /** Number of keys under the prefix remaining after this page (etcd's count). */
  remaining: number;
}

export interface WatchOptions {
  /** Deliver every event with revision > afterRevision. Older than the compacted revision: StoreError "Compacted". */
  afterRevision: number;
  /** Send a progress message every this many ms when there is nothing else to send; 0 = never. */
  progressIntervalMs?: number;
  /** Ends the watch. */
  signal?: AbortSignal;
}

/** Result of a conditional write. */
export type TxnResult =
  | { succeeded: true; revision: number; kv: KeyValue }
  | { succeeded: false; revision: number; kv?: KeyValue };

/** The narrow, etcd-shaped interface every store implementation provides. */
export interface Store {
  /** Create `key` if absent. Fails (succeeded=false, kv = the existing key) if it exists. */
  create(key: string, value: string, lease?: number): Promise<TxnResult>;
  /** Current state of `key`, or at a past `revision`. */
  get(key: string, revision?: number): Promise<{ kv?: KeyValue; revision: number }>;
  /** Keys under `prefix` in key order, at one revision. */
  list(prefix: string, options?: ListOptions): Promise<ListResult>;
  /** Number of keys under prefix now. */
  count(prefix: string): Promise<{ count: number; revision: number }>;
  /** Replace `key` only if its modRevision equals `expectedModRevision` (CAS). On mismatch kv is the current state (absent if deleted). */
  update(key: string, value: string, expectedModRevision: number, lease?: number): Promise<TxnResult>;
  /** Delete `key`, only if its modRevision matches when one is given. On success kv is the deleted state. */
  delete(key: string, expectedModRevision?: number): Promise<TxnResult>;
  /** Stream of changes under `prefix` after `afterRevision`: history first, then live; none missed, none repeated. */
  watch(prefix: string, options: WatchOptions): AsyncIterable<WatchMessage>;
  /**
   * Current revision and the oldest revision still answerable, of the shard
   * holding `prefix` (revisions are per shard; a sharded store requires it).
   */
  revisions(prefix?: string): Promise<{ current: number; compacted: number }>;
  /** Drop history at or below `revision` in `prefix`'s shard (bounded batches; older reads then fail with Compacted). */
  compact(revision: number, prefix?: string): Promise<void>;
  /** Grant a lease that expires after ttlSeconds unless kept alive. */
  leaseGrant(ttlSeconds: number): Promise<{ id: number; ttl: number }>;
  /** Renew a lease; NotFound if it expired or was revoked. */
  leaseKeepAlive(id: number): Promise<{ id: number; ttl: number }>;
  /** Revoke a lease now, deleting its keys (with DELETE events). */
  leaseRevoke(id: number): Promise<void>;
}

/** Why a store call failed, by name (etcd's error kinds). */
export type StoreErrorCode =
  | "Compacted"
  | "FutureRevision"
  | "LeaseNotFound"
  | "InvalidArgument"
  | "Unavailable";

/** A store failure that the API server maps to a Kubernetes Status (Compacted → 410 Expired, ...). */
export class StoreError extends Error {
  constructor(
    readonly code: StoreErrorCode,
    message: string,
  ) {
    super(message);
    this.name = "StoreError";
  }
}

/**
 * Which shard holds a key. One shard per group/resource to start
 * (`/registry/apps/deployments/...` → "apps/deployments"); this is the one
 * place to change to split a hot resource later.
 */
export function shardFor(key: string): string {
  const parts = key.split("/");
  // "", "registry", group, resource, ...
  if (parts.length < 4 || parts[1] !== "registry") throw new StoreError("InvalidArgument", `bad key ${key}`);
  return `${parts[2]}/${parts[3]}`;
}
