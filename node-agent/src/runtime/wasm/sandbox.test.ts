/**
 * The OS sandbox around WASM pod processes, on the real kernel: real bwrap,
 * real namespaces, real CNI. Assumes the engine can be escaped: the escape
 * module (wasm/src/escape.wat) runs once with node:wasi's path guard off,
 * and must still see nothing of the host.
 */
import { execFileSync, spawnSync } from "node:child_process";
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readlinkSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../network/cni.ts";
import { until } from "../../testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../testing/oci-registry.ts";
import type { ContainerConfig, SandboxConfig } from "../types.ts";
import { WasmRuntime } from "./runtime.ts";
import { bwrapArgs, dropPrivileges, findRuntimeFiles, SECCOMP_FD } from "./sandbox.ts";
import { seccompFilter } from "./seccomp.ts";

const here = dirname(fileURLToPath(import.meta.url));
const wasmDir = join(here, "../../../../wasm");
const BRIDGE = `epws${process.pid % 100000}`;
const POD_CIDR = `10.253.${process.pid % 250}.0/24`;

let registry: TestRegistry;
let dataDir: string;
let images: Record<string, string>;
const runtimes: WasmRuntime[] = [];

function runtime(extra: Partial<ConstructorParameters<typeof WasmRuntime>[0]> = {}): WasmRuntime {
  const r = new WasmRuntime({
    dataDir,
    nodeName: `sandbox-${process.pid}`,
    hostIP: "127.0.0.1",
    network: { podCidr: POD_CIDR, bridge: BRIDGE },
    ...extra,
  });
  runtimes.push(r);
  return r;
}

function sandbox(uid: string, extra: Partial<SandboxConfig> = {}): SandboxConfig {
  return {
    uid,
    namespace: "default",
    name: `pod-${uid}`,
    hostname: `pod-${uid}`,
    labels: {},
    annotations: {},
    ports: [],
    podDir: join(dataDir, "pods", uid),
    ...extra,
  };
}

async function start(
  r: WasmRuntime,
  uid: string,
  image: string,
  extra: Partial<ContainerConfig> = {},
  sandboxExtra: Partial<SandboxConfig> = {},
) {
  const sb = sandbox(uid, sandboxExtra);
  const status = await r.runSandbox(sb);
  const config: ContainerConfig = {
    name: "main",
    image,
    command: [],
    args: [],
    env: {},
    mounts: [],
    limits: {},
    requests: {},
    ports: [],
    logPath: join(sb.podDir, "logs", "main", "0.log"),
    ...extra,
  };
  const id = await r.createContainer(status.id, config, sb);
  await r.startContainer(id);
  return { id, ip: status.ip, logPath: config.logPath, sandboxId: status.id };
}

async function exited(r: WasmRuntime, id: string) {
  return until(async () => {
    const s = await r.containerStatus(id);
    return s?.state === "exited" ? s : undefined;
  }, 60_000);
}

/** The runner's host pid: the node process below the container's shim. */
function runnerPid(containerId: string): number | undefined {
  const state = JSON.parse(
    readFileSync(join(dataDir, "wasm", "containers", containerId, "state.json"), "utf8"),
  );
  const pids = [state.shimPid as number];
  for (let i = 0; i < pids.length; i++) {
    const argv = readFileSync(`/proc/${pids[i]}/cmdline`, "utf8").split("\0");
    if (i > 0 && argv[0] === "/usr/bin/node") return pids[i];
    const children = readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8").trim();
    for (const c of children.split(/\s+/)) if (Number(c) > 0) pids.push(Number(c));
  }
  return undefined;
}

beforeAll(async () => {
  registry = await startTestRegistry();
  dataDir = mkdtempSync(join(tmpdir(), "wasm-sandbox-"));
  images = {};
  for (const name of ["escape", "ticker"]) {
    images[name] = registry.push(`samples/${name}`, "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(join(wasmDir, `${name}.wasm`))) },
    ]).image;
    await runtime().pullImage(images[name], { policy: "IfNotPresent" });
  }
});

afterAll(async () => {
  const r = runtime();
  for (const s of await r.listSandboxes()) await r.removeSandbox(s.id);
  for (const c of await r.listContainers()) await r.removeContainer(c.id);
  await deleteBridge(BRIDGE).catch(() => {});
  await registry?.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("WASM pod sandbox", () => {
  it("runs the runner as uid 65534 with no capabilities, no_new_privs, seccomp and its own namespaces", async () => {
    const r = runtime();
    // A pod name longer than a hostname may be (64): cut to 63 as kubelet does.
    const longName = `pod-ns-${"x".repeat(80)}`;
    const { id, ip } = await start(r, "ns", images.ticker, {}, { name: longName, hostname: longName });
    const pid = await until(async () => runnerPid(id), 15_000);
    const status = readFileSync(`/proc/${pid}/status`, "utf8");
    expect(status).toMatch(/^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(status).toMatch(/^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    expect(status).toMatch(/^Groups:\s*$/m);
    for (const set of ["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"])
      expect(status).toMatch(new RegExp(`^${set}:\\s+0000000000000000$`, "m"));
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(status).toMatch(/^Seccomp:\s+2$/m);
    // cgroup limits: its own memory and pids cgroups (pids.max stops a fork bomb).
    const cgroups = readFileSync(`/proc/${pid}/cgroup`, "utf8");
    const own = `/edgeplane/sandbox-${process.pid}/${id}`;
    expect(cgroups).toMatch(new RegExp(`:memory:${own}$`, "m"));
    expect(cgroups).toMatch(new RegExp(`:pids:${own}$`, "m"));
    expect(readFileSync(`/sys/fs/cgroup/pids${own}/pids.max`, "utf8").trim()).toBe("128");
    // pid 2 in its own PID namespace (bwrap's init is 1).
    expect(status).toMatch(/^NSpid:\s+\d+\s+2$/m);
    for (const ns of ["mnt", "pid", "ipc", "uts", "net"])
      expect(readlinkSync(`/proc/${pid}/ns/${ns}`)).not.toBe(readlinkSync(`/proc/self/ns/${ns}`));
    // hostname = pod name; the pod IP is on the pod's eth0.
    const uts = execFileSync("nsenter", [`--uts=/proc/${pid}/ns/uts`, "hostname"], { encoding: "utf8" });
    expect(uts.trim()).toBe(longName.slice(0, 63));
    expect(ip).toMatch(new RegExp(`^10\\.253\\.${process.pid % 250}\\.\\d+$`));
    const addr = execFileSync(
      "nsenter",
      [`--net=/proc/${pid}/ns/net`, "ip", "-4", "-o", "addr", "show", "eth0"],
      {
        encoding: "utf8",
      },
    );
    expect(addr).toContain(`inet ${ip}/24`);
    // Only what the runner needs is in its root.
    const root = execFileSync("ls", ["-A", `/proc/${pid}/root/`], { encoding: "utf8" })
      .trim()
      .split("\n");
    expect(root.sort()).toEqual(["dev", "edgeplane", "lib", "lib64", "proc", "tmp", "usr"]);
    expect(existsSync(`/proc/${pid}/root${dataDir}`)).toBe(false);
    await r.stopContainer(id, 5);
    expect(await r.containerStatus(id)).toMatchObject({ state: "exited", exitCode: 143 });
  });

  it("holds when the engine is escaped: the symlink chain, .., absolute paths and hard links see no host file", async () => {
    const canary = join(dataDir, "canary");
    const token = join(dataDir, "token");
    writeFileSync(canary, "CANARY-outside-the-volume");
    writeFileSync(token, "agent-token-secret");
    const r = runtime({ engineGuard: false });
    const podDir = join(dataDir, "pods", "esc");
    const volume = join(podDir, "volumes", "data");
    mkdirSync(volume, { recursive: true });
    writeFileSync(join(volume, "inside.txt"), "inside-ok");
    const targets = [canary, token, "/etc/hostname"];
    const { id, logPath } = await start(r, "esc", images.escape, {
      mounts: [{ hostPath: volume, containerPath: "/data", readOnly: false }],
      args: [
        "R:inside.txt",
        ...targets.flatMap((t) => [`R:root${t}`, `R:../../../../../../..${t}`, `R:${t}`, `L:root${t}`]),
        `W:root${dataDir}/written`,
        "W:root/edgeplane/container/config.json",
        "W:written-inside",
      ],
    });
    expect(await exited(r, id)).toMatchObject({ exitCode: 0 });
    const log = readFileSync(logPath, "utf8");
    // The engine was really escaped (the chain was created) and the module really ran...
    expect(log).toMatch(/symlink root -> OK/);
    expect(log).toMatch(/R:inside.txt -> OK inside-ok/);
    expect(log).toMatch(/W:written-inside -> OK pwned/);
    // ...yet nothing of the host was readable or writable.
    expect(log).not.toMatch(/CANARY|agent-token-secret/);
    for (const t of targets) expect(log).toMatch(new RegExp(`R:root${t} -> ERR \\d+`));
    expect(log).toMatch(/W:root.*\/written -> ERR \d+/);
    expect(log).toMatch(/W:root\/edgeplane\/container\/config.json -> ERR \d+/);
    expect(existsSync(join(dataDir, "written"))).toBe(false);
    expect(readFileSync(join(volume, "written-inside"), "utf8")).toBe("pwned\n");
  });

  it("mounts configMap/secret/downwardAPI volumes read-only even when the mount asks for read-write", async () => {
    const r = runtime({ engineGuard: false });
    const podDir = join(dataDir, "pods", "ro");
    const config = join(podDir, "volumes", "config");
    const scratch = join(podDir, "volumes", "scratch");
    mkdirSync(config, { recursive: true });
    mkdirSync(scratch, { recursive: true });
    writeFileSync(join(config, "key"), "value");
    const run = async (volume: string) => {
      const { id, logPath } = await start(
        r,
        `ro-${volume}`,
        images.escape,
        {
          mounts: [{ hostPath: join(podDir, "volumes", volume), containerPath: "/data", readOnly: false }],
          args: ["W:new-file"],
          logPath: join(podDir, "logs", volume, "0.log"),
        },
        { podDir, readOnlyVolumes: ["config"] },
      );
      await exited(r, id);
      return readFileSync(logPath, "utf8");
    };
    expect(await run("config")).toMatch(/W:new-file -> ERR 69/); // EROFS
    expect(existsSync(join(config, "new-file"))).toBe(false);
    // An emptyDir of the pod's own is writable by the sandbox uid.
    expect(await run("scratch")).toMatch(/W:new-file -> OK pwned/);
  });

  it("a hostNetwork pod keeps the node's network namespace and IP", async () => {
    const r = runtime();
    const { id, ip } = await start(r, "hostnet", images.ticker, {}, { hostNetwork: true });
    expect(ip).toBe("127.0.0.1");
    const pid = await until(async () => runnerPid(id), 15_000);
    expect(readlinkSync(`/proc/${pid}/ns/net`)).toBe(readlinkSync("/proc/self/ns/net"));
    expect(readlinkSync(`/proc/${pid}/ns/mnt`)).not.toBe(readlinkSync("/proc/self/ns/mnt"));
    await r.stopContainer(id, 5);
  });

  it("with the engine guard on, the symlink chain is refused inside node:wasi already", async () => {
    const r = runtime();
    const volume = join(dataDir, "pods", "guard", "volumes", "data");
    mkdirSync(volume, { recursive: true });
    const { id, logPath } = await start(r, "guard", images.escape, {
      mounts: [{ hostPath: volume, containerPath: "/data", readOnly: false }],
      args: ["R:d/d/../../x", "R:/etc/hostname", "R:../x"],
    });
    expect(await exited(r, id)).toMatchObject({ exitCode: 0 });
    const log = readFileSync(logPath, "utf8");
    expect(log).toMatch(/symlink d -> OK/);
    expect(log).toMatch(/symlink root -> ERR 63/);
    expect(log).toMatch(/R:\/etc\/hostname -> ERR 76/);
    expect(log).toMatch(/R:\.\.\/x -> ERR 76/);
  });

  it("the seccomp filter refuses unshare (which uid 65534 may otherwise call here) and lets ordinary work run", () => {
    const filter = join(dataDir, "seccomp.bpf");
    writeFileSync(filter, seccompFilter());
    const files = findRuntimeFiles(join(here, "runner.cjs"));
    const configDir = join(dataDir, "probe");
    mkdirSync(configDir, { recursive: true });
    const log = join(configDir, "log");
    writeFileSync(log, "");
    writeFileSync(`${log}.1`, "");
    const args = bwrapArgs(files, {
      hostname: "probe",
      configDir,
      modulePath: join(wasmDir, "hello.wasm"),
      logPath: log,
      volumes: [],
    });
    const unshare = execFileSync("sh", ["-c", "command -v unshare"], { encoding: "utf8" }).trim();
    const run = (command: string[], extraBinds: string[] = []) =>
      spawnSync(
        "sh",
        [
          "-c",
          `bwrap "$@" ${SECCOMP_FD}<${filter}`,
          "sh",
          ...args.slice(0, -2),
          ...extraBinds,
          ...args.slice(-2),
          ...dropPrivileges(),
          ...command,
        ],
        {
          encoding: "utf8",
        },
      );
    // uid 65534 may create a user namespace on this host (unprivileged userns is on); the filter says no.
    const denied = run(
      ["/usr/bin/unshare", "--user", "/usr/bin/node", "-e", "0"],
      ["--ro-bind", unshare, "/usr/bin/unshare"],
    );
    expect(denied.stderr).toMatch(/unshare failed: Operation not permitted/);
    expect(denied.status).not.toBe(0);
    // Ordinary work (threads, files) still runs, and the exit status comes through bwrap.
    const ok = run([
      "/usr/bin/node",
      "-e",
      "new (require('worker_threads').Worker)('0', { eval: true }).on('exit', () => process.exit(7))",
    ]);
    expect(ok.status).toBe(7);
  });
});
