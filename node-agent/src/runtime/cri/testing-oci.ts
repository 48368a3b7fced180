/**
 * Test support: derive a new image in an OCI layout by stacking one extra
 * (uncompressed tar) layer on an existing image, so tests can craft layers
 * that no image builder would produce (`../` paths, absolute symlinks,
 * device nodes) and push them to a registry.
 */
import { createHash } from "node:crypto";
import { copyFile, mkdir, readdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { pack } from "tar-stream";

/** One entry of a crafted layer. */
export interface LayerEntry {
  name: string;
  type?: "file" | "directory" | "symlink" | "link" | "character-device" | "block-device";
  content?: string;
  linkname?: string;
  mode?: number;
  devmajor?: number;
  devminor?: number;
}

/** Builds an uncompressed tar from entries, in order, exactly as given (no path cleaning). */
export async function buildTar(entries: LayerEntry[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on("data", (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    p.on("end", () => res());
    p.on("error", rej);
  });
  for (const e of entries) {
    const type = e.type ?? "file";
    const header = {
      name: e.name,
      type,
      mode: e.mode ?? (type === "directory" ? 0o755 : 0o644),
      linkname: e.linkname,
      devmajor: e.devmajor,
      devminor: e.devminor,
      mtime: new Date(0),
    };
    await new Promise<void>((res, rej) => {
      const cb = (err?: Error | null) => (err ? rej(err) : res());
      if (type === "file") p.entry(header, e.content ?? "", cb);
      else p.entry(header, cb);
    });
  }
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

function sha256(b: Buffer): string {
  return `sha256:${createHash("sha256").update(b).digest("hex")}`;
}

interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  annotations?: Record<string, string>;
}

/**
 * Writes a new OCI layout at `dst` holding `srcTag` of `src` plus one layer
 * (tagged `dstTag`). Blobs are copied, so `src` is left untouched.
 */
export async function stackLayer(
  src: string,
  srcTag: string,
  dst: string,
  dstTag: string,
  layer: Buffer,
): Promise<void> {
  const blobDir = (root: string) => join(root, "blobs", "sha256");
  const readBlob = async (digest: string) => readFile(join(blobDir(src), digest.replace(/^sha256:/, "")));
  await mkdir(blobDir(dst), { recursive: true });
  for (const f of await readdir(blobDir(src))) await copyFile(join(blobDir(src), f), join(blobDir(dst), f));
  const writeBlob = async (b: Buffer) => {
    const d = sha256(b);
    await writeFile(join(blobDir(dst), d.slice("sha256:".length)), b);
    return d;
  };

  const index = JSON.parse(await readFile(join(src, "index.json"), "utf8")) as { manifests: Descriptor[] };
  const desc = index.manifests.find((m) => m.annotations?.["org.opencontainers.image.ref.name"] === srcTag);
  if (!desc) throw new Error(`${src} has no tag ${srcTag}`);
  const manifest = JSON.parse((await readBlob(desc.digest)).toString()) as {
    config: Descriptor;
    layers: Descriptor[];
  };
  const config = JSON.parse((await readBlob(manifest.config.digest)).toString()) as {
    rootfs: { diff_ids: string[] };
  };

  const layerDigest = await writeBlob(layer);
  config.rootfs.diff_ids.push(layerDigest);
  const configBytes = Buffer.from(JSON.stringify(config));
  manifest.config = { ...manifest.config, digest: await writeBlob(configBytes), size: configBytes.length };
  manifest.layers.push({
    mediaType: "application/vnd.oci.image.layer.v1.tar",
    digest: layerDigest,
    size: layer.length,
  });
  const manifestBytes = Buffer.from(JSON.stringify(manifest));
  const newIndex = {
    schemaVersion: 2,
    manifests: [
      {
        mediaType: desc.mediaType,
        digest: await writeBlob(manifestBytes),
        size: manifestBytes.length,
        annotations: { "org.opencontainers.image.ref.name": dstTag },
      },
    ],
  };
  await writeFile(join(dst, "index.json"), JSON.stringify(newIndex));
  await writeFile(join(dst, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
}
