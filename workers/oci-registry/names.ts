/**
 * Repository names, references and digests, validated with the grammar of
 * the OCI distribution spec, and the parsing of /v2/ paths into endpoints.
 */
import { tryDecodeURIComponent } from "../client/uri.ts";
import { RegistryError } from "./errors.ts";

const NAME = /^[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*$/;
const TAG = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;
const SHA256 = /^sha256:[a-f0-9]{64}$/;
const DIGEST = /^[a-z0-9]+([+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/** Repository names longer than this are refused (distribution's limit). */
const MAX_NAME = 255;

/** Which endpoint a /v2/ path addresses. */
export type Route =
  | { kind: "base" }
  | { kind: "catalog" }
  | { kind: "tags"; name: string }
  | { kind: "manifest"; name: string; reference: string }
  | { kind: "blob"; name: string; digest: string }
  | { kind: "uploads"; name: string }
  | { kind: "upload"; name: string; uuid: string };

/** Parse a request path under /v2 into a route; undefined for paths that are no endpoint. */
export function parseRoute(path: string): Route | undefined {
  if (path === "/v2" || path === "/v2/") return { kind: "base" };
  if (path === "/v2/_catalog") return { kind: "catalog" };
  const m =
    /^\/v2\/(.+)\/(tags\/list|manifests\/[^/]+|blobs\/uploads\/?|blobs\/uploads\/[^/]+|blobs\/[^/]+)$/.exec(
      path,
    );
  if (!m) return undefined;
  const name = validName(m[1]);
  const rest = m[2];
  if (rest === "tags/list") return { kind: "tags", name };
  if (rest === "blobs/uploads" || rest === "blobs/uploads/") return { kind: "uploads", name };
  if (rest.startsWith("blobs/uploads/")) {
    const uuid = rest.slice("blobs/uploads/".length);
    if (!UUID.test(uuid)) throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry");
    return { kind: "upload", name, uuid };
  }
  if (rest.startsWith("blobs/")) return { kind: "blob", name, digest: validDigest(rest.slice(6)) };
  return { kind: "manifest", name, reference: validReference(tryDecodeURIComponent(rest.slice(10)) ?? "") };
}

/** A repository name, or NAME_INVALID. */
export function validName(raw: string): string {
  const name = tryDecodeURIComponent(raw) ?? "";
  if (name.length > MAX_NAME || !NAME.test(name)) {
    throw new RegistryError("NAME_INVALID", "invalid repository name", { name });
  }
  return name;
}

/** A sha256 digest (the only algorithm this registry stores), or DIGEST_INVALID / UNSUPPORTED. */
export function validDigest(raw: string): string {
  const digest = tryDecodeURIComponent(raw) ?? "";
  if (SHA256.test(digest)) return digest;
  if (DIGEST.test(digest)) {
    throw new RegistryError("DIGEST_INVALID", "only sha256 digests are supported", { digest }, 400);
  }
  throw new RegistryError("DIGEST_INVALID", "provided digest is not a valid digest", { digest });
}

/** A tag or a digest, or MANIFEST_INVALID / DIGEST_INVALID. */
function validReference(reference: string): string {
  if (reference.includes(":")) return validDigest(reference);
  if (!TAG.test(reference)) {
    throw new RegistryError("MANIFEST_INVALID", "invalid tag", { tag: reference }, 400);
  }
  return reference;
}

/** Whether a reference is a digest rather than a tag. */
export function isDigest(reference: string): boolean {
  return reference.includes(":");
}

/** Whether a string is a valid tag (used to filter listings). */
export function isTag(s: string): boolean {
  return TAG.test(s);
}
