/**
 * Writes a configMap/secret/downwardAPI volume the way kubelet's AtomicWriter
 * does, so a container never sees a half-updated set of files and no key can
 * name a path outside the volume:
 *
 *   <dir>/..2026_12_07_05_30_00.123456789/   the payload, written fresh
 *   <dir>/..data -> ..2026_12_07_...          swapped with rename(2)
 *   <dir>/<key>  -> ..data/<key>              the names users see
 *
 * Races: the agent is the only writer (the volume is mounted read-only into
 * every container), and each payload goes into a directory made with mkdtemp,
 * so nothing can plant a symlink under the paths being written.
 */
import {
  chmodSync,
  closeSync,
  constants,
  fchmodSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  symlinkSync,
  writeSync,
} from "node:fs";
import { basename, dirname, join } from "node:path";

const DATA = "..data";
const DATA_TMP = "..data_tmp";

/** One file of a volume payload. */
export interface PayloadFile {
  data: Uint8Array;
  /** Permission bits (0644 when unset, as kubelet defaults). */
  mode?: number;
}

/** A payload path kubelet would refuse: absolute, containing `..`, starting with `..`, or too long. */
export class PayloadPathError extends Error {
  override name = "PayloadPathError";
}

/** Kubelet's validatePath: relative, no `..` component, not starting with `..` (reserved), bounded. */
export function validatePayloadPath(path: string): string {
  if (path === "") throw new PayloadPathError("volume item path must not be empty");
  if (path.length > 4096) throw new PayloadPathError(`volume item path ${path} is longer than 4096`);
  if (path.startsWith("/")) throw new PayloadPathError(`volume item path ${path} must be relative`);
  const parts = path.split("/").filter((p) => p !== "" && p !== ".");
  if (parts.includes("..")) throw new PayloadPathError(`volume item path ${path} must not contain '..'`);
  if (parts.length === 0 || parts[0].startsWith(".."))
    throw new PayloadPathError(`volume item path ${path} must not start with '..'`);
  if (parts.some((p) => p.length > 255))
    throw new PayloadPathError(`volume item path ${path} has a component longer than 255`);
  return parts.join("/");
}

/** Write `payload` (path -> file) into `dir` atomically; a no-op when it already holds exactly that. */
export function writeAtomically(dir: string, payload: Record<string, PayloadFile>, now = new Date()): void {
  const files = new Map<string, PayloadFile>();
  for (const [path, file] of Object.entries(payload)) files.set(validatePayloadPath(path), file);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const current = currentDataDir(dir);
  if (!current || !holds(join(dir, current), files)) {
    const fresh = mkdtempSync(join(dir, timestampPrefix(now)));
    // mkdtemp makes it 0700; group and other must be able to walk it (kubelet chmods too).
    chmodSync(fresh, 0o755);
    for (const [path, file] of files) {
      const target = join(fresh, path);
      mkdirSync(dirname(target), { recursive: true, mode: 0o755 });
      writeNew(target, file.data, (file.mode ?? 0o644) & 0o777);
    }
    const tmp = join(dir, DATA_TMP);
    rmSync(tmp, { force: true });
    symlinkSync(basename(fresh), tmp);
    renameSync(tmp, join(dir, DATA));
  }
  const visible = new Set([...files.keys()].map((p) => p.split("/")[0]));
  for (const name of visible) {
    const path = join(dir, name);
    const want = `${DATA}/${name}`;
    const stat = lstatOrUndefined(path);
    if (stat?.isSymbolicLink() && readlinkSync(path) === want) continue;
    if (stat) rmSync(path, { recursive: true, force: true });
    symlinkSync(want, path);
  }
  const live = currentDataDir(dir);
  for (const entry of readdirSync(dir)) {
    const stale = entry.startsWith("..") ? entry !== DATA && entry !== live : !visible.has(entry);
    if (stale) rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/** `..2026_12_07_05_30_00.` like kubelet's `..2006_01_02_15_04_05.` prefix (mkdtemp adds the suffix). */
function timestampPrefix(now: Date): string {
  const p = (n: number) => String(n).padStart(2, "0");
  return `..${now.getUTCFullYear()}_${p(now.getUTCMonth() + 1)}_${p(now.getUTCDate())}_${p(now.getUTCHours())}_${p(now.getUTCMinutes())}_${p(now.getUTCSeconds())}.`;
}

function currentDataDir(dir: string): string | undefined {
  try {
    const target = readlinkSync(join(dir, DATA));
    return target.includes("/") || !target.startsWith("..") ? undefined : target;
  } catch {
    return undefined;
  }
}

/** True when `dataDir` holds exactly `files` as regular files, byte for byte and mode for mode. */
function holds(dataDir: string, files: Map<string, PayloadFile>): boolean {
  try {
    const present = listFiles(dataDir);
    if (!present || present.length !== files.size) return false;
    for (const path of present) {
      const file = files.get(path);
      if (!file) return false;
      const full = join(dataDir, path);
      if ((lstatSync(full).mode & 0o777) !== ((file.mode ?? 0o644) & 0o777)) return false;
      if (!Buffer.from(file.data).equals(readFileSync(full))) return false;
    }
    return true;
  } catch {
    // Missing or damaged: write a fresh copy.
    return false;
  }
}

/** Regular files under `dir` (relative paths); undefined when anything else (a link...) is there. */
function listFiles(dir: string, prefix = ""): string[] | undefined {
  const out: string[] = [];
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isFile()) out.push(rel);
    else if (!e.isDirectory()) return undefined;
    else {
      const inner = listFiles(dir, rel);
      if (!inner) return undefined;
      out.push(...inner);
    }
  }
  return out;
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

/** A new file (O_EXCL|O_NOFOLLOW) with exactly `mode`, whatever the umask (kubelet chmods too). */
function writeNew(path: string, data: Uint8Array, mode: number): void {
  const flags = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;
  const fd = openSync(path, flags, mode);
  try {
    let offset = 0;
    while (offset < data.length) offset += writeSync(fd, data, offset);
    fchmodSync(fd, mode);
  } finally {
    closeSync(fd);
  }
}
