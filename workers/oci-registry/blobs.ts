/** Blob endpoints: GET/HEAD by digest (with Range support) and DELETE (refused: blobs are shared). */
import { RegistryError } from "./errors.ts";
import { blobKey } from "./storage.ts";

/** GET or HEAD /v2/<name>/blobs/<digest>. */
export async function getBlob(bucket: R2Bucket, request: Request, digest: string): Promise<Response> {
  const head = request.method === "HEAD";
  const range = request.headers.get("Range");
  const object = head
    ? await bucket.head(blobKey(digest))
    : await bucket.get(blobKey(digest), range ? { range: request.headers } : {});
  if (!object) throw new RegistryError("BLOB_UNKNOWN", "blob unknown to registry", { digest });
  const headers = new Headers({
    "Content-Type": "application/octet-stream",
    "Docker-Content-Digest": digest,
    "Accept-Ranges": "bytes",
    ETag: `"${digest}"`,
    "Cache-Control": "max-age=31536000, immutable",
  });
  if (!hasBody(object)) {
    headers.set("Content-Length", String(object.size));
    return new Response(null, { status: 200, headers });
  }
  const r = object.range as { offset?: number; length?: number } | undefined;
  if (range && r && r.offset !== undefined) {
    const length = r.length ?? object.size - r.offset;
    headers.set("Content-Range", `bytes ${r.offset}-${r.offset + length - 1}/${object.size}`);
    headers.set("Content-Length", String(length));
    return new Response(object.body, { status: 206, headers });
  }
  headers.set("Content-Length", String(object.size));
  return new Response(object.body, { status: 200, headers });
}

/** Whether R2 returned content (get) or only metadata (head). */
export function hasBody(object: R2Object | R2ObjectBody): object is R2ObjectBody {
  return "body" in object;
}

/** Whether a blob exists, and its size. */
export async function blobSize(bucket: R2Bucket, digest: string): Promise<number | undefined> {
  return (await bucket.head(blobKey(digest)))?.size;
}

/**
 * DELETE /v2/<name>/blobs/<digest>: refused, because blobs are stored once
 * for all repositories and another repository's manifests may still use them.
 */
export function deleteBlob(): never {
  throw new RegistryError(
    "UNSUPPORTED",
    "blob deletion is not supported: blobs are shared across repositories",
  );
}
