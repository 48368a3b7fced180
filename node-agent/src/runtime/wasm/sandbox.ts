/**
 * The OS sandbox around every WASM pod process, built on bubblewrap (bwrap).
 * node:wasi is no security boundary, so each runner is assumed escapable and
 * is started as:
 *
 *   [nsenter --net=<pod netns>] bwrap <args> setpriv --reuid=65534 ... node runner.cjs /edgeplane/container

 *
 * bwrap runs as root (the agent's shim) and creates fresh mount, PID, IPC
 * and UTS namespaces on an empty tmpfs root holding only: the node binary,
 * setpriv and their shared libraries, the two runner scripts and
 * preview2-shim (read-only), the module or transpiled component (read-only),
 * the container's config (read-only), its two log files, and the pod's
 * declared volumes. It keeps only CAP_SETUID/SETGID/SETPCAP, sets
 * no_new_privs and installs the seccomp filter from seccomp.ts; setpriv then
 * switches to uid/gid 65534 with no groups, an empty bounding set and no
 * capabilities left, and execs node. No user namespace is involved, so the
 * pod is the host's uid 65534 (not a remapped root), and root resolves the
 * bind sources (the agent's data dir need not be traversable by 65534).
 * bwrap does not touch the network namespace: the shim has already entered
 * the pod's (nsenter), or kept the host's for a hostNetwork pod.
 */
import { execFileSync } from "node:child_process";
import { existsSync, realpathSync } from "node:fs";
import { dirname, join } from "node:path";

/** The uid/gid WASM pod processes run as (nobody/nogroup). */
export const SANDBOX_UID = 65534;

/** Where things appear inside the sandbox. */
export const GUEST = {
  runnerDir: "/edgeplane/runner",
  container: "/edgeplane/container",
  module: "/edgeplane/module.wasm",
  cache: "/edgeplane/cache",
  log: "/edgeplane/log/current.log",
  volume: (i: number) => `/edgeplane/volumes/${i}`,
} as const;

/** The fd the shim opens the seccomp program on (bwrap reads and closes it); dash allows only 0-9. */
export const SECCOMP_FD = 9;

/** A host path mounted into the sandbox. */
export interface Bind {
  host: string;
  guest: string;
  readOnly: boolean;
}

/** What one pod process's sandbox holds. */
export interface SandboxSpec {
  /** Pod name: the sandbox's hostname, as kubelet sets it. */
  hostname: string;
  /** Host directory with the container's guest-side config.json. */
  configDir: string;
  modulePath: string;
  /** The transpiled component's cache entry (components only). */
  componentCacheDir?: string;
  /** The transpiled component's directory name under GUEST.cache. */
  componentCacheName?: string;
  logPath: string;
  volumes: Bind[];
}

/** Host paths of the Node.js runtime, runner scripts and preview2-shim, bound read-only into every sandbox. */
export interface RuntimeFiles {
  node: string;
  setpriv: string;
  libraries: string[];
  runnerDir: string;
  /** Package name → host directory, exposed under <runnerDir>/node_modules. */
  packages: Record<string, string>;
}

/** Finds the node binary's shared libraries (via ldd) and the packages the component runner imports. */
export function findRuntimeFiles(runnerPath: string, nodePath: string = process.execPath): RuntimeFiles {
  const setpriv = execFileSync("sh", ["-c", "command -v setpriv"], { encoding: "utf8" }).trim();
  const libraries = new Set<string>();
  for (const binary of [nodePath, setpriv]) {
    let out = "";
    try {
      out = execFileSync("ldd", [binary], { encoding: "utf8" });
    } catch {
      // A static binary: ldd says "not a dynamic executable" and fails.
    }
    for (const line of out.split("\n")) {
      const m = /(?:=>\s*)?(\/\S+)\s+\(0x/.exec(line);
      if (m) libraries.add(m[1]);
    }
  }
  const packages: Record<string, string> = {};
  for (const name of [
    "@bytecodealliance/preview2-shim",
    "@bytecodealliance/jco-node-fs",
    `@bytecodealliance/jco-node-fs-${process.platform}-${process.arch}-gnu`,
  ]) {
    const found = findPackage(dirname(runnerPath), name);
    if (found) packages[name] = found;
  }
  return { node: nodePath, setpriv, libraries: [...libraries], runnerDir: dirname(runnerPath), packages };
}

function findPackage(from: string, name: string): string | undefined {
  for (let dir = from; ; dir = dirname(dir)) {
    const candidate = join(dir, "node_modules", name);
    if (existsSync(join(candidate, "package.json"))) return realpathSync(candidate);
    if (dirname(dir) === dir) return undefined;
  }
}

/** The bwrap arguments (without the command) for one container. Pure but for realpath of the libraries. */
export function bwrapArgs(runtime: RuntimeFiles, spec: SandboxSpec): string[] {
  const binds: [string, string, string][] = [
    ["--ro-bind", runtime.node, "/usr/bin/node"],
    ["--ro-bind", runtime.setpriv, "/usr/bin/setpriv"],
    ...runtime.libraries.map((lib): [string, string, string] => ["--ro-bind", realpathSync(lib), lib]),
    ["--ro-bind", join(runtime.runnerDir, "runner.cjs"), `${GUEST.runnerDir}/runner.cjs`],
    ["--ro-bind", join(runtime.runnerDir, "component-runner.mjs"), `${GUEST.runnerDir}/component-runner.mjs`],
    ...Object.entries(runtime.packages).map(([name, dir]): [string, string, string] => [
      "--ro-bind",
      dir,
      `${GUEST.runnerDir}/node_modules/${name}`,
    ]),
    ["--ro-bind", spec.configDir, GUEST.container],
    ["--ro-bind", spec.modulePath, GUEST.module],
    // The log and its one rotated copy are bound as files, not their directory: the pod cannot plant
    // a symlink there for the agent's log reader to follow.
    ["--bind", spec.logPath, GUEST.log],
    ["--bind", `${spec.logPath}.1`, `${GUEST.log}.1`],
    ...spec.volumes.map((v): [string, string, string] => [
      v.readOnly ? "--ro-bind" : "--bind",
      v.host,
      v.guest,
    ]),
  ];
  if (spec.componentCacheDir && spec.componentCacheName)
    binds.push(["--ro-bind", spec.componentCacheDir, `${GUEST.cache}/${spec.componentCacheName}`]);
  // bwrap would create missing parents 0700 (root only): create them 0755 first so uid 65534 can walk in.
  const parents = new Set<string>();
  for (const [, , guest] of binds) for (let d = dirname(guest); d !== "/"; d = dirname(d)) parents.add(d);
  return [
    "--unshare-pid",
    "--unshare-ipc",
    "--unshare-uts",
    "--unshare-cgroup-try",
    "--hostname",
    spec.hostname,
    // The pod must outlive the agent (adoption) but not its shim, which is bwrap's parent.
    "--die-with-parent",
    "--cap-drop",
    "ALL",
    // Only what setpriv needs to become 65534 and empty the bounding set; gone once it has.
    ...["CAP_SETUID", "CAP_SETGID", "CAP_SETPCAP"].flatMap((cap) => ["--cap-add", cap]),
    "--clearenv",
    "--tmpfs",
    "/",
    "--proc",
    "/proc",
    "--dev",
    "/dev",
    "--perms",
    "1777",
    "--tmpfs",
    "/tmp",
    ...[...parents].sort().flatMap((d) => ["--perms", "0755", "--dir", d]),
    ...binds.flat(),
    "--chdir",
    "/",
    "--seccomp",
    String(SECCOMP_FD),
  ];
}

/** setpriv inside the sandbox: become the sandbox uid with no groups and no capabilities, then exec. */
export function dropPrivileges(): string[] {
  return [
    "/usr/bin/setpriv",
    `--reuid=${SANDBOX_UID}`,
    `--regid=${SANDBOX_UID}`,
    "--clear-groups",
    "--inh-caps=-all",
    "--bounding-set=-all",
  ];
}

/** True when bwrap, setpriv and nsenter are installed (Debian: bubblewrap, util-linux). */
export function sandboxAvailable(): boolean {
  for (const tool of ["bwrap", "setpriv", "nsenter"]) {
    try {
      execFileSync("sh", ["-c", `command -v ${tool}`], { stdio: "ignore" });
    } catch {
      return false;
    }
  }
  return true;
}
