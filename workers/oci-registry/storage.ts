/**
 * Where registry content lives in the R2 bucket. One flat key space:
 *   blobs/sha256/<hex>                       content-addressed blobs, shared by all repositories
 *   repos/<name>/_manifests/sha256:<hex>     a repository's manifests (Content-Type kept as httpMetadata)
 *   repos/<name>/_tags/<tag>                 tag → digest (the object's body)
 *   uploads/<uuid>/_meta                     an upload session (its repository in customMetadata)
 *   uploads/<uuid>/p/<offset>                the session's chunks, zero-padded start offset
 *   catalog/<name>                           marker: the repository has manifests
 * Path components starting with "_" cannot occur in repository names, so a
 * repository's keys never collide with another repository's.
 */
import { RegistryError } from "./errors.ts";

/** Key of a blob by digest. */
export function blobKey(digest: string): string {
  return `blobs/${digest.replace(":", "/")}`;
}

/** Key of a repository's manifest by digest. */
export function manifestKey(name: string, digest: string): string {
  return `repos/${name}/_manifests/${digest}`;
}

/** Key prefix of a repository's tags. */
export function tagPrefix(name: string): string {
  return `repos/${name}/_tags/`;
}

/** Key of an upload session's metadata marker. */
export function uploadMetaKey(uuid: string): string {
  return `uploads/${uuid}/_meta`;
}

/** Key prefix of an upload session's chunks. */
export function uploadPartPrefix(uuid: string): string {
  return `uploads/${uuid}/p/`;
}

/** Key of the chunk starting at `offset`; padding keeps R2's lexicographic listing in offset order. */
export function uploadPartKey(uuid: string, offset: number): string {
  return `${uploadPartPrefix(uuid)}${offset.toString().padStart(16, "0")}`;
}

/** Key of a repository's catalog marker. */
export function catalogKey(name: string): string {
  return `catalog/${name}`;
}

/** Every object under a prefix (follows R2's pagination). */
export async function listAll(bucket: R2Bucket, prefix: string, delimiter?: string): Promise<R2Object[]> {
  const out: R2Object[] = [];
  let cursor: string | undefined;
  do {
    const page = await bucket.list({ prefix, cursor, delimiter });
    out.push(...page.objects);
    cursor = page.truncated ? page.cursor : undefined;
  } while (cursor);
  return out;
}

/** Hex sha256 of bytes. */
export async function sha256Hex(data: ArrayBuffer | Uint8Array): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", data);
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Store a blob under its digest, letting R2 verify the sha256 of what it
 * received, so content that does not match its digest is never stored.
 */
export async function putVerifiedBlob(
  bucket: R2Bucket,
  digest: string,
  body: ReadableStream | ArrayBuffer,
): Promise<void> {
  const hex = digest.slice("sha256:".length);
  try {
    await bucket.put(blobKey(digest), body, { sha256: hex });
  } catch (err) {
    if (/checksum|digest/i.test(String(err))) {
      throw new RegistryError("DIGEST_INVALID", "provided digest did not match uploaded content", { digest });
    }
    throw err;
  }
}
