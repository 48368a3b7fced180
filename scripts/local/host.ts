/**
 * Host checks before starting: the Debian packages the project lists
 * (scripts/debian-packages.txt, installed by scripts/setup-host.sh when we
 * may), and the commands `npm start` itself cannot do without.
 */
import { execFileSync, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Debian packages from scripts/debian-packages.txt that are not installed (empty off Debian). */
export function missingPackages(root: string): string[] {
  if (spawnSync("dpkg-query", ["--version"], { stdio: "ignore" }).status !== 0) return [];
  const wanted = readFileSync(join(root, "scripts/debian-packages.txt"), "utf8")
    .split("\n")
    .map((line) => line.replace(/#.*/, "").trim())
    .filter(Boolean);
  return wanted.filter((pkg) => {
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
    const r = spawnSync("dpkg-query", ["-W", "-f=${Status}", pkg], { encoding: "utf8" });
    return !(r.stdout ?? "").includes("install ok installed");
  });
}

/** Whether a command is on PATH. */
export function hasCommand(name: string): boolean {
  try {
    execFileSync("sh", ["-c", `command -v ${name}`], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

/** Run scripts/setup-host.sh with its output shown; false when it failed. */
export function runSetupHost(root: string): boolean {
  return spawnSync("bash", [join(root, "scripts/setup-host.sh")], { stdio: "inherit" }).status === 0;
}

/** What containerd-backed pods need on this host besides root and cgroups (scripts/debian-packages.txt). */
const CONTAINER_COMMANDS = ["containerd", "containerd-shim-runc-v2", "runc", "umoci", "busybox"];

/**
 * Why container pods (the `cri` runtime: a private containerd per node) cannot
 * run here, in a few words, or undefined when they can. The host probes
 * are parameters so tests can stand in for a host without root.
 */
export function containerRuntimeProblem(
  uid: number | undefined = process.getuid?.(),
  has: (command: string) => boolean = hasCommand,
  exists: (path: string) => boolean = existsSync,
): string | undefined {
  if (process.platform !== "linux") return `containers need Linux (this is ${process.platform})`;
  if (uid !== 0) return "containers need root (containerd, runc, CNI)";
  const missing = CONTAINER_COMMANDS.filter((c) => !has(c));
  if (missing.length) return `missing ${missing.join(", ")} (scripts/setup-host.sh installs them)`;
  if (!exists("/usr/lib/cni/bridge"))
    return "missing CNI plugins in /usr/lib/cni (containernetworking-plugins)";
  if (!exists("/sys/fs/cgroup/cgroup.controllers") && !exists("/sys/fs/cgroup/memory"))
    return "no cgroup filesystem at /sys/fs/cgroup";
  return undefined;
}
