/**
 * Unpacks image layers (tar, optionally gzip) into a root directory without
 * ever touching anything outside it. Every entry's parent directory is
 * resolved component by component inside the root (fs/securejoin.ts, the
 * semantics of openat2 RESOLVE_IN_ROOT), so symlinks stored by earlier
 * entries, however chained, are followed inside the root; the entry itself
 * is then created without following its final component (files with
 * O_EXCL|O_NOFOLLOW). OCI whiteouts (`.wh.<name>`, `.wh..wh..opq`) delete
 * what lower layers added, resolved the same way. Device nodes and fifos are
 * skipped, as rootless unpackers skip them: the agent creates no special
 * files, and a wasm image has no use for them.
 *
 * Races: the unpacker is the only writer to the fresh directory it was
 * given (oci.ts makes it with mkdtemp and nothing runs from it until the
 * module is read out), so nothing can swap a checked component for a symlink
 * between the walk and the write.
 */
import {
  closeSync,
  constants,
  linkSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { Readable } from "node:stream";
import { createGunzip } from "node:zlib";
import tar from "tar-stream";
import { PathEscapeError, resolveInRoot } from "../../fs/securejoin.ts";
import { PullError } from "../types.ts";

const WHITEOUT = ".wh.";
const OPAQUE = ".wh..wh..opq";
/** Entry types skipped rather than created. */
const SPECIAL = new Set(["character-device", "block-device", "fifo"]);

/** Apply one layer blob on top of `root` (an absolute directory path without symlinks). */
export async function applyLayer(root: string, blob: Uint8Array): Promise<void> {
  const gzipped = blob[0] === 0x1f && blob[1] === 0x8b;
  const source = Readable.from([Buffer.from(blob)]);
  const stream = gzipped ? source.pipe(createGunzip()) : source;
  const extract = tar.extract();
  stream.pipe(extract);
  // Whiteouts apply to lower layers only: what this layer wrote itself stays.
  const written = new Set<string>();
  for await (const entry of extract) {
    const chunks: Buffer[] = [];
    for await (const chunk of entry) chunks.push(chunk as Buffer);
    try {
      applyEntry(root, entry.header, Buffer.concat(chunks), written);
    } catch (error) {
      if (error instanceof PathEscapeError)
        throw new PullError("ErrImagePull", `layer entry ${entry.header.name}: ${error.message}`);
      throw error;
    }
  }
}

function applyEntry(root: string, header: tar.Header, content: Buffer, written: Set<string>): void {
  const parts = entryParts(header.name);
  if (SPECIAL.has(header.type ?? "")) return;
  const base = parts.pop();
  if (base === undefined) return;
  if (base === "..") {
    // Only a directory entry can name a parent; it then just has to exist.
    if (header.type !== "directory")
      throw new PullError("ErrImagePull", `layer entry ${header.name} is not a file name`);
    resolveInRoot(root, header.name, { mkdir: true });
    return;
  }
  // As moby does, a relative symlink target that plainly climbs out is refused with a clear error;
  // any other stored link is harmless, since every later lookup resolves it inside the root.
  const link = header.linkname ?? "";
  if (header.type === "symlink" && !link.startsWith("/"))
    entryParts([...parts, link].join("/"), `layer symlink ${header.name}`);
  // The parent is resolved (and created) inside the root; the final component is never followed.
  const parent = resolveInRoot(root, parts.join("/"), { mkdir: true });
  if (base === OPAQUE) {
    for (const child of readdirSync(parent))
      if (!written.has(join(parent, child))) rmSync(join(parent, child), { recursive: true, force: true });
    return;
  }
  if (base.startsWith(WHITEOUT)) {
    const victim = base.slice(WHITEOUT.length);
    if (victim === "" || victim === "." || victim === "..") return;
    const target = join(parent, victim);
    // rmSync unlinks a symlink rather than following it, and recurses without following any.
    if (!written.has(target)) rmSync(target, { recursive: true, force: true });
    return;
  }
  const target = join(parent, base);
  written.add(target);
  switch (header.type) {
    case "directory": {
      const existing = lstatOrUndefined(target);
      if (existing?.isDirectory()) return;
      if (existing) rmSync(target, { force: true });
      mkdirSync(target, { mode: 0o755 });
      return;
    }
    case "file":
    case "contiguous-file":
      clear(target);
      writeNoFollow(target, content, (header.mode ?? 0o644) & 0o755);
      return;
    case "symlink": {
      if (link === "") throw new PullError("ErrImagePull", `layer symlink ${header.name} has no target`);
      clear(target);
      symlinkSync(link, target);
      return;
    }
    case "link": {
      // Hard link targets are archive paths, resolved inside the root; like link(2), a final
      // symlink is linked itself, not followed (it is harmless: every use resolves it in the root).
      const source = resolveInRoot(root, header.linkname ?? "", { followFinal: false });
      const stat = lstatOrUndefined(source);
      if (!stat || stat.isDirectory())
        throw new PullError(
          "ErrImagePull",
          `layer hard link ${header.name}: no file ${header.linkname} in the image`,
        );
      if (source === target) return;
      clear(target);
      linkSync(source, target);
      return;
    }
    default:
      throw new PullError("ErrImagePull", `refusing ${header.type} entry ${header.name} in image layer`);
  }
}

/**
 * The entry's archive path as components (empty for the root itself).
 * Names that climb above the archive root are refused as moby's unpacker
 * refuses them (a clear error for a plainly hostile layer); safety does not
 * depend on this check, `..` is resolved physically like any component.
 */
function entryParts(raw: string, what = `layer entry ${raw}`): string[] {
  const parts = raw.split("/").filter((c) => c !== "" && c !== ".");
  let depth = 0;
  for (const part of parts) {
    depth += part === ".." ? -1 : 1;
    if (depth < 0) throw new PullError("ErrImagePull", `${what} escapes the image root`);
  }
  return parts;
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/** Remove whatever is at `path` (a symlink is unlinked, not followed). */
function clear(path: string): void {
  rmSync(path, { recursive: true, force: true });
}

/** Create a new file; O_EXCL|O_NOFOLLOW refuse a symlink (even a dangling one) at the final component. */
function writeNoFollow(path: string, content: Buffer, mode: number): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(path, flags, mode);
  try {
    let offset = 0;
    while (offset < content.length) offset += writeSync(fd, content, offset);
  } finally {
    closeSync(fd);
  }
}
