/**
 * Manifests and tags: PUT by tag or digest (OCI image manifest, OCI index,
 * Docker schema2 manifest and manifest list) with every referenced blob or
 * child manifest checked to exist; GET/HEAD with the stored Content-Type;
 * DELETE by tag or digest; the tags list and the catalog.
 */
import { readAtMost } from "../apiserver/decode.ts";
import { blobSize, hasBody } from "./blobs.ts";
import { RegistryError } from "./errors.ts";
import { isDigest, isTag, validDigest } from "./names.ts";
import { catalogKey, listAll, manifestKey, sha256Hex, tagPrefix } from "./storage.ts";

/** Manifest media types this registry accepts, and whether they list blobs (image) or manifests (index). */
const MANIFEST_TYPES: Record<string, "image" | "index"> = {
  "application/vnd.oci.image.manifest.v1+json": "image",
  "application/vnd.oci.image.index.v1+json": "index",
  "application/vnd.docker.distribution.manifest.v2+json": "image",
  "application/vnd.docker.distribution.manifest.list.v2+json": "index",
};

/** Manifests larger than this are refused (distribution's default limit). */
const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

interface Descriptor {
  mediaType?: string;
  digest?: string;
  size?: number;
}

interface Manifest {
  schemaVersion?: number;
  mediaType?: string;
  config?: Descriptor;
  layers?: Descriptor[];
  manifests?: Descriptor[];
  subject?: Descriptor;
}

/** PUT /v2/<name>/manifests/<reference>. */
export async function putManifest(
  bucket: R2Bucket,
  request: Request,
  name: string,
  reference: string,
): Promise<Response> {
  // Counted while streaming: Content-Length may lie or be absent (chunked).
  const bytes = await readAtMost(request, MAX_MANIFEST_BYTES);
  if (!bytes) {
    throw new RegistryError("SIZE_INVALID", "manifest too large", { limit: MAX_MANIFEST_BYTES }, 413);
  }
  const manifest = parse(bytes);
  const contentType = (request.headers.get("Content-Type") ?? "").split(";")[0].trim();
  const mediaType = contentType || manifest.mediaType || "";
  const shape = MANIFEST_TYPES[mediaType];
  if (!shape) throw new RegistryError("MANIFEST_INVALID", "unsupported manifest media type", { mediaType });
  if (manifest.mediaType && manifest.mediaType !== mediaType) {
    throw new RegistryError("MANIFEST_INVALID", "mediaType does not match Content-Type", {
      mediaType: manifest.mediaType,
      contentType,
    });
  }
  if (manifest.schemaVersion !== 2) {
    throw new RegistryError("MANIFEST_INVALID", "schemaVersion must be 2", {
      schemaVersion: manifest.schemaVersion,
    });
  }
  await (shape === "image" ? checkBlobs(bucket, manifest) : checkChildren(bucket, name, manifest));

  const digest = `sha256:${await sha256Hex(bytes)}`;
  if (isDigest(reference) && reference !== digest) {
    throw new RegistryError("DIGEST_INVALID", "manifest digest does not match the reference", {
      reference,
      digest,
    });
  }
  await bucket.put(manifestKey(name, digest), bytes, { httpMetadata: { contentType: mediaType } });
  if (!isDigest(reference)) await bucket.put(tagPrefix(name) + reference, digest);
  await bucket.put(catalogKey(name), "");
  const headers: Record<string, string> = {
    Location: `/v2/${name}/manifests/${digest}`,
    "Docker-Content-Digest": digest,
    "Content-Length": "0",
  };
  if (manifest.subject?.digest) headers["OCI-Subject"] = manifest.subject.digest;
  return new Response(null, { status: 201, headers });
}

/** GET or HEAD /v2/<name>/manifests/<reference>. */
export async function getManifest(
  bucket: R2Bucket,
  request: Request,
  name: string,
  reference: string,
): Promise<Response> {
  const digest = await resolve(bucket, name, reference);
  const key = manifestKey(name, digest);
  const object = request.method === "HEAD" ? await bucket.head(key) : await bucket.get(key);
  if (!object) throw manifestUnknown(name, reference);
  const headers = new Headers({
    "Content-Type": object.httpMetadata?.contentType ?? "application/vnd.oci.image.manifest.v1+json",
    "Content-Length": String(object.size),
    "Docker-Content-Digest": digest,
    ETag: `"${digest}"`,
  });
  return new Response(hasBody(object) ? object.body : null, { status: 200, headers });
}

/** DELETE /v2/<name>/manifests/<reference>: a tag drops the tag; a digest drops the manifest and its tags. */
export async function deleteManifest(bucket: R2Bucket, name: string, reference: string): Promise<Response> {
  if (!isDigest(reference)) {
    const tagKey = tagPrefix(name) + reference;
    if (!(await bucket.head(tagKey))) throw manifestUnknown(name, reference);
    await bucket.delete(tagKey);
    return new Response(null, { status: 202 });
  }
  if (!(await bucket.head(manifestKey(name, reference)))) throw manifestUnknown(name, reference);
  const tags = await listAll(bucket, tagPrefix(name), "/");
  const pointing: string[] = [];
  for (const tag of tags) {
    const body = await bucket.get(tag.key);
    if (body && (await body.text()) === reference) pointing.push(tag.key);
  }
  await bucket.delete([manifestKey(name, reference), ...pointing]);
  return new Response(null, { status: 202 });
}

/** GET /v2/<name>/tags/list?n=&last=. */
export async function listTags(bucket: R2Bucket, request: Request, name: string): Promise<Response> {
  const objects = await listAll(bucket, tagPrefix(name), "/");
  const tags = objects.map((o) => o.key.slice(tagPrefix(name).length)).filter(isTag);
  if (tags.length === 0 && !(await bucket.head(catalogKey(name)))) {
    throw new RegistryError("NAME_UNKNOWN", "repository name not known to registry", { name });
  }
  return paginated(request, `/v2/${name}/tags/list`, tags, (page) => ({ name, tags: page }));
}

/** GET /v2/_catalog?n=&last=. */
export async function listCatalog(bucket: R2Bucket, request: Request): Promise<Response> {
  const names = (await listAll(bucket, "catalog/")).map((o) => o.key.slice("catalog/".length));
  return paginated(request, "/v2/_catalog", names, (page) => ({ repositories: page }));
}

/** Lexically sorted page after `last`, of at most `n`, with a Link header to the next page. */
function paginated(
  request: Request,
  path: string,
  all: string[],
  body: (page: string[]) => Record<string, unknown>,
): Response {
  const params = new URL(request.url).searchParams;
  const last = params.get("last");
  const nParam = params.get("n");
  const n = nParam === null ? Number.POSITIVE_INFINITY : Number(nParam);
  if (!Number.isInteger(n) && n !== Number.POSITIVE_INFINITY) {
    throw new RegistryError("UNSUPPORTED", "n must be an integer", { n: nParam }, 400);
  }
  const sorted = [...all].sort();
  const after = last === null ? sorted : sorted.filter((s) => s > last);
  const page = after.slice(0, n);
  const headers: Record<string, string> = { "Content-Type": "application/json" };
  if (after.length > page.length && page.length > 0) {
    headers.Link = `<${path}?n=${n}&last=${encodeURIComponent(page[page.length - 1])}>; rel="next"`;
  }
  return new Response(JSON.stringify(body(page)), { status: 200, headers });
}

/** A tag's digest, or the digest itself. */
async function resolve(bucket: R2Bucket, name: string, reference: string): Promise<string> {
  if (isDigest(reference)) return reference;
  const tag = await bucket.get(tagPrefix(name) + reference);
  if (!tag) throw manifestUnknown(name, reference);
  return (await tag.text()).trim();
}

function parse(bytes: Uint8Array): Manifest {
  try {
    const value = JSON.parse(new TextDecoder().decode(bytes));
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Manifest;
  } catch {
    // fall through to the error below
  }
  throw new RegistryError("MANIFEST_INVALID", "manifest is not a JSON object");
}

/** An image manifest's config and layers must all be in the registry, with the sizes it claims. */
async function checkBlobs(bucket: R2Bucket, manifest: Manifest): Promise<void> {
  if (!manifest.config || !Array.isArray(manifest.layers)) {
    throw new RegistryError("MANIFEST_INVALID", "image manifest needs config and layers");
  }
  for (const d of [manifest.config, ...manifest.layers]) {
    validDescriptor(d);
    const size = await blobSize(bucket, d.digest);
    if (size === undefined) {
      throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "blob unknown to registry", { digest: d.digest });
    }
    if (typeof d.size === "number" && d.size !== size) {
      throw new RegistryError("MANIFEST_INVALID", "descriptor size does not match the blob", {
        digest: d.digest,
        size: d.size,
        actual: size,
      });
    }
  }
}

/** An index's manifests must already be in this repository. */
async function checkChildren(bucket: R2Bucket, name: string, manifest: Manifest): Promise<void> {
  if (!Array.isArray(manifest.manifests))
    throw new RegistryError("MANIFEST_INVALID", "index needs manifests");
  for (const d of manifest.manifests) {
    validDescriptor(d);
    if (!(await bucket.head(manifestKey(name, d.digest)))) {
      throw new RegistryError("MANIFEST_BLOB_UNKNOWN", "manifest unknown to registry", { digest: d.digest });
    }
  }
}

/** A descriptor must carry a well-formed digest: it becomes part of a storage key. */
function validDescriptor(d: Descriptor | undefined): asserts d is Descriptor & { digest: string } {
  if (typeof d?.digest !== "string") throw new RegistryError("MANIFEST_INVALID", "descriptor without digest");
  validDigest(d.digest);
}

function manifestUnknown(name: string, reference: string): RegistryError {
  return new RegistryError("MANIFEST_UNKNOWN", "manifest unknown to registry", { name, reference });
}
