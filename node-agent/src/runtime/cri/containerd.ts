/**
 * A private containerd for the node agent (`--containerd=managed`): renders
 * scripts/containerd/config.toml.tmpl into the agent's data dir, starts
 * containerd as a child process, waits until its CRI answers, and imports the
 * sandbox (pause) image from a local OCI archive so no pod ever needs the
 * internet. With `--containerd=<socket>` none of this runs.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from "node:fs";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { CriClient } from "./client.ts";

const execFileP = promisify(execFile);

/** The template shared with scripts/containerd/setup.sh. */
export const CONFIG_TEMPLATE = fileURLToPath(
  new URL("../../../../scripts/containerd/config.toml.tmpl", import.meta.url),
);

/** Name the locally built pause image is imported under. */
export const DEFAULT_SANDBOX_IMAGE = "edgeplane.local/pause:1";

/** A registry containerd should reach with settings other than the defaults. */
export interface RegistryHost {
  /** host[:port] as it appears in image references. */
  host: string;
  /** Base URL to talk to (default https://host, or http:// when insecure). */
  server?: string;
  /**
   * Plain HTTP when no server is given, otherwise TLS without verification
   * (self-signed). Loopback registries speaking plain HTTP need no entry at
   * all: containerd uses HTTP for them.
   */
  insecure?: boolean;
  /** CA certificate (PEM path) the registry's TLS certificate chains to. */
  ca?: string;
}

/** Where and how to run a private containerd. */
export interface ContainerdOptions {
  /** Holds root/, state/, the socket, config.toml, cni/ and certs.d/. */
  dataDir: string;
  sandboxImage?: string;
  snapshotter?: "overlayfs" | "native";
  cniBinDir?: string;
  /** Defaults to <dataDir>/cni/net.d; the CNI config (node-agent/src/network) goes here. */
  cniConfDir?: string;
  registries?: RegistryHost[];
  runcBinary?: string;
  containerdBinary?: string;
}

/** Paths of a private containerd under its data dir. */
export interface ContainerdPaths {
  configPath: string;
  socket: string;
  root: string;
  state: string;
  cniConfDir: string;
  certsDir: string;
  logPath: string;
  /** Pid of the containerd started with this config, to adopt or stop it after an agent crash. */
  pidPath: string;
}

/** The paths a data dir implies. */
export function containerdPaths(options: ContainerdOptions): ContainerdPaths {
  const d = options.dataDir;
  return {
    configPath: join(d, "config.toml"),
    socket: join(d, "containerd.sock"),
    root: join(d, "root"),
    state: join(d, "state"),
    cniConfDir: options.cniConfDir ?? join(d, "cni", "net.d"),
    certsDir: join(d, "certs.d"),
    logPath: join(d, "containerd.log"),
    pidPath: join(d, "containerd.pid"),
  };
}

/** containerd's hosts.toml for one registry. */
export function hostsToml(reg: RegistryHost): string {
  const server = reg.server ?? `${reg.insecure ? "http" : "https"}://${reg.host}`;
  const lines = [`server = "${server}"`, "", `[host."${server}"]`, `  capabilities = ["pull", "resolve"]`];
  if (reg.insecure) lines.push("  skip_verify = true");
  if (reg.ca) lines.push(`  ca = ${JSON.stringify(reg.ca)}`);
  return `${lines.join("\n")}\n`;
}

/** Where a registry name's own endpoint is: Docker Hub's API host differs from its name. */
export function upstreamServer(registry: string): string {
  return registry === "docker.io" ? "https://registry-1.docker.io" : `https://${registry}`;
}

/**
 * hosts.toml for a mirrored registry (k3s's registries.yaml model): containerd
 * tries each mirror in order, then the registry itself (`server`), so a
 * mirror that lacks an image, or is down, falls through to upstream.
 * Loopback mirrors speak plain HTTP, others HTTPS.
 */
export function mirrorHostsToml(registry: string, mirrors: string[]): string {
  const lines = [`server = "${upstreamServer(registry)}"`];
  for (const mirror of mirrors) {
    const scheme = /^(127\.|localhost(:|$)|\[::1\])/.test(mirror) ? "http" : "https";
    lines.push("", `[host."${scheme}://${mirror}"]`, `  capabilities = ["pull", "resolve"]`);
  }
  return `${lines.join("\n")}\n`;
}

/** Writes a mirrored registry's hosts.toml (containerd reads config_path on every pull). */
export async function writeMirrorHost(certsDir: string, registry: string, mirrors: string[]): Promise<void> {
  const dir = join(certsDir, registry.replace(/[/\\]/g, "_"));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "hosts.toml"), mirrorHostsToml(registry, mirrors));
}

/** Renders config.toml from the template; pure, for tests and setup. */
export function renderContainerdConfig(template: string, options: ContainerdOptions): string {
  const p = containerdPaths(options);
  const values: Record<string, string> = {
    ROOT: p.root,
    STATE: p.state,
    SOCKET: p.socket,
    SANDBOX_IMAGE: options.sandboxImage ?? DEFAULT_SANDBOX_IMAGE,
    SNAPSHOTTER: options.snapshotter ?? "overlayfs",
    RUNC: options.runcBinary ?? "runc",
    CNI_BIN_DIR: options.cniBinDir ?? "/usr/lib/cni",
    CNI_CONF_DIR: p.cniConfDir,
    CERTS_DIR: p.certsDir,
  };
  return template.replace(/@([A-Z_]+)@/g, (m, name: string) => {
    const v = values[name];
    if (v === undefined) throw new Error(`containerd config template: unknown placeholder ${m}`);
    // TOML basic strings: keep paths from breaking out of the quotes.
    return v.replace(/\\/g, "\\\\").replace(/"/g, '\\"');
  });
}

/** Writes config.toml, the registry hosts and the directories containerd expects. */
export async function writeContainerdConfig(options: ContainerdOptions): Promise<ContainerdPaths> {
  const p = containerdPaths(options);
  await Promise.all(
    [p.root, p.state, p.cniConfDir, p.certsDir].map((d) => mkdir(d, { recursive: true, mode: 0o711 })),
  );
  const template = await readFile(CONFIG_TEMPLATE, "utf8");
  await writeFile(p.configPath, renderContainerdConfig(template, options));
  for (const reg of options.registries ?? []) await writeRegistryHost(p.certsDir, reg);
  return p;
}

/**
 * Adds (or replaces) one registry's hosts.toml. containerd reads config_path
 * on every pull, so this works on a running containerd too (e.g. the local
 * control plane's HTTPS registry on a port known only at start).
 */
export async function writeRegistryHost(certsDir: string, reg: RegistryHost): Promise<void> {
  const dir = join(certsDir, reg.host.replace(/[/\\]/g, "_"));
  await mkdir(dir, { recursive: true });
  await writeFile(join(dir, "hosts.toml"), hostsToml(reg));
}

/** A containerd started by the agent (or by a previous life of it, adopted). */
export interface ManagedContainerd {
  socket: string;
  paths: ContainerdPaths;
  pid: number;
  /** The child process, when this agent spawned it (undefined when adopted). */
  process?: ChildProcess;
  /** SIGTERM, then SIGKILL; containers keep running under their shims. */
  stop(): Promise<void>;
}

/** Polls until `check` resolves true or the deadline passes. */
async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** The pid of a containerd still running with this config (an agent that died without stopping it). */
function runningContainerd(paths: ContainerdPaths): number | undefined {
  let pid: number;
  try {
    pid = Number(readFileSync(paths.pidPath, "utf8").trim());
  } catch {
    return undefined;
  }
  if (!Number.isInteger(pid) || pid <= 0 || !alive(pid)) return undefined;
  try {
    // The pid may have been reused by another process since.
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, "utf8");
    return cmdline.includes("containerd") && cmdline.includes(paths.configPath) ? pid : undefined;
  } catch {
    return undefined;
  }
}

async function answers(socket: string, timeoutMs: number): Promise<boolean> {
  if (!existsSync(socket)) return false;
  const client = new CriClient(socket);
  try {
    await client.version(timeoutMs);
    return true;
  } catch {
    return false;
  } finally {
    client.close();
  }
}

/** Stops a containerd by pid: SIGTERM, SIGKILL after 10 s, resolves once it is gone. */
async function stopPid(pid: number): Promise<void> {
  if (!alive(pid)) return;
  process.kill(pid, "SIGTERM");
  const deadline = Date.now() + 10_000;
  while (alive(pid)) {
    if (Date.now() > deadline) {
      process.kill(pid, "SIGKILL");
      break;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Starts containerd with a private config and resolves once its CRI answers.
 * If a containerd with this config is still running (the previous agent was
 * killed), it is adopted instead: a second one on the same root would block
 * on the metadata database lock.
 */
export async function startContainerd(
  options: ContainerdOptions,
  timeoutMs = 30_000,
): Promise<ManagedContainerd> {
  const paths = await writeContainerdConfig(options);
  const previous = runningContainerd(paths);
  if (previous !== undefined) {
    await waitFor(() => answers(paths.socket, 1_000), timeoutMs, "the running containerd's CRI socket");
    return { socket: paths.socket, paths, pid: previous, stop: () => stopPid(previous) };
  }
  const logFd = openSync(paths.logPath, "a");
  const child = spawn(options.containerdBinary ?? "containerd", ["--config", paths.configPath], {
    stdio: ["ignore", logFd, logFd],
    detached: false,
  });
  closeSync(logFd);
  let exited: string | undefined;
  child.on("exit", (code, signal) => {
    exited = `containerd exited (${signal ?? code}); see ${paths.logPath}`;
  });
  child.on("error", (err) => {
    exited = `containerd failed to start: ${err.message}`;
  });
  if (child.pid) writeFileSync(paths.pidPath, `${child.pid}\n`);
  try {
    await waitFor(
      async () => {
        if (exited) throw new Error(exited);
        return answers(paths.socket, 1_000);
      },
      timeoutMs,
      "containerd's CRI socket",
    );
  } catch (err) {
    child.kill("SIGKILL");
    throw err;
  }
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const done = new Promise<void>((r) => child.once("exit", () => r()));
    child.kill("SIGTERM");
    const timer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    await done;
    clearTimeout(timer);
  };
  return { socket: paths.socket, paths, pid: child.pid ?? 0, process: child, stop };
}

/**
 * Makes sure the sandbox image exists in containerd's CRI namespace,
 * importing it from an OCI archive (scripts/images/build.sh makes one) when
 * it is missing.
 */
export async function ensureSandboxImage(
  socket: string,
  archive: string,
  image = DEFAULT_SANDBOX_IMAGE,
  snapshotter = "overlayfs",
): Promise<void> {
  const client = new CriClient(socket);
  try {
    if (await client.imageStatus(image)) return;
    await importImage(socket, archive, snapshotter);
    if (!(await client.imageStatus(image))) throw new Error(`${archive} did not provide ${image}`);
  } finally {
    client.close();
  }
}

/** Imports an OCI archive into containerd's k8s.io namespace (where the CRI looks) and unpacks it. */
export async function importImage(socket: string, archive: string, snapshotter = "overlayfs"): Promise<void> {
  await execFileP("ctr", [
    "--address",
    socket,
    "--namespace",
    "k8s.io",
    "images",
    "import",
    "--snapshotter",
    snapshotter,
    archive,
  ]);
}
