/**
 * Where objects live in the store and how store revisions become
 * resourceVersions. The only place that knows either mapping, so that a
 * shard can later be split behind a composite resourceVersion.
 */
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

/** Store revision → opaque resourceVersion. */
export function toResourceVersion(revision: number): string {
  return String(revision);
}

/** resourceVersion → store revision; undefined for "" (unset). 400 for anything not produced by toResourceVersion. */
export function parseResourceVersion(rv: string | undefined | null): number | undefined {
  if (rv === undefined || rv === null || rv === "") return undefined;
  if (!/^\d{1,15}$/.test(rv)) throw new ApiError("BadRequest", `invalid resource version "${rv}"`);
  return Number(rv);
}

/** A continue token: the key to resume after and the revision the list is pinned to. */
export interface ContinueToken {
  revision: number;
  startAfter: string;
}

/** Encode a continue token (base64url JSON, opaque to clients). */
export function encodeContinue(token: ContinueToken): string {
  const json = JSON.stringify({ v: "meta.k8s.io/v1", rv: token.revision, start: token.startAfter });
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
    if (typeof parsed.rv !== "number" || typeof parsed.start !== "string") throw new Error("shape");
    if (!parsed.start.startsWith(prefix)) throw new Error("prefix");
    return { revision: parsed.rv, startAfter: parsed.start };
  } catch {
    throw new ApiError("BadRequest", "continue key is not valid: invalid continue token");
  }
}
