// The first wall inside the engine, for node:wasi preview1 (the OS sandbox
// around the process is the second). uvwasi checks a path only lexically
// and then lets the kernel follow symlinks, so a module with a writable
// preopen could create `d -> .` and open `d/d/../../<anything>`, or create
// `root -> d/d/../..`, and walk out of its preopen. This wraps the
// preview1 path imports so that:
//   - a symlink target may not be absolute nor contain a `..` component
//     (every link the module makes points downwards from where it sits);
//   - a path argument containing `..` is cleaned lexically first (`a/b/..`
//     → `a`), so the kernel never applies `..` after a symlink; a path that
//     would climb above its directory fd is refused with ENOTCAPABLE.
// Paths without `..` are passed through untouched.

const ENOTCAPABLE = 76;
const EPERM = 63;
const decoder = new TextDecoder();
const encoder = new TextEncoder();

/** The lexically cleaned relative path, or undefined when it climbs above its start. */
export function cleanPath(path) {
  if (path.startsWith("/")) return undefined;
  const out = [];
  for (const part of path.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") {
      if (out.length === 0) return undefined;
      out.pop();
    } else out.push(part);
  }
  return out.length ? out.join("/") : ".";
}

/** True when a symlink with this target could point outside the directory tree it is created in. */
export function unsafeSymlinkTarget(target) {
  return target.startsWith("/") || target.split("/").includes("..");
}

// Which argument pairs (pointer, length) of each import are paths.
const PATH_ARGS = {
  path_create_directory: [1],
  path_filestat_get: [2],
  path_filestat_set_times: [2],
  path_link: [2, 5],
  path_open: [2],
  path_readlink: [1],
  path_remove_directory: [1],
  path_rename: [1, 4],
  path_symlink: [3],
  path_unlink_file: [1],
};

/** Wraps `imports` (a copy of wasi.wasiImport) in place; `memory()` returns the instance's memory. */
export function guardPaths(imports, memory) {
  for (const [name, positions] of Object.entries(PATH_ARGS)) {
    const inner = imports[name];
    if (typeof inner !== "function") continue;
    imports[name] = (...args) => {
      const bytes = new Uint8Array(memory().buffer);
      if (name === "path_symlink") {
        const target = decoder.decode(bytes.subarray(args[0], args[0] + args[1]));
        if (unsafeSymlinkTarget(target)) return EPERM;
      }
      const saved = [];
      for (const at of positions) {
        const ptr = args[at];
        const len = args[at + 1];
        const path = decoder.decode(bytes.subarray(ptr, ptr + len));
        if (path.startsWith("/")) return ENOTCAPABLE;
        if (!path.split("/").includes("..")) continue;
        const clean = cleanPath(path);
        if (clean === undefined) return ENOTCAPABLE;
        // Never longer than the original: written over it for the call, and the module's bytes put back after.
        const encoded = encoder.encode(clean);
        saved.push([ptr, bytes.slice(ptr, ptr + len)]);
        bytes.set(encoded, ptr);
        args[at + 1] = encoded.length;
      }
      try {
        return inner(...args);
      } finally {
        for (const [ptr, original] of saved) new Uint8Array(memory().buffer).set(original, ptr);
      }
    };
  }
  return imports;
}
