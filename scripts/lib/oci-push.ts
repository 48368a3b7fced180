/**
 * Pushes content to an OCI distribution registry (the built-in one at
 * /v2/ of the control plane): blobs monolithically (POST ?digest=), then
 * the manifest by tag. pushWasm wraps a .wasm file as an OCI artifact
 * (config application/vnd.wasm.config.v0+json, layer application/wasm), the
 * layout the node agent's puller and wasm-pkg tools understand.
 */
import { createHash } from "node:crypto";
import type { ClusterFetch } from "./client.ts";

/** A pushed manifest. */
export interface Pushed {
  repository: string;
  tag: string;
  /** sha256 digest of the manifest. */
  digest: string;
}

/** sha256:<hex> of bytes. */
export function sha256Digest(bytes: Uint8Array): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

/** Upload one blob (skipped when the registry already has it); returns its digest. */
export async function pushBlob(
  fetcher: ClusterFetch,
  repository: string,
  bytes: Uint8Array,
): Promise<string> {
  const digest = sha256Digest(bytes);
  const head = await fetcher(`/v2/${repository}/blobs/${digest}`, { method: "HEAD" });
  if (head.status === 200) return digest;
  const res = await fetcher(`/v2/${repository}/blobs/uploads/?digest=${digest}`, {
    method: "POST",
    body: bytes,
    headers: { "Content-Type": "application/octet-stream" },
  });
  if (res.status !== 201) throw new Error(`pushing blob ${digest} to ${repository}: ${await describe(res)}`);
  return digest;
}

/** PUT a manifest under a tag; returns its digest as the registry computed it. */
export async function pushManifest(
  fetcher: ClusterFetch,
  repository: string,
  tag: string,
  manifest: object,
  mediaType: string,
): Promise<string> {
  const res = await fetcher(`/v2/${repository}/manifests/${tag}`, {
    method: "PUT",
    body: JSON.stringify(manifest),
    headers: { "Content-Type": mediaType },
  });
  if (res.status !== 201) throw new Error(`pushing manifest ${repository}:${tag}: ${await describe(res)}`);
  return res.headers.get("Docker-Content-Digest") ?? "";
}

/** Push a .wasm module or component as an OCI artifact `repository:tag`. */
export async function pushWasm(
  fetcher: ClusterFetch,
  repository: string,
  tag: string,
  wasm: Uint8Array,
): Promise<Pushed> {
  if (wasm[0] !== 0 || wasm[1] !== 0x61 || wasm[2] !== 0x73 || wasm[3] !== 0x6d) {
    throw new Error("not a WebAssembly binary (no \\0asm header)");
  }
  const component = wasm[4] === 0x0d;
  const layerDigest = await pushBlob(fetcher, repository, wasm);
  const config = new TextEncoder().encode(
    JSON.stringify({
      architecture: "wasm",
      os: component ? "wasip2" : "wasip1",
      layerDigests: [layerDigest],
    }),
  );
  const configDigest = await pushBlob(fetcher, repository, config);
  const mediaType = "application/vnd.oci.image.manifest.v1+json";
  const digest = await pushManifest(
    fetcher,
    repository,
    tag,
    {
      schemaVersion: 2,
      mediaType,
      artifactType: "application/vnd.wasm.config.v0+json",
      config: {
        mediaType: "application/vnd.wasm.config.v0+json",
        digest: configDigest,
        size: config.byteLength,
      },
      layers: [{ mediaType: "application/wasm", digest: layerDigest, size: wasm.byteLength }],
    },
    mediaType,
  );
  return { repository, tag, digest };
}

/** Split "host[:port]/repo/name:tag" (host optional) into host, repository and tag. */
export function parseRef(ref: string): { host?: string; repository: string; tag: string } {
  let rest = ref;
  let host: string | undefined;
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  if (first.includes(".") || first.includes(":") || first === "localhost") {
    host = first;
    rest = rest.slice(slash + 1);
  }
  const colon = rest.lastIndexOf(":");
  const tag = colon > rest.lastIndexOf("/") && colon >= 0 ? rest.slice(colon + 1) : "latest";
  const repository = colon > rest.lastIndexOf("/") && colon >= 0 ? rest.slice(0, colon) : rest;
  if (!repository) throw new Error(`invalid reference "${ref}"`);
  return { host, repository, tag };
}

async function describe(res: Response): Promise<string> {
  const text = await res.text();
  try {
    const body = JSON.parse(text) as { errors?: { code: string; message: string }[] };
    if (body.errors?.length)
      return `${res.status} ${body.errors.map((e) => `${e.code}: ${e.message}`).join("; ")}`;
  } catch {
    // not an OCI error body
  }
  return `${res.status} ${text.slice(0, 200)}`;
}
