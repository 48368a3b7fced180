/**
 * Where objects live in the store and how store revisions become
 * resourceVersions. The only place that knows either mapping: a resource
 * split over sub-shards (durable-objects/store/sharded.ts) has a composite
 * resourceVersion, one revision per sub-shard.
 */
import { logicalKey, subShardOf } from "../../../durable-objects/store/sharded.ts";
import { ApiError } from "../../client/status.ts";
import type { ResourceInfo } from "./types.ts";

/** Store group segment: the core group is stored as "core". */
function groupSegment(info: ResourceInfo): string {
  return info.group === "" ? "core" : info.group;
}

/** Key of one object: /registry/<group>/<resource>/<ns>/<name> (no <ns> for cluster-scoped kinds). */
export function objectKey(info: ResourceInfo, namespace: string | undefined, name: string): string {
  return info.namespaced
    ? `/registry/${groupSegment(info)}/${info.resource}/${namespace}/${name}`
    : `/registry/${groupSegment(info)}/${info.resource}/${name}`;
}

/** Prefix of a collection: every object, or one namespace's (always ends with "/"). */
export function collectionPrefix(info: ResourceInfo, namespace?: string): string {
  const base = `/registry/${groupSegment(info)}/${info.resource}/`;
  return info.namespaced && namespace ? `${base}${namespace}/` : base;
}

/** Store revision → opaque resourceVersion (of an unsharded shard: the CRDs', RBAC's, ...). */
export function toResourceVersion(revision: number): string {
  return String(revision);
}

/**
 * A collection's revision vector → resourceVersion: "12" when the resource
 * is one shard (unchanged from before sharding), "12.40.7.33" over four
 * sub-shards (each sub-shard's revision).
 */
export function vectorResourceVersion(revisions: number[]): string {
  return revisions.join(".");
}

/**
 * An object's resourceVersion from its (physical) key and revision: "7" for
 * an unsharded key. A key of a split resource carries a whole vector, with
 * its own sub-shard marked ("12.40.7.33@2": sub-shard 2 at revision 7), so
 * a client may watch or list from any object's version, as from kube's:
 * `vector` is where the watch that delivered it was, or else a floor of
 * what was seen (ShardedStore.floor), so resuming from it misses nothing
 * (it may repeat events of other sub-shards).
 */
export function objectResourceVersion(key: string, revision: number, vector?: number[]): string {
  const shard = subShardOf(key);
  if (shard === undefined || !vector) return String(revision);
  const v = [...vector];
  v[shard] = revision;
  return `${v.join(".")}@${shard}`;
}

/** A parsed resourceVersion: the vector, and for an object of a split resource its sub-shard and revision. */
export interface ParsedVersion {
  revisions?: number[];
  shard?: number;
  revision?: number;
}

/** resourceVersion → its parts; undefined for "" (unset). 400 for anything not produced here. */
export function parseResourceVersion(rv: string | undefined | null): ParsedVersion | undefined {
  if (rv === undefined || rv === null || rv === "") return undefined;
  const m = /^(\d{1,15}(?:\.\d{1,15}){0,255})(?:@(\d{1,3}))?$/.exec(rv);
  if (!m) throw new ApiError("BadRequest", `invalid resource version "${rv}"`);
  const parts = m[1].split(".").map(Number);
  if (m[2] === undefined) return { revisions: parts };
  const shard = Number(m[2]);
  if (shard >= parts.length) throw new ApiError("BadRequest", `invalid resource version "${rv}"`);
  return { revisions: parts, shard, revision: parts[shard] };
}

/** True for "0" (any version) in either form. */
export function isAnyVersion(v: ParsedVersion | undefined): boolean {
  return !!v?.revisions && v.shard === undefined && v.revisions.every((r) => r === 0);
}

/**
 * The vector to read or resume at from a resourceVersion, for a collection
 * of `n` sub-shards; 410 Expired when it does not name every sub-shard (a
 * version from before the sharding changed): the client lists again, as
 * after compaction.
 */
export function vectorOf(v: ParsedVersion, n: number): number[] {
  if (v.revisions && v.revisions.length === n) return v.revisions;
  throw new ApiError(
    "Expired",
    "too old resource version: it does not name every store shard of this resource",
  );
}

/**
 * Whether two resourceVersions name the same version of one object (a
 * precondition): equal text, or the same sub-shard at the same revision
 * (the rest of the vector says where the reader was, not what it read).
 */
export function sameVersion(a: string | undefined, b: string | undefined): boolean {
  if (a === b) return true;
  if (!a || !b || !a.includes("@") || !b.includes("@")) return false;
  try {
    const x = parseResourceVersion(a);
    const y = parseResourceVersion(b);
    return x?.shard !== undefined && x.shard === y?.shard && x.revision === y.revision;
  } catch {
    return false;
  }
}

/** A continue token: the (logical) key to resume after and the revision vector the list is pinned to. */
export interface ContinueToken {
  revisions: number[];
  startAfter: string;
}

/** Encode a continue token (base64url JSON, opaque to clients; an unsharded list's is unchanged). */
export function encodeContinue(token: ContinueToken): string {
  const rv = token.revisions.length === 1 ? token.revisions[0] : token.revisions;
  const json = JSON.stringify({ v: "meta.k8s.io/v1", rv, start: logicalKey(token.startAfter) });
  return btoa(json).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

/** Decode a continue token; 400 BadRequest if it is not one of ours. */
export function decodeContinue(value: string, prefix: string): ContinueToken {
  try {
    const b64 = value.replace(/-/g, "+").replace(/_/g, "/");
    const parsed = JSON.parse(atob(b64 + "=".repeat((4 - (b64.length % 4)) % 4))) as {
      rv?: unknown;
      start?: unknown;
    };
    const rv = typeof parsed.rv === "number" ? [parsed.rv] : parsed.rv;
    if (!Array.isArray(rv) || !rv.every((r) => Number.isSafeInteger(r) && r >= 0)) throw new Error("rv");
    if (typeof parsed.start !== "string") throw new Error("shape");
    if (!parsed.start.startsWith(prefix)) throw new Error("prefix");
    return { revisions: rv as number[], startAfter: parsed.start };
  } catch {
    throw new ApiError("BadRequest", "continue key is not valid: invalid continue token");
  }
}
