import { describe, expect, it } from "vitest";
import { digestOf, errorCode, pushBlob, reg } from "./test-helpers.ts";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const OCI_INDEX = "application/vnd.oci.image.index.v1+json";
const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";

/** Push a config and one layer to `name`; returns an image manifest (as text) referencing them. */
async function imageManifest(name: string, layer: string, mediaType = OCI_MANIFEST): Promise<string> {
  const config = '{"architecture":"wasm","os":"wasip1"}';
  return JSON.stringify({
    schemaVersion: 2,
    mediaType,
    config: {
      mediaType: "application/vnd.wasm.config.v0+json",
      digest: await pushBlob(name, config),
      size: config.length,
    },
    layers: [{ mediaType: "application/wasm", digest: await pushBlob(name, layer), size: layer.length }],
  });
}

function putManifest(name: string, ref: string, body: string, type = OCI_MANIFEST): Promise<Response> {
  return reg(`/v2/${name}/manifests/${ref}`, { method: "PUT", body, headers: { "Content-Type": type } });
}

describe("manifests", () => {
  it("stores a manifest by tag and serves it by tag and digest with its media type", async () => {
    const body = await imageManifest("m/app", "layer-1");
    const digest = await digestOf(body);
    const put = await putManifest("m/app", "v1", body);
    expect(put.status).toBe(201);
    expect(put.headers.get("Docker-Content-Digest")).toBe(digest);
    expect(put.headers.get("Location")).toBe(`/v2/m/app/manifests/${digest}`);
    for (const ref of ["v1", digest]) {
      const get = await reg(`/v2/m/app/manifests/${ref}`, { headers: { Accept: OCI_MANIFEST } });
      expect(get.status).toBe(200);
      expect(get.headers.get("Content-Type")).toBe(OCI_MANIFEST);
      expect(get.headers.get("Docker-Content-Digest")).toBe(digest);
      expect(await get.text()).toBe(body);
    }
    const head = await reg("/v2/m/app/manifests/v1", { method: "HEAD" });
    expect(head.status).toBe(200);
    expect(head.headers.get("Content-Length")).toBe(String(body.length));
  });

  it("refuses manifests whose blobs are missing, whose digest differs, or that are not manifests", async () => {
    const missing = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: {
        mediaType: "application/vnd.oci.image.config.v1+json",
        digest: await digestOf("absent"),
        size: 6,
      },
      layers: [],
    });
    const res = await putManifest("m/bad", "v1", missing);
    expect(res.status).toBe(400);
    expect(await errorCode(res)).toBe("MANIFEST_BLOB_UNKNOWN");

    const body = await imageManifest("m/bad", "layer");
    const wrongDigest = await putManifest("m/bad", await digestOf("something else"), body);
    expect(wrongDigest.status).toBe(400);
    expect(await errorCode(wrongDigest)).toBe("DIGEST_INVALID");

    const notJson = await putManifest("m/bad", "v2", "{not json");
    expect(await errorCode(notJson)).toBe("MANIFEST_INVALID");
    const wrongType = await putManifest("m/bad", "v3", body, "application/json");
    expect(await errorCode(wrongType)).toBe("MANIFEST_INVALID");
    const badDescriptor = JSON.stringify({
      schemaVersion: 2,
      mediaType: OCI_MANIFEST,
      config: { digest: "sha256:../../catalog/x", size: 1 },
      layers: [],
    });
    expect(await errorCode(await putManifest("m/bad", "v4", badDescriptor))).toBe("DIGEST_INVALID");
    const unknown = await reg("/v2/m/bad/manifests/v1");
    expect(unknown.status).toBe(404);
    expect(await errorCode(unknown)).toBe("MANIFEST_UNKNOWN");
  });

  it("stores by digest, takes Docker schema2 and OCI indexes whose children exist", async () => {
    const docker = await imageManifest("m/multi", "amd64-layer", DOCKER_MANIFEST);
    const dockerDigest = await digestOf(docker);
    expect((await putManifest("m/multi", dockerDigest, docker, DOCKER_MANIFEST)).status).toBe(201);
    const get = await reg(`/v2/m/multi/manifests/${dockerDigest}`);
    expect(get.headers.get("Content-Type")).toBe(DOCKER_MANIFEST);

    const index = (digest: string) =>
      JSON.stringify({
        schemaVersion: 2,
        mediaType: OCI_INDEX,
        manifests: [
          {
            mediaType: DOCKER_MANIFEST,
            digest,
            size: docker.length,
            platform: { os: "linux", architecture: "amd64" },
          },
        ],
      });
    const orphan = await putManifest("m/multi", "latest", index(await digestOf("nope")), OCI_INDEX);
    expect(await errorCode(orphan)).toBe("MANIFEST_BLOB_UNKNOWN");
    expect((await putManifest("m/multi", "latest", index(dockerDigest), OCI_INDEX)).status).toBe(201);
    const latest = await reg("/v2/m/multi/manifests/latest");
    expect(latest.headers.get("Content-Type")).toBe(OCI_INDEX);
  });

  it("lists tags with pagination, lists the catalog, deletes by tag and by digest", async () => {
    const body = await imageManifest("m/tags", "tagged");
    const digest = await digestOf(body);
    for (const tag of ["c", "a", "b"]) expect((await putManifest("m/tags", tag, body)).status).toBe(201);
    const all = await reg("/v2/m/tags/tags/list");
    expect(await all.json()).toEqual({ name: "m/tags", tags: ["a", "b", "c"] });
    const page = await reg("/v2/m/tags/tags/list?n=2");
    expect(await page.json()).toEqual({ name: "m/tags", tags: ["a", "b"] });
    expect(page.headers.get("Link")).toBe('</v2/m/tags/tags/list?n=2&last=b>; rel="next"');
    const next = await reg("/v2/m/tags/tags/list?n=2&last=b");
    expect(await next.json()).toEqual({ name: "m/tags", tags: ["c"] });
    const catalog = (await (await reg("/v2/_catalog")).json()) as { repositories: string[] };
    expect(catalog.repositories).toContain("m/tags");

    expect((await reg("/v2/m/tags/manifests/a", { method: "DELETE" })).status).toBe(202);
    expect(await (await reg("/v2/m/tags/tags/list")).json()).toEqual({ name: "m/tags", tags: ["b", "c"] });
    expect((await reg(`/v2/m/tags/manifests/${digest}`, { method: "DELETE" })).status).toBe(202);
    expect((await reg(`/v2/m/tags/manifests/${digest}`)).status).toBe(404);
    expect((await reg("/v2/m/tags/manifests/b")).status).toBe(404);
    const unknownRepo = await reg("/v2/m/never/tags/list");
    expect(await errorCode(unknownRepo)).toBe("NAME_UNKNOWN");
  });

  it("refuses manifest pushes without a token", async () => {
    const body = await imageManifest("m/anon", "x");
    const res = await reg(
      "/v2/m/anon/manifests/v1",
      { method: "PUT", body, headers: { "Content-Type": OCI_MANIFEST } },
      null,
    );
    expect(res.status).toBe(401);
    expect((await reg("/v2/m/anon/manifests/v1")).status).toBe(404);
  });
});
