/**
 * Argument checks shared by every store implementation, so bad input fails
 * the same way (StoreError "InvalidArgument", naming the argument) whether it
 * reaches the in-memory store, the Durable Object client, or the object.
 */
import { type ListOptions, StoreError, shardFor, type WatchOptions } from "./types.ts";

/** Throws InvalidArgument naming `what`. */
function invalid(what: string, got: unknown): never {
  throw new StoreError("InvalidArgument", `invalid ${what}: ${describe(got)}`);
}

function describe(v: unknown): string {
  try {
    const s = typeof v === "string" ? JSON.stringify(v) : String(v);
    return s.length > 80 ? `${s.slice(0, 80)}...` : s;
  } catch {
    return typeof v;
  }
}

/** A key must be a /registry/<group>/<resource>/... path (it picks the shard). */
export function checkKey(key: unknown): string {
  if (typeof key !== "string" || key.length === 0 || key.endsWith("/")) invalid("key", key);
  shardFor(key);
  return key;
}

/** A prefix for list/count/watch: inside one shard and ending in "/". */
export function checkPrefix(prefix: unknown): string {
  if (typeof prefix !== "string" || !prefix.endsWith("/")) invalid("prefix", prefix);
  const parts = prefix.split("/");
  // "", "registry", group, resource, "" at least: a prefix never spans shards.
  if (parts.length < 5 || parts[1] !== "registry" || parts[3] === "") invalid("prefix", prefix);
  return prefix;
}

/** Largest value, in UTF-8 bytes: etcd's default request limit, and safely under SQLite's 2 MB row limit. */
const MAX_VALUE_BYTES = 1.5 * 1024 * 1024;

/** Values are opaque strings of at most MAX_VALUE_BYTES. */
export function checkValue(value: unknown): string {
  if (typeof value !== "string") invalid("value", value);
  // Only measure when the string could be too large (UTF-8 is at most 3 bytes per UTF-16 unit).
  if (value.length * 3 > MAX_VALUE_BYTES) {
    const bytes = new TextEncoder().encode(value).length;
    if (bytes > MAX_VALUE_BYTES) {
      throw new StoreError("InvalidArgument", `value too large: ${bytes} bytes > ${MAX_VALUE_BYTES}`);
    }
  }
  return value;
}

/** A revision argument: a non-negative safe integer (0 = current / none). */
export function checkRevision(name: string, rev: unknown): number {
  if (typeof rev !== "number" || !Number.isSafeInteger(rev) || rev < 0) invalid(name, rev);
  return rev;
}

/** A lease argument: undefined or 0 for none, else a positive integer id. */
export function checkLease(lease: unknown): number {
  if (lease === undefined) return 0;
  if (typeof lease !== "number" || !Number.isSafeInteger(lease) || lease < 0) invalid("lease", lease);
  return lease;
}

/** A lease TTL in seconds: a positive integer. */
export function checkTtl(ttl: unknown): number {
  if (typeof ttl !== "number" || !Number.isSafeInteger(ttl) || ttl <= 0) invalid("ttl", ttl);
  return ttl;
}

const LIST_OPTIONS = new Set(["revision", "limit", "startAfter"]);
const WATCH_OPTIONS = new Set(["afterRevision", "progressIntervalMs", "signal"]);

/** Normalised list options; unknown options fail by name rather than being ignored. */
export function checkListOptions(options: unknown): Required<ListOptions> {
  if (options === undefined) return { revision: 0, limit: 0, startAfter: "" };
  if (typeof options !== "object" || options === null) invalid("list options", options);
  for (const k of Object.keys(options)) if (!LIST_OPTIONS.has(k)) invalid("list option", k);
  const o = options as ListOptions;
  const startAfter = o.startAfter ?? "";
  if (typeof startAfter !== "string") invalid("startAfter", startAfter);
  return {
    revision: checkRevision("revision", o.revision ?? 0),
    limit: checkRevision("limit", o.limit ?? 0),
    startAfter,
  };
}

/** Normalised watch options (the signal is passed through untouched). */
export function checkWatchOptions(options: unknown): Required<Omit<WatchOptions, "signal">> {
  if (typeof options !== "object" || options === null) invalid("watch options", options);
  for (const k of Object.keys(options)) if (!WATCH_OPTIONS.has(k)) invalid("watch option", k);
  const o = options as WatchOptions;
  return {
    afterRevision: checkRevision("afterRevision", o.afterRevision),
    progressIntervalMs: checkRevision("progressIntervalMs", o.progressIntervalMs ?? 0),
  };
}
