/**
 * Pod-level cgroups. runc removes a container's own cgroup when the
 * container is deleted, but not the pod cgroup above it (kubelet's pod
 * container manager does that), so the runtime removes it when the sandbox
 * goes. Works on cgroup v1 (one directory per controller) and v2.
 */
import { existsSync, readdirSync, readFileSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";

const CGROUP_ROOT = "/sys/fs/cgroup";

/** Directories that hold `cgroupPath` in every mounted hierarchy. */
export function cgroupDirs(cgroupPath: string, root = CGROUP_ROOT): string[] {
  const rel = cgroupPath.replace(/^\/+/, "");
  if (!rel || rel.split("/").includes("..")) return [];
  if (existsSync(join(root, "cgroup.controllers"))) return [join(root, rel)];
  let entries: string[] = [];
  try {
    entries = readdirSync(root);
  } catch {
    return [];
  }
  return entries
    .map((e) => join(root, e))
    .filter((d) => {
      try {
        return statSync(d).isDirectory();
      } catch {
        return false;
      }
    })
    .map((d) => join(d, rel));
}

/** The hierarchies in which `cgroupPath` still exists. */
export function existingCgroupDirs(cgroupPath: string, root = CGROUP_ROOT): string[] {
  return cgroupDirs(cgroupPath, root).filter((d) => existsSync(d));
}

/** Removes an (empty) cgroup from every hierarchy; children still present or busy cgroups are left, not an error. */
export function removeCgroup(cgroupPath: string, root = CGROUP_ROOT): void {
  for (const dir of existingCgroupDirs(cgroupPath, root)) {
    try {
      rmdirSync(dir);
    } catch {
      // EBUSY/ENOTEMPTY: a process or child is still there; the next cleanup retries.
    }
  }
}

/**
 * How many processes under `cgroupPath` (itself and its children) the OOM
 * killer has killed: `oom_kill` of cgroup v2's hierarchical memory.events, or
 * of v1's memory.oom_control. undefined when the cgroup or the counter is gone.
 */
export function oomKills(cgroupPath: string, root = CGROUP_ROOT): number | undefined {
  for (const dir of existingCgroupDirs(cgroupPath, root)) {
    for (const file of ["memory.events", "memory.oom_control"]) {
      let text: string;
      try {
        text = readFileSync(join(dir, file), "utf8");
      } catch {
        continue;
      }
      const m = /^oom_kill (\d+)$/m.exec(text);
      if (m) return Number(m[1]);
    }
  }
  return undefined;
}
