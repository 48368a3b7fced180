/**
 * Unpacks image layers (tar, optionally gzip) into a root directory, safely:
 * entries that would land outside the root (`..`, symlinks pointing out of
 * it) and device/fifo entries are refused, so a hostile image cannot write
 * to the host. OCI whiteouts (`.wh.<name>`) delete what lower layers added.
 */
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, isAbsolute, join, normalize, relative, resolve } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { PullError } from "../types.ts";

/** Apply one layer blob on top of `root`. */
export async function applyLayer(root: string, blob: Uint8Array): Promise<void> {
  const gzipped = blob[0] === 0x1f && blob[1] === 0x8b;
  const source = Readable.from([Buffer.from(blob)]);
  const stream = gzipped ? source.pipe(createGunzip()) : source;
  const extract = tar.extract();
  stream.pipe(extract);
  for await (const entry of extract) {
    const header = entry.header;
    const target = safeTarget(root, header.name);
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    if (!target) continue;
    const base = target.split("/").pop() ?? "";
    if (base.startsWith(".wh.")) {
      if (base === ".wh..wh..opq") rmSync(dirname(target), { recursive: true, force: true });
      else rmSync(join(dirname(target), base.slice(4)), { recursive: true, force: true });
      continue;
    }
    switch (header.type) {
      case "directory":
        mkdirSync(target, { recursive: true });
        break;
      case "file":
      case "contiguous-file":
        mkdirSync(dirname(target), { recursive: true });
        rmSync(target, { force: true, recursive: true });
        writeFileSync(target, Buffer.concat(chunks), { mode: (header.mode ?? 0o644) & 0o755 });
        break;
      case "symlink": {
        const link = header.linkname ?? "";
        const pointsTo = isAbsolute(link) ? join(root, link) : resolve(dirname(target), link);
        if (!inside(root, pointsTo))
          throw new PullError("ErrImagePull", `layer symlink ${header.name} escapes the image root`);
        mkdirSync(dirname(target), { recursive: true });
        rmSync(target, { force: true, recursive: true });
        symlinkSync(isAbsolute(link) ? relative(dirname(target), pointsTo) || "." : link, target);
        break;
      }
      case "link":
        throw new PullError("ErrImagePull", `hard links are not supported in wasm images (${header.name})`);
      default:
        throw new PullError("ErrImagePull", `refusing ${header.type} entry ${header.name} in image layer`);
    }
  }
}

/** Where an entry goes, or a PullError when it would escape `root`. */
function safeTarget(root: string, name: string): string | undefined {
  const clean = normalize(name.replace(/^\/+/, ""));
  if (clean === "." || clean === "") return undefined;
  if (clean.split("/").includes(".."))
    throw new PullError("ErrImagePull", `layer entry ${name} escapes the image root`);
  const target = join(root, clean);
  if (!inside(root, target))
    throw new PullError("ErrImagePull", `layer entry ${name} escapes the image root`);
  return target;
}

function inside(root: string, path: string): boolean {
  const rel = relative(resolve(root), resolve(path));
  return rel === "" || (!rel.startsWith("..") && !isAbsolute(rel));
}
