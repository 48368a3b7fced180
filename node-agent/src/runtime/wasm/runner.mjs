// One WASM container, in its own process (started detached by the wasm
// runtime through a tiny sh shim that records the exit code). Plain JS so it
// starts without a TypeScript loader: start-up time is pod start-up time.
//
//   node runner.mjs <containerDir>
//
// <containerDir>/config.json says what to run (see ContainerSpec in
// runtime.ts). stdout/stderr of the module go to config.logPath in CRI
// format ("<RFC3339Nano> stdout F <line>"), rotated at config.logMaxBytes.
import {
  closeSync,
  ftruncateSync,
  openSync,
  readFileSync,
  readSync,
  renameSync,
  statSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { WASI } from "node:wasi";
import { guardPaths } from "./wasi-guard.mjs";

const dir = process.argv[2];
const config = JSON.parse(readFileSync(join(dir, "config.json"), "utf8"));

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

async function runModule(bytes, log) {
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

async function main() {
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
    } else await runModule(readFileSync(config.modulePath), log);
  } catch (error) {
    log.write("stderr", Buffer.from(`wasm: ${error?.stack ?? error}\n`));
    log.flush();
    process.exit(1);
  }
}

// Last: CriLog and the helpers above must be initialised first.
await main();
