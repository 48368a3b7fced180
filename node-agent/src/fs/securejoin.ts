/**
 * Root-confined path resolution for the agent's writes on the host (image
 * layers, volume subPaths). Node has no openat2 binding, so both functions
 * walk the path one component at a time with lstat/readlink, re-resolving
 * every symlink they meet, the way filepath-securejoin does. Never lexical:
 * `d -> .` followed by `r -> d/d/../..` is resolved physically.
 *
 * Races: a component could be swapped between the check and the caller's
 * use. The callers are safe against that only where nobody else writes to
 * the tree (the layer unpacker owns its fresh directory); see each caller.
 */
import { lstatSync, mkdirSync, readlinkSync, realpathSync } from "node:fs";
import { isAbsolute, join, relative, sep } from "node:path";

/** A path that would leave its root, or loops: callers turn it into their own error. */
export class PathEscapeError extends Error {
  override name = "PathEscapeError";
}

/** Symlinks followed in one lookup before ELOOP: Linux's MAXSYMLINKS, which also bounds a hostile layer's work. */
const MAX_LINKS = 40;

/** Options for resolveInRoot. */
export interface InRootOptions {
  /** Create missing components as directories (0755) while walking. */
  mkdir?: boolean;
  /** Resolve a symlink in the final component too (true), or return the link itself (false, lstat semantics). */
  followFinal?: boolean;
}

function components(path: string): string[] {
  return path.split("/").filter((c) => c !== "" && c !== ".");
}

function lstatOrUndefined(path: string) {
  try {
    return lstatSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
}

/**
 * Resolve `path` inside `root` as openat2(RESOLVE_IN_ROOT) does: `root` acts
 * as `/`, so `..` at the root stays at the root and a symlink, absolute or
 * relative, is followed inside the root. `root` must be an absolute
 * directory path without symlinks. Missing components are appended as
 * they are (or created with `mkdir`). The result is always under `root`.
 */
export function resolveInRoot(root: string, path: string, options: InRootOptions = {}): string {
  const followFinal = options.followFinal ?? true;
  const done: string[] = [];
  const todo = components(path);
  let links = 0;
  while (todo.length > 0) {
    const part = todo.shift() as string;
    if (part === "..") {
      done.pop();
      continue;
    }
    const candidate = join(root, ...done, part);
    const stat = lstatOrUndefined(candidate);
    if (stat?.isSymbolicLink() && (todo.length > 0 || followFinal)) {
      if (++links > MAX_LINKS) throw new PathEscapeError(`too many levels of symbolic links in ${path}`);
      const target = readlinkSync(candidate);
      // Absolute targets restart at the root, relative ones at the link's directory.
      if (isAbsolute(target)) done.length = 0;
      todo.unshift(...components(target));
      continue;
    }
    if (!stat && options.mkdir && (todo.length > 0 || followFinal)) mkdirSync(candidate, { mode: 0o755 });
    else if (stat && todo.length > 0 && !stat.isDirectory() && !stat.isSymbolicLink())
      throw new PathEscapeError(`${join(...done, part)} is not a directory (in ${path})`);
    done.push(part);
  }
  return join(root, ...done);
}

/** True when `path` is `root` or below it (both absolute, normalised). */
export function isWithin(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === "" || (rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Resolve a relative `path` beneath `root` with host semantics, as kubelet
 * resolves a volume subPath: symlinks are followed, but any step whose real
 * location leaves `root` (or a dangling link) is a PathEscapeError rather
 * than being clamped. Missing components are created as directories when
 * `mkdir` is set (kubelet creates a missing subPath). Returns a path whose
 * every component is a real directory entry inside `root`, with no symlinks.
 */
export function resolveBeneath(root: string, path: string, options: { mkdir?: boolean } = {}): string {
  if (isAbsolute(path)) throw new PathEscapeError(`${path} must be a relative path`);
  if (path.split("/").includes("..")) throw new PathEscapeError(`${path} must not contain '..'`);
  const base = realpathSync(root);
  let current = base;
  for (const part of components(path)) {
    const next = join(current, part);
    const stat = lstatOrUndefined(next);
    if (!stat) {
      if (!options.mkdir) throw new PathEscapeError(`${path} does not exist in the volume`);
      mkdirSync(next, { mode: 0o755 });
      current = next;
      continue;
    }
    if (stat.isSymbolicLink()) {
      let real: string;
      try {
        real = realpathSync(next);
      } catch {
        throw new PathEscapeError(`${path} passes through a dangling symlink`);
      }
      if (!isWithin(base, real)) throw new PathEscapeError(`${path} points outside the volume`);
      current = real;
      continue;
    }
    current = next;
  }
  return current;
}
