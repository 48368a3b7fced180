// One WASM container, in its own process (started detached by the wasm
// runtime through a tiny sh shim that records the exit code). Plain
// CommonJS that requires only Node's built-in modules: start-up time is pod
// start-up time, and CommonJS skips the ESM loader's start (~56 ms of CPU
// per pod in the sandbox's clean environment, against ~70 ms as an ES
// module; docs/node-agent.md, Benchmark). It also makes the file a valid
// `node --build-snapshot` entry; a snapshot was measured and not taken (it
// saves ~9 ms more but keeps its 4 MB blob in every pod's private memory).
//
//   node runner.cjs <containerDir>
//
// <containerDir>/config.json says what to run (see ContainerSpec in
// runtime.ts). stdout/stderr of the module go to config.logPath in CRI
// format ("<RFC3339Nano> stdout F <line>"), rotated at config.logMaxBytes.
// Components (component-runner.mjs) are imported when a pod is one.
"use strict";
const { closeSync, ftruncateSync, openSync, readFileSync, readSync, renameSync, statSync, writeSync } =
  require("node:fs");
const { join } = require("node:path");
const { WASI } = require("node:wasi");

/** CRI-format log file with size-bounded rotation (one rotated file kept: <log>.1). */
class CriLog {
  constructor(path, maxBytes, inPlace) {
    this.path = path;
    this.maxBytes = maxBytes;
    this.inPlace = inPlace;
    this.fd = openSync(path, "a");
    this.size = statSync(path).size;
    this.partial = { stdout: "", stderr: "" };
    this.decoder = { stdout: new TextDecoder(), stderr: new TextDecoder() };
  }
  write(stream, bytes) {
    let text = this.partial[stream] + this.decoder[stream].decode(bytes, { stream: true });
    let newline = text.indexOf("\n");
    while (newline >= 0) {
      this.line(stream, "F", text.slice(0, newline));
      text = text.slice(newline + 1);
      newline = text.indexOf("\n");
    }
    // Very long lines are split as CRI does, with "P" (partial) tags.
    while (text.length > 16384) {
      this.line(stream, "P", text.slice(0, 16384));
      text = text.slice(16384);
    }
    this.partial[stream] = text;
  }
  line(stream, tag, text) {
    const record = `${timestamp()} ${stream} ${tag} ${text}\n`;
    const bytes = Buffer.from(record);
    if (this.size + bytes.length > this.maxBytes && this.size > 0) this.rotate();
    writeSync(this.fd, bytes);
    this.size += bytes.length;
  }
  rotate() {
    if (this.inPlace) {
      // Sandboxed: the log and <log>.1 are bind-mounted files (renaming is impossible), so copy, then truncate.
      const old = Buffer.alloc(this.size);
      const read = openSync(this.path, "r");
      readSync(read, old, 0, old.length, 0);
      closeSync(read);
      const rotated = openSync(`${this.path}.1`, "r+");
      ftruncateSync(rotated, 0);
      writeSync(rotated, old, 0, old.length, 0);
      closeSync(rotated);
      ftruncateSync(this.fd, 0);
      this.size = 0;
      return;
    }
    closeSync(this.fd);
    renameSync(this.path, `${this.path}.1`);
    this.fd = openSync(this.path, "a");
    this.size = 0;
  }
  flush() {
    for (const stream of ["stdout", "stderr"]) {
      if (this.partial[stream]) this.line(stream, "F", this.partial[stream]);
      this.partial[stream] = "";
    }
  }
}

// RFC3339 with nanoseconds, like containerd (sub-millisecond digits from hrtime).
function timestamp() {
  const ms = Date.now();
  const sub = Number(process.hrtime.bigint() % 1000000n);
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 19)}.${String((ms % 1000) * 1000000 + sub).padStart(9, "0")}Z`;
}

async function runModule(config, bytes, log) {
  const wasi = new WASI({
    version: "preview1",
    args: [config.name, ...config.args],
    env: config.env,
    preopens: config.preopens,
    returnOnExit: true,
  });
  let memory;
  const imports =
    config.engineGuard === false ? { ...wasi.wasiImport } : guardPaths({ ...wasi.wasiImport }, () => memory);
  // stdout/stderr are captured here (not handed an fd) so each line gets a CRI timestamp.
  imports.fd_write = (fd, iovs, iovsLen, nwritten) => {
    if (fd !== 1 && fd !== 2) return wasi.wasiImport.fd_write(fd, iovs, iovsLen, nwritten);
    const view = new DataView(memory.buffer);
    let total = 0;
    for (let i = 0; i < iovsLen; i++) {
      const ptr = view.getUint32(iovs + i * 8, true);
      const len = view.getUint32(iovs + i * 8 + 4, true);
      log.write(fd === 1 ? "stdout" : "stderr", new Uint8Array(memory.buffer, ptr, len));
      total += len;
    }
    view.setUint32(nwritten, total, true);
    return 0;
  };
  const module = await WebAssembly.compile(bytes);
  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: imports });
  memory = instance.exports.memory;
  reportTiming();
  const code = wasi.start(instance);
  log.flush();
  process.exit(code ?? 0);
}

// The shim opens fd 8 on <containerDir>/timing.json: process start and instantiation, epoch ms (bench/pod-startup).
function reportTiming() {
  try {
    writeSync(
      8,
      JSON.stringify({ runnerStart: Math.round(performance.timeOrigin), instantiated: Date.now() }),
    );
    closeSync(8);
  } catch {
    // not started by the shim (fd 8 closed): nothing to report
  }
}

async function main(dir) {
  const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));
  const log = new CriLog(
    config.logPath,
    config.logMaxBytes ?? 10 * 1024 * 1024,
    config.rotateInPlace === true,
  );
  process.on("exit", () => log.flush());
  try {
    if (config.kind === "component") {
      const { runComponent } = await import("./component-runner.mjs");
      await runComponent(config, log, reportTiming);
    } else await runModule(config, readFileSync(config.modulePath), log);
  } catch (error) {
    log.write("stderr", Buffer.from(`wasm: ${error?.stack ?? error}\n`));
    log.flush();
    process.exit(1);
  }
}

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

/** The lexically cleaned relative path, or undefined when it climbs above its start. */
function cleanPath(path) {
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
function unsafeSymlinkTarget(target) {
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
function guardPaths(imports, memory) {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
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

// Last: everything above must be initialised first.
main(process.argv[2]);
