/**
 * The WASM runtime (RuntimeClass handler "wasm"). Each container runs in its
 * own detached process: a few-line sh shim (joins the container's cgroups,
 * enters the pod's network namespace, drops to an unprivileged uid and runs
 * `node runner.cjs` inside a bubblewrap sandbox (sandbox.ts), then writes the
 * exit code to <dir>/exit), so a crash, an endless loop, a memory hog or an
 * engine escape is confined to that process, and pods outlive an agent
 * restart. Each pod (sandbox) gets its own network namespace with an IP from
 * the node's pod CIDR through CNI (bridge + host-local), unless hostNetwork.
 * All state lives under <dataDir>/wasm/{sandboxes,containers}/<id>/ so a
 * restarted agent can list and adopt what is running.
 */
import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { chown, mkdir, open, rename, writeFile } from "node:fs/promises";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { type Clock, realClock } from "../../clock.ts";
import type { NodeFetch } from "../../http.ts";
import { cniAdd, cniDel, DEFAULT_BRIDGE, DEFAULT_POD_CIDR } from "../../network/cni.ts";
import {
  type ContainerConfig,
  type ContainerStatus,
  PullError,
  type PullOptions,
  type PullResult,
  type Runtime,
  type SandboxConfig,
  type SandboxStatus,
} from "../types.ts";
import { Cgroups } from "./cgroup.ts";
import { launcher } from "./launcher.ts";
import { createNetns, deleteNetns, NETNS_DIR } from "./netns.ts";
import { NetnsPool, type PoolEntry } from "./netpool.ts";
import { ImageStore } from "./oci.ts";
import {
  bwrapArgs,
  dropPrivileges,
  findRuntimeFiles,
  GUEST,
  type RuntimeFiles,
  SANDBOX_UID,
  type SandboxSpec,
  SECCOMP_FD,
  sandboxAvailable,
} from "./sandbox.ts";
import { seccompFilter } from "./seccomp.ts";

// The bundled agent (bin/node-agent.mjs) no longer sits next to runner.cjs: it says where it is.
const RUNNER =
  process.env.EDGEPLANE_WASM_RUNNER ?? join(dirname(fileURLToPath(import.meta.url)), "runner.cjs");
const COMPONENT_RUNNER = join(dirname(RUNNER), "component-runner.mjs");

// The runner writes its start and instantiation times here (epoch ms) for bench/pod-startup.
const TIMING_FD = 8;

// Joins the cgroups listed before "--", runs the sandboxed command after it with the seccomp program
// on its fd, records the exit status.
const SHIM = `d="$1"; shift
while [ "$1" != "--" ]; do echo $$ > "$1" || exit 125; shift; done; shift
"$@" ${SECCOMP_FD}<"$EDGEPLANE_SECCOMP" ${TIMING_FD}>"$d/timing.json"
echo $? > "$d/exit.tmp" && mv "$d/exit.tmp" "$d/exit"`;

// Processes + threads per container: node's runner uses about 11, a component runner (preview2-shim's I/O worker) a few more.
const PIDS_MAX = 128;

const NODE_FLAGS = ["--no-warnings", "--max-old-space-size=64", "--max-semi-space-size=1"];
// Components: WebAssembly stays on V8's baseline compiler (Liftoff). A jco component built with
// componentize-js carries a whole JS engine (14 MB of core wasm for the http example); TurboFan's
// tier-up of its start-up code cost ~30 MiB of anonymous memory and ~300 ms of CPU per pod
// (docs/node-agent.md, Benchmark). The price is slower hot loops in long CPU-bound components.
const COMPONENT_FLAGS = ["--liftoff-only"];

/** What the runner process reads from <containerDir>/config.json. */
export interface ContainerSpec {
  name: string;
  kind: "module" | "component";
  modulePath: string;
  moduleDigest: string;
  args: string[];
  env: Record<string, string>;
  /** Guest path → host directory: only the pod's volumes. */
  preopens: Record<string, string>;
  logPath: string;
  logMaxBytes: number;
  /** False turns off runner.cjs's preview1 path guard (guardPaths): tests use it to show the OS wall alone. */
  engineGuard?: boolean;
  /** Rotate by copying to <log>.1 and truncating: inside the sandbox the log is a bound file, not a directory. */
  rotateInPlace?: boolean;
  /** An HTTP component serves here. */
  httpPort?: number;
  /** Where transpiled components are cached by digest. */
  cacheDir: string;
  memoryLimitBytes?: number;
}

interface ContainerRecord {
  id: string;
  sandboxId: string;
  podUid: string;
  name: string;
  image: string;
  imageId: string;
  createdAt: string;
  startedAt?: string;
  shimPid?: number;
  cgroup?: boolean;
  /** Epoch ms when the shim was spawned (bench/pod-startup's breakdown). */
  spawnedAtMs?: number;
}

interface SandboxRecord {
  id: string;
  podUid: string;
  namespace: string;
  name: string;
  state: "ready" | "notready";
  /** The pod's IP in its own network namespace (absent for hostNetwork pods). */
  ip?: string;
  /** /run/netns/<name> while the pod's network is attached. */
  netns?: string;
  /** The network the IP came from: CNI DEL must see the same config, even from another agent instance. */
  network?: PodNetwork;
  /** CNI_CONTAINERID of the ADD when not the sandbox id (a warm pool's network, netpool.ts). */
  cniId?: string;
  /** Epoch ms at which runSandbox began and had the sandbox (netns + IP) ready (bench/pod-startup). */
  timing?: { begin: number; netns?: number; ready: number };
}

/** The node's pod network (the same CNI bridge and host-local store the container runtime uses). */
export interface PodNetwork {
  podCidr: string;
  bridge: string;
  /** host-local's lease directory; shared with the CRI runtime so both draw from one pool. */
  ipamDataDir: string;
}

/** Options for the WASM runtime. */
export interface WasmRuntimeOptions {
  dataDir: string;
  /** The node's name: cgroups live under edgeplane/<nodeName>. */
  nodeName: string;
  /** The node's IP: what hostNetwork pods get. */
  hostIP: string;
  /** Pod network; defaults to the default bridge and pod CIDR with leases under <dataDir>/cri/cni-ipam. */
  network?: Partial<PodNetwork>;
  /** The image puller's HTTP (the agent's createNodeFetch; default: global fetch). */
  fetch?: NodeFetch;
  /** Registry mirrors for the image puller (the agent's --registry-mirror). */
  registryMirrors?: Record<string, string[]>;
  clock?: Clock;
  /** cgroup helper; false disables cgroups. */
  cgroups?: Cgroups | false;
  /** Added to limits.memory for the cgroup: the node.js runner's own footprint. */
  runnerOverheadBytes?: number;
  logMaxBytes?: number;
  /** Tests only: false runs preview1 modules without the engine's path guard, to test the OS sandbox alone. */
  engineGuard?: boolean;
  /** Warm pool of prepared pod networks (netpool.ts), started by startPool(); false = none. */
  netnsPool?: { max?: number; idle?: number } | false;
  log?: (message: string) => void;
}

/** Runs WASI preview1 modules and preview2 components, one process per container. */
export class WasmRuntime implements Runtime {
  readonly handler = "wasm";
  readonly images: ImageStore;
  private readonly sandboxDir: string;
  private readonly containerDir: string;
  private readonly cgroups?: Cgroups;
  private readonly clock: Clock;
  private readonly watched = new Set<string>();
  private readonly network: PodNetwork;
  private readonly seccompPath: string;
  private runtimeFiles?: RuntimeFiles;
  private readonly pool?: NetnsPool<PodNetwork>;
  /** Checked once, on the first pod: are bwrap, setpriv and nsenter installed? */
  private sandboxReady?: boolean;

  constructor(private readonly options: WasmRuntimeOptions) {
    const root = join(options.dataDir, "wasm");
    this.images = new ImageStore(join(options.dataDir, "images"), options.fetch, options.registryMirrors);
    this.sandboxDir = join(root, "sandboxes");
    this.containerDir = join(root, "containers");
    mkdirSync(this.sandboxDir, { recursive: true });
    mkdirSync(this.containerDir, { recursive: true });
    this.clock = options.clock ?? realClock;
    this.network = {
      podCidr: options.network?.podCidr ?? DEFAULT_POD_CIDR,
      bridge: options.network?.bridge ?? DEFAULT_BRIDGE,
      ipamDataDir: options.network?.ipamDataDir ?? join(options.dataDir, "cri", "cni-ipam"),
    };
    if (options.netnsPool !== false)
      this.pool = new NetnsPool<PodNetwork>({
        dir: join(root, "netns-pool"),
        netnsDir: NETNS_DIR,
        ops: poolOps,
        network: () => ({ ...this.network }),
        inUse: () => this.netnsInUse(),
        max: options.netnsPool?.max,
        idle: options.netnsPool?.idle,
        log: options.log,
      });
    this.seccompPath = join(root, "seccomp.bpf");
    writeFileSync(this.seccompPath, seccompFilter());
    if (options.cgroups !== false) {
      const cgroups = options.cgroups ?? new Cgroups({ parent: `edgeplane/${options.nodeName}` });
      if (cgroups.available()) this.cgroups = cgroups;
    }
  }

  /** New pods draw IPs from this CIDR (the Node's spec.podCIDR once allocated); running pods keep theirs. */
  setPodCidr(cidr: string): void {
    this.network.podCidr = cidr;
  }

  /**
   * Tear down pool entries an earlier agent left, then keep prepared networks for new pods. Called once the
   * node's pod CIDR is known, so the first entries are not drawn from a default about to be replaced.
   */
  async startPool(): Promise<void> {
    await this.pool?.start();
  }

  /** Resolves once the warm pool is not preparing a network (tests wait on this, not on time). */
  async poolSettled(): Promise<void> {
    await this.pool?.settled();
  }

  private async netnsInUse(): Promise<Set<string>> {
    const out = new Set<string>();
    for (const id of readdirSync(this.sandboxDir)) {
      const netns = readJson<SandboxRecord>(join(this.sandboxDir, id, "sandbox.json"))?.netns;
      if (netns) out.add(netns);
    }
    return out;
  }

  private get cacheDir(): string {
    return join(this.options.dataDir, "cache", "jco");
  }

  /** How limits.memory is enforced: a kernel cgroup, or (no cgroups here) the agent polling RSS. */
  get memoryEnforcement(): "cgroup" | "watchdog" {
    return this.cgroups ? "cgroup" : "watchdog";
  }

  async pullImage(image: string, options: PullOptions): Promise<PullResult> {
    const pulled = await this.images.pull(image, options);
    if (pulled.kind === "component") {
      // Transpile at pull time (cached by digest), in a short-lived process: start-up and the pod's memory
      // limit never pay for it, and jco never loads into the agent itself.
      const job = {
        cacheDir: this.cacheDir,
        moduleDigest: pulled.moduleDigest,
        modulePath: pulled.modulePath,
      };
      await new Promise<void>((resolve, reject) => {
        const child = spawn(
          process.execPath,
          ["--no-warnings", COMPONENT_RUNNER, "--transpile", JSON.stringify(job)],
          {
            stdio: ["ignore", "ignore", "pipe"],
          },
        );
        let stderr = "";
        child.stderr?.on("data", (chunk) => {
          stderr += String(chunk);
        });
        child.on("error", reject);
        child.on("exit", (code) =>
          code === 0
            ? resolve()
            : reject(
                new PullError("ErrImagePull", `transpiling component ${image}: ${stderr.trim().slice(-500)}`),
              ),
        );
      });
    }
    return { digest: pulled.manifestDigest };
  }

  async runSandbox(config: SandboxConfig): Promise<SandboxStatus> {
    this.sandboxReady ??= sandboxAvailable();
    if (!this.sandboxReady)
      throw new Error("WASM pods need bwrap (Debian package bubblewrap), setpriv and nsenter (util-linux)");
    const id = `wasm-${config.uid}`;
    const path = join(this.sandboxDir, id, "sandbox.json");
    const existing = readJson<SandboxRecord>(path);
    if (existing?.state === "ready") return { id, state: "ready", ip: existing.ip ?? this.options.hostIP };
    const begin = Date.now();
    const record: SandboxRecord = {
      id,
      podUid: config.uid,
      namespace: config.namespace,
      name: config.name,
      state: "ready",
    };
    await mkdir(join(this.sandboxDir, id), { recursive: true });
    const pooled = config.hostNetwork ? undefined : this.pool?.take();
    if (pooled) return this.runPooledSandbox(record, path, pooled);
    // The pool was empty: it refills only once this pod's own network is ready (netpool.ts hold()).
    const release = config.hostNetwork ? undefined : this.pool?.hold();
    try {
      return await this.runOwnSandbox(config, record, path, begin);
    } finally {
      release?.();
    }
  }

  /** runSandbox with a network namespace and CNI ADD of the pod's own (or the host's for hostNetwork). */
  private async runOwnSandbox(
    config: SandboxConfig,
    record: SandboxRecord,
    path: string,
    begin: number,
  ): Promise<SandboxStatus> {
    const id = record.id;
    let netnsAt: number | undefined;
    if (!config.hostNetwork) {
      // A named netns (a bind mount under /run/netns) outlives every process in it and the agent:
      // containers join it one by one, and a restarted agent finds it again.
      const { path: netns, fresh } = await createNetns(`edgeplane-${config.uid}`);
      netnsAt = Date.now();
      const network = { ...this.network };
      // A namespace left by an agent that died between ADD and writing sandbox.json: start it clean.
      if (!fresh) await cniDel(network, { containerId: id, netns }).catch(() => {});
      try {
        record.ip = await cniAdd(network, { containerId: id, netns });
      } catch (error) {
        await cniDel(network, { containerId: id, netns }).catch(() => {});
        await deleteNetns(netns);
        throw error;
      }
      record.netns = netns;
      record.network = network;
    }
    record.timing = { begin, netns: netnsAt, ready: Date.now() };
    await writeJsonAsync(path, record);
    return { id, state: "ready", ip: record.ip ?? this.options.hostIP };
  }

  /** runSandbox with a warm pool's prepared network: the record names it, then the pool forgets it. */
  private async runPooledSandbox(
    record: SandboxRecord,
    path: string,
    entry: PoolEntry<PodNetwork>,
  ): Promise<SandboxStatus> {
    const begin = Date.now();
    Object.assign(record, { ip: entry.ip, netns: entry.netns, network: entry.network, cniId: entry.cniId });
    record.timing = { begin, netns: begin, ready: Date.now() };
    try {
      await writeJsonAsync(path, record);
    } catch (error) {
      await this.pool?.giveBack(entry);
      throw error;
    }
    await this.pool?.forget(entry);
    return { id: record.id, state: "ready", ip: record.ip ?? this.options.hostIP };
  }

  async sandboxStatus(sandboxId: string): Promise<SandboxStatus | undefined> {
    const record = readJson<SandboxRecord>(join(this.sandboxDir, sandboxId, "sandbox.json"));
    return record && { id: record.id, state: record.state, ip: record.ip ?? this.options.hostIP };
  }

  async stopSandbox(sandboxId: string): Promise<void> {
    for (const container of await this.listContainers(sandboxId)) {
      if (container.state === "running") await this.stopContainer(container.id, 0);
    }
    const path = join(this.sandboxDir, sandboxId, "sandbox.json");
    const record = readJson<SandboxRecord>(path);
    if (!record) return;
    if (record.netns && record.network) {
      // CNI DEL releases the IP lease and the veth; then the namespace itself goes.
      await cniDel(record.network, { containerId: record.cniId ?? record.id, netns: record.netns });
      await deleteNetns(record.netns);
    }
    writeJson(path, { ...record, state: "notready", netns: undefined });
  }

  async removeSandbox(sandboxId: string): Promise<void> {
    await this.stopSandbox(sandboxId);
    for (const container of await this.listContainers(sandboxId)) await this.removeContainer(container.id);
    rmSync(join(this.sandboxDir, sandboxId), { recursive: true, force: true });
  }

  async createContainer(sandboxId: string, config: ContainerConfig, sandbox: SandboxConfig): Promise<string> {
    const pulled = this.images.lookup(config.image);
    if (!pulled) throw new Error(`image ${config.image} is not pulled`);
    const id = randomBytes(16).toString("hex");
    const dir = join(this.containerDir, id);
    // fs/promises on the start path: a synchronous mkdir or write on a busy disk stalls every other pod.
    await mkdir(dir, { recursive: true });
    await mkdir(dirname(config.logPath), { recursive: true });
    const imageEnv = Object.fromEntries(
      (pulled.env ?? []).map((e) => [e.slice(0, e.indexOf("=")), e.slice(e.indexOf("=") + 1)]),
    );
    const argv0 = config.command.length ? config.command : (pulled.entrypoint ?? [config.name]);
    const rest = config.command.length || config.args.length ? config.args : (pulled.cmd ?? []);
    const volumesDir = join(sandbox.podDir, "volumes");
    const readOnlyVolume = (hostPath: string) =>
      (sandbox.readOnlyVolumes ?? []).some(
        (name) => !relative(join(volumesDir, name), hostPath).startsWith(".."),
      );
    const volumes = config.mounts.map((m, i) => ({
      host: m.hostPath,
      guest: GUEST.volume(i),
      readOnly: m.readOnly || readOnlyVolume(m.hostPath),
    }));
    for (const v of volumes) {
      // A writable volume of the pod's own (emptyDir) belongs to the sandbox uid, as kubelet makes emptyDir writable.
      if (!v.readOnly && !relative(volumesDir, v.host).startsWith("..") && existsSync(v.host))
        await chown(v.host, SANDBOX_UID, SANDBOX_UID);
    }
    const spec: ContainerSpec = {
      name: config.name,
      kind: pulled.kind,
      modulePath: GUEST.module,
      moduleDigest: pulled.moduleDigest,
      args: [...argv0.slice(1), ...rest],
      env: { ...imageEnv, ...config.env },
      preopens: Object.fromEntries(config.mounts.map((m, i) => [m.containerPath, GUEST.volume(i)])),
      logPath: GUEST.log,
      logMaxBytes: this.options.logMaxBytes ?? 10 * 1024 * 1024,
      rotateInPlace: true,
      engineGuard: this.options.engineGuard,
      httpPort: config.ports[0]?.containerPort,
      cacheDir: GUEST.cache,
      memoryLimitBytes: config.limits.memoryBytes,
    };
    // The runner sees only guest paths: its config lives in a directory of its own, bound read-only.
    await mkdir(join(dir, "guest"));
    await writeJsonAsync(join(dir, "guest", "config.json"), spec);
    for (const log of [config.logPath, `${config.logPath}.1`]) {
      await (await open(log, "a")).close();
      await chown(log, SANDBOX_UID, SANDBOX_UID);
    }
    const cacheName = pulled.moduleDigest.replace(":", "-");
    const box: SandboxSpec = {
      // As kubelet: spec.hostname or the pod name, cut to 63 characters (sethostname allows 64).
      hostname: (sandbox.hostname || sandbox.name).slice(0, 63).replace(/[-.]+$/, ""),
      configDir: join(dir, "guest"),
      modulePath: pulled.modulePath,
      componentCacheDir: pulled.kind === "component" ? join(this.cacheDir, cacheName) : undefined,
      componentCacheName: pulled.kind === "component" ? cacheName : undefined,
      logPath: config.logPath,
      volumes,
    };
    await writeJsonAsync(join(dir, "box.json"), box);
    const record: ContainerRecord = {
      id,
      sandboxId,
      podUid: sandbox.uid,
      name: config.name,
      image: config.image,
      imageId: pulled.manifestDigest,
      createdAt: this.clock.now().toISOString(),
    };
    await writeJsonAsync(join(dir, "state.json"), record);
    await writeFile(join(dir, "limits.json"), JSON.stringify(config.limits));
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    const dir = join(this.containerDir, containerId);
    const record = readJson<ContainerRecord>(join(dir, "state.json"));
    if (!record) throw new Error(`container ${containerId} not found`);
    if (record.shimPid) return;
    // A shim started by an agent that died before recording it would run beside the new one.
    for (const pid of this.cgroups?.processes(containerId) ?? []) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    const limits = readJson<{ memoryBytes?: number; cpuMillis?: number }>(join(dir, "limits.json")) ?? {};
    const overhead = this.options.runnerOverheadBytes ?? 96 * 1024 * 1024;
    const groups = await this.cgroups?.create(containerId, {
      memoryBytes: limits.memoryBytes ? limits.memoryBytes + overhead : undefined,
      cpuMillis: limits.cpuMillis,
      pids: PIDS_MAX,
    });
    const box = readJson<SandboxSpec>(join(dir, "box.json"));
    if (!box) throw new Error(`container ${containerId} has no sandbox spec`);
    const netns = readJson<SandboxRecord>(join(this.sandboxDir, record.sandboxId, "sandbox.json"))?.netns;
    this.runtimeFiles ??= findRuntimeFiles(RUNNER);
    const command = [
      ...(netns ? ["nsenter", `--net=${netns}`] : []),
      "bwrap",
      ...bwrapArgs(this.runtimeFiles, box),
      ...dropPrivileges(),
      "/usr/bin/node",
      ...NODE_FLAGS,
      ...(box.componentCacheDir ? COMPONENT_FLAGS : []),
      `${GUEST.runnerDir}/runner.cjs`,
      GUEST.container,
    ];
    const spawnedAtMs = Date.now();
    // Started by the launcher shell, detached (setsid): a spawn from the agent stalls its event loop.
    const shimPid = await launcher.start(
      ["/bin/sh", "-c", SHIM, "shim", dir, ...(groups?.procs ?? []), "--", ...command],
      {
        env: { EDGEPLANE_SECCOMP: this.seccompPath },
        outputPath: join(dir, "runner.err"),
      },
    );
    if (!(shimPid > 0)) throw new Error(`container ${containerId}: the shim did not start`);
    record.shimPid = shimPid;
    record.spawnedAtMs = spawnedAtMs;
    record.cgroup = groups !== undefined;
    record.startedAt = this.clock.now().toISOString();
    await writeJsonAsync(join(dir, "state.json"), record);
    if (!record.cgroup && limits.memoryBytes) this.watchMemory(containerId, limits.memoryBytes + overhead);
  }

  /**
   * Without cgroups: poll the container's processes' RSS every 250 ms and kill the group past the
   * limit, marking it OOMKilled. Coarser than the kernel (a fast grower overshoots by one interval).
   */
  private watchMemory(containerId: string, limitBytes: number): void {
    if (this.watched.has(containerId)) return;
    this.watched.add(containerId);
    const dir = join(this.containerDir, containerId);
    const timer = setInterval(() => {
      const pid = readJson<ContainerRecord>(join(dir, "state.json"))?.shimPid ?? 0;
      if (existsSync(join(dir, "exit")) || !existsSync(dir)) {
        clearInterval(timer);
        this.watched.delete(containerId);
        return;
      }
      if (!(pid > 0) || treeRssBytes(pid) <= limitBytes) return;
      writeFileSync(join(dir, "oom"), "");
      this.signalRunner(dir, "SIGKILL");
    }, 250);
    timer.unref();
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const dir = join(this.containerDir, containerId);
    if ((await this.containerStatus(containerId))?.state !== "running") return;
    const deadline = Date.now() + Math.max(0, timeoutSeconds) * 1000;
    if (timeoutSeconds > 0) {
      this.signalRunner(dir, "SIGTERM");
      while (Date.now() < deadline && (await this.containerStatus(containerId))?.state === "running")
        await this.clock.sleep(25);
    }
    // The shim notices the runner's death and writes the exit code right after.
    const killDeadline = Date.now() + 5000;
    while ((await this.containerStatus(containerId))?.state === "running" && Date.now() < killDeadline) {
      this.signalRunner(dir, "SIGKILL");
      await this.clock.sleep(10);
    }
  }

  async removeContainer(containerId: string): Promise<void> {
    const dir = join(this.containerDir, containerId);
    if (!existsSync(dir)) return;
    await this.stopContainer(containerId, 0);
    rmSync(dir, { recursive: true, force: true });
    this.cgroups?.remove(containerId);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus | undefined> {
    const dir = join(this.containerDir, containerId);
    const record = readJson<ContainerRecord>(join(dir, "state.json"));
    if (!record) return undefined;
    const base: ContainerStatus = {
      id: record.id,
      name: record.name,
      state: "created",
      imageId: record.imageId,
      startedAt: record.startedAt ? new Date(record.startedAt) : undefined,
    };
    if (!record.shimPid) return base;
    const exitPath = join(dir, "exit");
    if (existsSync(exitPath)) {
      const exitCode = Number(readFileSync(exitPath, "utf8").trim());
      const finishedAt = statSync(exitPath).mtime;
      const oom =
        exitCode === 137 &&
        ((record.cgroup === true && this.cgroups?.oomKilled(containerId) === true) ||
          existsSync(join(dir, "oom")));
      const reason = oom ? "OOMKilled" : exitCode === 0 ? "Completed" : "Error";
      return {
        ...base,
        state: "exited",
        exitCode,
        finishedAt,
        reason,
        message: this.failureMessage(dir, exitCode),
      };
    }
    if (alive(record.shimPid, dir)) {
      if (!record.cgroup && !this.watched.has(containerId)) {
        // Adopted after an agent restart: re-arm the memory watchdog.
        const limits = readJson<{ memoryBytes?: number }>(join(dir, "limits.json"));
        if (limits?.memoryBytes)
          this.watchMemory(
            containerId,
            limits.memoryBytes + (this.options.runnerOverheadBytes ?? 96 * 1024 * 1024),
          );
      }
      return { ...base, state: "running" };
    }
    return {
      ...base,
      state: "exited",
      exitCode: 255,
      reason: "Error",
      message: "the container's shim vanished",
    };
  }

  async listSandboxes(): Promise<(SandboxStatus & { podUid: string })[]> {
    const out: (SandboxStatus & { podUid: string })[] = [];
    for (const id of readdirSync(this.sandboxDir)) {
      const record = readJson<SandboxRecord>(join(this.sandboxDir, id, "sandbox.json"));
      if (record)
        out.push({ id, state: record.state, ip: record.ip ?? this.options.hostIP, podUid: record.podUid });
    }
    return out;
  }

  async listContainers(
    sandboxId?: string,
  ): Promise<(ContainerStatus & { sandboxId: string; podUid: string })[]> {
    const out: (ContainerStatus & { sandboxId: string; podUid: string })[] = [];
    for (const id of readdirSync(this.containerDir)) {
      const record = readJson<ContainerRecord>(join(this.containerDir, id, "state.json"));
      if (!record || (sandboxId && record.sandboxId !== sandboxId)) continue;
      const status = await this.containerStatus(id);
      if (status) out.push({ ...status, sandboxId: record.sandboxId, podUid: record.podUid });
    }
    return out;
  }

  /** Pods keep running when the agent stops; unused warm-pool networks are torn down. */
  async close(): Promise<void> {
    // The shims were never the agent's children (launcher.ts): nothing else to drop.
    await this.pool?.close();
  }

  private signalRunner(dir: string, signal: NodeJS.Signals): void {
    const record = readJson<ContainerRecord>(join(dir, "state.json"));
    if (signal === "SIGKILL" && record?.shimPid) {
      // The whole process group (shim, bwrap, the runner): nothing may outlive a kill.
      try {
        process.kill(-record.shimPid, "SIGKILL");
      } catch {
        // already gone
      }
      if (!existsSync(join(dir, "exit"))) writeFileSync(join(dir, "exit"), "137\n");
      return;
    }
    // The runner is a few processes below the shim (nsenter/setpriv exec into bwrap, whose pid-1 init
    // forks the runner); it is pid 2 in its own PID namespace, so signals reach it with default actions.
    const pid = record?.shimPid && alive(record.shimPid, dir) ? runnerPid(record.shimPid) : undefined;
    if (pid) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  }

  private failureMessage(dir: string, exitCode: number): string | undefined {
    if (exitCode === 0) return undefined;
    const err = readText(join(dir, "runner.err")).trim();
    return err ? err.slice(-1024) : undefined;
  }
}

/** Prepares and tears down a warm pool's networks: a named netns with lo up, CNI ADD/DEL, niced. */
const poolOps = {
  async prepare(entry: PoolEntry<PodNetwork>): Promise<string> {
    const { path } = await createNetns(entry.netns.slice(NETNS_DIR.length + 1), { lowPriority: true });
    return cniAdd(entry.network, { containerId: entry.cniId, netns: path, lowPriority: true });
  },
  async release(entry: PoolEntry<PodNetwork>): Promise<void> {
    try {
      await cniDel(entry.network, { containerId: entry.cniId, netns: entry.netns });
    } finally {
      await deleteNetns(entry.netns);
    }
  },
};

/** The first process under `pid` (breadth first) that is the node runner (runner.cjs, or an older agent's runner.mjs). */
function runnerPid(pid: number): number | undefined {
  const pids = [pid];
  for (let i = 0; i < pids.length && i < 16; i++) {
    const argv = readText(`/proc/${pids[i]}/cmdline`).split("\0");
    if (i > 0 && argv[0] === "/usr/bin/node" && argv.some((a) => a.startsWith(`${GUEST.runnerDir}/runner.`)))
      return pids[i];
    for (const child of readText(`/proc/${pids[i]}/task/${pids[i]}/children`).trim().split(/\s+/))
      if (Number(child) > 0) pids.push(Number(child));
  }
  return undefined;
}

/** RSS of a process and its children (shim, bwrap, its init, the runner), in bytes. */
function treeRssBytes(pid: number): number {
  let total = 0;
  const pids = [pid];
  for (let i = 0; i < pids.length && i < 16; i++) {
    const status = readText(`/proc/${pids[i]}/status`);
    total += Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) * 1024;
    for (const child of readText(`/proc/${pids[i]}/task/${pids[i]}/children`).trim().split(/\s+/))
      if (Number(child) > 0) pids.push(Number(child));
  }
  return total;
}

/** Is `pid` a live process started for this container dir (guards against pid reuse)? */
function alive(pid: number, dir: string): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    if (cmdline.includes("\0<defunct>")) return false;
    return cmdline.includes(dir);
  } catch {
    return true;
  }
}

function readJson<T>(path: string): T | undefined {
  try {
    return JSON.parse(readFileSync(path, "utf8")) as T;
  } catch {
    return undefined;
  }
}

function readText(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

/** writeJson through fs/promises, for the pod start path. */
async function writeJsonAsync(path: string, value: unknown): Promise<void> {
  await writeFile(`${path}.tmp`, JSON.stringify(value));
  await rename(`${path}.tmp`, path);
}

function writeJson(path: string, value: unknown): void {
  // write-then-rename: a crash never leaves a torn state file for the next agent to adopt
  writeFileSync(`${path}.tmp`, JSON.stringify(value));
  renameSync(`${path}.tmp`, path);
}
