/**
 * Blob uploads: monolithic (POST ?digest= or POST then PUT), chunked (POST,
 * PATCH with Content-Range, PUT ?digest=), cross-repository mount, status
 * and cancel. Chunks are separate R2 objects; the final PUT streams them, in
 * order, into the content-addressed blob while R2 checks the sha256.
 */
import { blobSize } from "./blobs.ts";
import { RegistryError } from "./errors.ts";
import { validDigest, validName } from "./names.ts";
import { listAll, putVerifiedBlob, uploadMetaKey, uploadPartKey, uploadPartPrefix } from "./storage.ts";

/** POST /v2/<name>/blobs/uploads/: mount, monolithic upload, or a new session. */
export async function startUpload(bucket: R2Bucket, request: Request, name: string): Promise<Response> {
  const url = new URL(request.url);
  const mount = url.searchParams.get("mount");
  if (mount) {
    const digest = validDigest(mount);
    const from = url.searchParams.get("from");
    if (from) validName(from);
    // Blobs are stored once for every repository, so mounting is a lookup.
    if ((await blobSize(bucket, digest)) !== undefined) return blobCreated(name, digest);
  }
  const digestParam = url.searchParams.get("digest");
  if (digestParam) {
    const digest = validDigest(digestParam);
    if (hasLength(request)) await putVerifiedBlob(bucket, digest, request.body as ReadableStream);
    else {
      // Unknown length: store it in pieces as a chunked upload would, then commit those.
      const uuid = crypto.randomUUID();
      const parts: Part[] = [];
      try {
        await storePieces(bucket, uuid, 0, request, parts);
        await putVerifiedBlob(bucket, digest, concatenate(bucket, parts));
      } finally {
        if (parts.length) await bucket.delete(parts.map((p) => p.key));
      }
    }
    return blobCreated(name, digest);
  }
  const uuid = crypto.randomUUID();
  await bucket.put(uploadMetaKey(uuid), "", {
    customMetadata: { repo: name, started: new Date().toISOString() },
  });
  return uploadAccepted(name, uuid, 0);
}

/** GET /v2/<name>/blobs/uploads/<uuid>: how much of the upload the registry has. */
export async function uploadStatus(bucket: R2Bucket, name: string, uuid: string): Promise<Response> {
  const { offset } = await session(bucket, name, uuid);
  const response = uploadAccepted(name, uuid, offset);
  return new Response(null, { status: 204, headers: response.headers });
}

/** PATCH /v2/<name>/blobs/uploads/<uuid>: append a chunk at the current offset. */
export async function patchUpload(
  bucket: R2Bucket,
  request: Request,
  name: string,
  uuid: string,
): Promise<Response> {
  const { offset } = await session(bucket, name, uuid);
  const range = parseContentRange(request.headers.get("Content-Range"));
  if (range && range.start !== offset) {
    throw new RegistryError(
      "RANGE_INVALID",
      `chunk starts at ${range.start}, upload is at ${offset}`,
      { offset },
      416,
      {
        Range: rangeHeader(offset),
        Location: uploadLocation(name, uuid),
      },
    );
  }
  const declared = Number(request.headers.get("Content-Length"));
  if (range && hasLength(request) && range.end - range.start + 1 !== declared) {
    throw new RegistryError("SIZE_INVALID", "Content-Range does not match the chunk's length", {
      range: `${range.start}-${range.end}`,
      length: declared,
    });
  }
  const length = await storePieces(bucket, uuid, offset, request, []);
  return uploadAccepted(name, uuid, offset + length);
}

/** PUT /v2/<name>/blobs/uploads/<uuid>?digest=: append an optional last chunk, verify, and commit the blob. */
export async function finishUpload(
  bucket: R2Bucket,
  request: Request,
  name: string,
  uuid: string,
): Promise<Response> {
  const digestParam = new URL(request.url).searchParams.get("digest");
  if (!digestParam) throw new RegistryError("DIGEST_INVALID", "digest query parameter is required");
  const digest = validDigest(digestParam);
  const { offset, parts } = await session(bucket, name, uuid);
  await storePieces(bucket, uuid, offset, request, parts);
  await putVerifiedBlob(bucket, digest, concatenate(bucket, parts));
  await bucket.delete([uploadMetaKey(uuid), ...parts.map((p) => p.key)]);
  return blobCreated(name, digest);
}

/** DELETE /v2/<name>/blobs/uploads/<uuid>: cancel the upload and drop its chunks. */
export async function cancelUpload(bucket: R2Bucket, name: string, uuid: string): Promise<Response> {
  const { parts } = await session(bucket, name, uuid);
  await bucket.delete([uploadMetaKey(uuid), ...parts.map((p) => p.key)]);
  return new Response(null, { status: 204 });
}

interface Part {
  key: string;
  size: number;
}

/** An upload session's chunks and current offset; BLOB_UPLOAD_UNKNOWN when absent or of another repository. */
async function session(
  bucket: R2Bucket,
  name: string,
  uuid: string,
): Promise<{ offset: number; parts: Part[] }> {
  const meta = await bucket.head(uploadMetaKey(uuid));
  if (!meta || meta.customMetadata?.repo !== name) {
    throw new RegistryError("BLOB_UPLOAD_UNKNOWN", "blob upload unknown to registry", { uuid });
  }
  const parts = (await listAll(bucket, uploadPartPrefix(uuid))).map((o) => ({ key: o.key, size: o.size }));
  return { offset: parts.reduce((sum, p) => sum + p.size, 0), parts };
}

/** The chunks, in order, as one stream of known length (R2 needs the length up front). */
function concatenate(bucket: R2Bucket, parts: Part[]): ReadableStream | ArrayBuffer {
  const total = parts.reduce((sum, p) => sum + p.size, 0);
  if (total === 0) return new ArrayBuffer(0);
  const { readable, writable } = new FixedLengthStream(total);
  (async () => {
    try {
      for (const part of parts) {
        const object = await bucket.get(part.key);
        if (!object) throw new Error(`upload chunk ${part.key} vanished`);
        await object.body.pipeTo(writable, { preventClose: true });
      }
      await writable.close();
    } catch (err) {
      await writable.abort(err).catch(() => {});
    }
  })();
  return readable;
}

/** Largest piece of a body of unknown length held in memory before it is stored as its own chunk. */
const PIECE_BYTES = 8 * 1024 * 1024;

function hasLength(request: Request): boolean {
  const declared = request.headers.get("Content-Length");
  return request.body !== null && declared !== null && Number(declared) > 0;
}

/**
 * Store a request body as the upload's chunk(s) from `offset`, adding them to
 * `parts`; returns the bytes stored. A body with a Content-Length streams
 * into R2 as one object (R2 checks the length, so a lying header fails the
 * put). A body without one (chunked transfer) is cut into PIECE_BYTES
 * pieces, each its own chunk, so memory stays bounded whatever the size.
 */
async function storePieces(
  bucket: R2Bucket,
  uuid: string,
  offset: number,
  request: Request,
  parts: Part[],
): Promise<number> {
  if (!request.body) return 0;
  if (hasLength(request)) {
    const size = Number(request.headers.get("Content-Length"));
    const key = uploadPartKey(uuid, offset);
    await bucket.put(key, request.body);
    parts.push({ key, size });
    return size;
  }
  const reader = request.body.getReader();
  let stored = 0;
  let piece = new Uint8Array(PIECE_BYTES);
  let filled = 0;
  const flush = async () => {
    if (filled === 0) return;
    const key = uploadPartKey(uuid, offset + stored);
    await bucket.put(key, piece.subarray(0, filled));
    parts.push({ key, size: filled });
    stored += filled;
    piece = new Uint8Array(PIECE_BYTES);
    filled = 0;
  };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    for (let at = 0; at < value.byteLength; ) {
      const n = Math.min(PIECE_BYTES - filled, value.byteLength - at);
      piece.set(value.subarray(at, at + n), filled);
      filled += n;
      at += n;
      if (filled === PIECE_BYTES) await flush();
    }
  }
  await flush();
  return stored;
}

/** "start-end" (distribution) or "bytes start-end/total" (RFC 9110). */
function parseContentRange(header: string | null): { start: number; end: number } | undefined {
  if (!header) return undefined;
  const m = /^(?:bytes[ =])?(\d+)-(\d+)(?:\/(?:\d+|\*))?$/.exec(header.trim());
  if (!m) throw new RegistryError("RANGE_INVALID", "malformed Content-Range", { header }, 416);
  const start = Number(m[1]);
  const end = Number(m[2]);
  if (end < start)
    throw new RegistryError("RANGE_INVALID", "Content-Range ends before it starts", { header }, 416);
  return { start, end };
}

function uploadLocation(name: string, uuid: string): string {
  return `/v2/${name}/blobs/uploads/${uuid}`;
}

/** Range of bytes received so far; "0-0" for none, as distribution answers. */
function rangeHeader(offset: number): string {
  return `0-${Math.max(0, offset - 1)}`;
}

function uploadAccepted(name: string, uuid: string, offset: number): Response {
  return new Response(null, {
    status: 202,
    headers: {
      Location: uploadLocation(name, uuid),
      Range: rangeHeader(offset),
      "Docker-Upload-UUID": uuid,
      "Content-Length": "0",
    },
  });
}

function blobCreated(name: string, digest: string): Response {
  return new Response(null, {
    status: 201,
    headers: {
      Location: `/v2/${name}/blobs/${digest}`,
      "Docker-Content-Digest": digest,
      "Content-Length": "0",
    },
  });
}
