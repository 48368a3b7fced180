/**
 * The launcher shell (launcher.ts) on the real system, and that a WASM pod's
 * start (netns, CNI ADD, shim) makes the agent spawn no process of its own:
 * every such spawn stalled the agent's event loop (bench/pod-startup).
 */
import { ChildProcess } from "node:child_process";
import * as fsModule from "node:fs";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../network/cni.ts";
import { until } from "../../testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../testing/oci-registry.ts";
import { Launcher, launcher } from "./launcher.ts";
import { WasmRuntime } from "./runtime.ts";

const here = dirname(fileURLToPath(import.meta.url));
const wasmDir = join(here, "../../../../wasm");
const BRIDGE = `eplt${process.pid % 100000}`;
const POD_CIDR = `10.252.${process.pid % 250}.0/24`;

let registry: TestRegistry;
let dataDir: string;
let image: string;

beforeAll(async () => {
  registry = await startTestRegistry();
  dataDir = mkdtempSync(join(tmpdir(), "wasm-launcher-"));
  image = registry.push("samples/ticker", "v1", [
    { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(join(wasmDir, "ticker.wasm"))) },
  ]).image;
});

afterAll(async () => {
  const r = new WasmRuntime({
    dataDir,
    nodeName: `launcher-${process.pid}`,
    hostIP: "127.0.0.1",
    network: { podCidr: POD_CIDR, bridge: BRIDGE },
  });
  for (const s of await r.listSandboxes()) await r.removeSandbox(s.id);
  for (const c of await r.listContainers()) await r.removeContainer(c.id);
  await deleteBridge(BRIDGE).catch(() => {});
  await registry?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

/** Session id of a process (field 6 of /proc/<pid>/stat) and its parent pid. */
function procStat(pid: number): { ppid: number; session: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return { ppid: Number(fields[1]), session: Number(fields[3]) };
}

describe("launcher shell", () => {
  it("runs a command with its input, its own environment only, and words passed verbatim", async () => {
    const l = new Launcher();
    process.env.LAUNCHER_TEST_SECRET = "not-for-children";
    try {
      const odd = `it's $(touch /tmp/no) "q" \\ *\nsecond line`;
      const echo = await l.run(
        ["/bin/sh", "-c", 'printf "%s|%s|%s" "$1" "$X" "$LAUNCHER_TEST_SECRET"', "sh", odd],
        {
          env: { X: "x'y" },
        },
      );
      expect(echo).toEqual({ code: 0, stdout: `${odd}|x'y|`, stderr: "" });
      const cat = await l.run(["cat"], { input: '{"a":1}\n' });
      expect(cat.stdout).toBe('{"a":1}\n');
      const fail = await l.run(["/bin/sh", "-c", "echo oops >&2; exit 3"]);
      expect(fail).toEqual({ code: 3, stdout: "", stderr: "oops\n" });
      // Many at once: each answer reaches its own caller.
      const many = await Promise.all(
        Array.from({ length: 20 }, (_, i) => l.run(["/bin/sh", "-c", `echo ${i}; exit ${i % 4}`])),
      );
      expect(many).toEqual(many.map((_, i) => ({ code: i % 4, stdout: `${i}\n`, stderr: "" })));
    } finally {
      delete process.env.LAUNCHER_TEST_SECRET;
      l.close();
    }
  });

  it("starts a detached process in its own session that is no child of this process", async () => {
    const l = new Launcher();
    const dir = mkdtempSync(join(tmpdir(), "launcher-start-"));
    try {
      const pid = await l.start(["/bin/sh", "-c", 'echo "$$ $GREETING"; exec sleep 30'], {
        env: { GREETING: "hi" },
        outputPath: join(dir, "out"),
      });
      const stat = procStat(pid);
      expect(stat.session).toBe(pid);
      expect(stat.ppid).not.toBe(process.pid);
      await until(async () => readFileSync(join(dir, "out"), "utf8") === `${pid} hi\n`, 10_000);
      process.kill(-pid, "SIGKILL");
    } finally {
      l.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("rejects what is pending when the shell dies, and starts a new one for the next command", async () => {
    const l = new Launcher();
    try {
      expect((await l.run(["true"])).code).toBe(0);
      const pending = l.run(["sleep", "5"]);
      process.kill(l.pid ?? 0, "SIGKILL");
      await expect(pending).rejects.toThrow(/launcher shell exited/);
      expect((await l.run(["true"])).code).toBe(0);
    } finally {
      l.close();
    }
  });
});

// The synchronous fs calls that write (a busy disk or cgroupfs makes them take milliseconds each).
const SYNC_WRITES = ["mkdirSync", "writeFileSync", "renameSync", "chownSync", "openSync"] as const;

/** Wrap fs's synchronous writers (for CommonJS and ESM importers alike) to record calls; returns the undo. */
function recordSyncWrites(calls: string[]): () => void {
  const fs = createRequire(import.meta.url)("node:fs") as Record<string, (...a: unknown[]) => unknown>;
  const originals = SYNC_WRITES.map((name) => [name, fs[name]] as const);
  for (const [name, original] of originals)
    fs[name] = (...a: unknown[]) => {
      calls.push(`${name} ${String(a[0])}`);
      return original(...a);
    };
  syncBuiltinESMExports();
  return () => {
    for (const [name, original] of originals) fs[name] = original;
    syncBuiltinESMExports();
  };
}

describe("WASM pod start without agent spawns or synchronous writes", () => {
  it("records synchronous fs writes through the ESM binding (the check below can see them)", () => {
    const calls: string[] = [];
    const undo = recordSyncWrites(calls);
    const dir = mkdtempSync(join(tmpdir(), "launcher-fs-"));
    try {
      fsModule.mkdirSync(join(dir, "x"));
    } finally {
      undo();
      rmSync(dir, { recursive: true, force: true });
    }
    expect(calls).toEqual([`mkdirSync ${join(dir, "x")}`]);
  });

  it("runSandbox (netns, CNI ADD), createContainer and startContainer spawn no child of the agent and write no file synchronously", async () => {
    const r = new WasmRuntime({
      dataDir,
      nodeName: `launcher-${process.pid}`,
      hostIP: "127.0.0.1",
      network: { podCidr: POD_CIDR, bridge: BRIDGE },
    });
    await r.pullImage(image, { policy: "IfNotPresent" });
    await launcher.run(["true"]); // the launcher's own shell is the agent's one spawn, once
    const spawned: string[] = [];
    // Every spawn (spawn, execFile, exec) goes through ChildProcess.prototype.spawn: count them.
    const proto = ChildProcess.prototype as unknown as { spawn: (options: { file?: string }) => unknown };
    const original = proto.spawn;
    proto.spawn = function (this: ChildProcess, options: { file?: string }) {
      spawned.push(String(options?.file));
      return original.call(this, options);
    };
    const writes: string[] = [];
    const undoWrites = recordSyncWrites(writes);
    let containerId: string;
    const podDir = join(dataDir, "pods", "ls");
    const sb = {
      uid: "ls",
      namespace: "default",
      name: "pod-ls",
      hostname: "pod-ls",
      labels: {},
      annotations: {},
      ports: [],
      podDir,
    };
    try {
      const status = await r.runSandbox(sb);
      expect(status.ip).toMatch(new RegExp(`^10\\.252\\.${process.pid % 250}\\.\\d+$`));
      containerId = await r.createContainer(
        status.id,
        {
          name: "main",
          image,
          command: [],
          args: [],
          env: {},
          mounts: [],
          limits: {},
          requests: {},
          ports: [],
          logPath: join(podDir, "logs", "main", "0.log"),
        },
        sb,
      );
      await r.startContainer(containerId);
    } finally {
      proto.spawn = original;
      undoWrites();
    }
    expect(spawned).toEqual([]);
    expect(writes).toEqual([]);
    // And the pod really runs: the ticker logs.
    await until(async () => {
      try {
        return readFileSync(join(podDir, "logs", "main", "0.log"), "utf8").includes("stdout");
      } catch {
        return false;
      }
    }, 30_000);
    expect((await r.containerStatus(containerId))?.state).toBe("running");
  });
});
