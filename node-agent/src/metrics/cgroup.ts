/**
 * Reads what a cgroup has used, as cadvisor does: cumulative CPU time, and the
 * memory working set (usage minus inactive file pages, which the kernel can
 * drop at once). cgroup v2 (cpu.stat usage_usec, memory.current, memory.stat
 * inactive_file) and v1 (cpuacct.usage, memory.usage_in_bytes, memory.stat
 * total_inactive_file). Where a v1 cgroup has no cpuacct group (the WASM
 * runtime creates only memory groups unless a CPU limit is set), the CPU time
 * of the processes in its memory group is summed from /proc instead.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** Cumulative CPU time and current working set of one cgroup (or the node). */
export interface Usage {
  /** CPU time used since the cgroup (or host) started, in nanoseconds. */
  cpuNanos: number;
  workingSetBytes: number;
}

/** Where the kernel's files are (parameters so tests can point at fixtures). */
export interface UsageRoots {
  cgroup?: string;
  proc?: string;
}

/** Linux's USER_HZ: /proc/stat and /proc/<pid>/stat count clock ticks of 1/100 s. */
const TICK_NANOS = 10_000_000;

function read(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** A "key value" line's value from a flat-keyed file (cpu.stat, memory.stat). */
export function statValue(text: string | undefined, key: string): number | undefined {
  if (text === undefined) return undefined;
  const match = new RegExp(`^${key} (\\d+)$`, "m").exec(text);
  return match ? Number(match[1]) : undefined;
}

/** Usage of the cgroup at `path` (relative to the cgroup root); undefined when it does not exist. */
export function readCgroupUsage(path: string, roots: UsageRoots = {}): Usage | undefined {
  const root = roots.cgroup ?? "/sys/fs/cgroup";
  const rel = path.replace(/^\/+/, "");
  if (!rel || rel.split("/").includes("..")) return undefined;
  if (existsSync(join(root, "cgroup.controllers"))) {
    const dir = join(root, rel);
    const usec = statValue(read(join(dir, "cpu.stat")), "usage_usec");
    const current = read(join(dir, "memory.current"));
    if (usec === undefined && current === undefined) return undefined;
    const inactive = statValue(read(join(dir, "memory.stat")), "inactive_file") ?? 0;
    return { cpuNanos: (usec ?? 0) * 1000, workingSetBytes: workingSet(current, inactive) };
  }
  const memoryDir = join(root, "memory", rel);
  const usage = read(join(memoryDir, "memory.usage_in_bytes"));
  const acct =
    read(join(root, "cpuacct", rel, "cpuacct.usage")) ??
    read(join(root, "cpu,cpuacct", rel, "cpuacct.usage"));
  if (usage === undefined && acct === undefined) return undefined;
  const inactive = statValue(read(join(memoryDir, "memory.stat")), "total_inactive_file") ?? 0;
  const cpuNanos =
    acct !== undefined
      ? Number(acct.trim())
      : processesCpuNanos(read(join(memoryDir, "cgroup.procs")), roots);
  return { cpuNanos, workingSetBytes: workingSet(usage, inactive) };
}

function workingSet(usage: string | undefined, inactiveFile: number): number {
  const bytes = Number((usage ?? "0").trim());
  return Number.isFinite(bytes) ? Math.max(0, bytes - inactiveFile) : 0;
}

/** utime + stime of the listed processes (their exited children are not counted: a documented gap). */
function processesCpuNanos(procs: string | undefined, roots: UsageRoots): number {
  let ticks = 0;
  for (const pid of (procs ?? "").split("\n")) {
    if (!/^\d+$/.test(pid)) continue;
    const stat = read(join(roots.proc ?? "/proc", pid, "stat"));
    if (!stat) continue;
    // Fields after the ")" that closes the command name: state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    ticks += Number(fields[11] ?? 0) + Number(fields[12] ?? 0);
  }
  return ticks * TICK_NANOS;
}

/** The whole node: busy CPU time from /proc/stat, working set as MemTotal − MemAvailable. */
export function readNodeUsage(roots: UsageRoots = {}): Usage | undefined {
  const proc = roots.proc ?? "/proc";
  const stat = read(join(proc, "stat"));
  const meminfo = read(join(proc, "meminfo"));
  if (!stat || !meminfo) return undefined;
  const cpu = /^cpu\s+(.*)$/m.exec(stat)?.[1].trim().split(/\s+/).map(Number) ?? [];
  // user nice system idle iowait irq softirq steal: everything but idle and iowait is busy.
  const busy = [0, 1, 2, 5, 6, 7].reduce((sum, i) => sum + (cpu[i] ?? 0), 0);
  const kib = (key: string) => Number(new RegExp(`^${key}:\\s+(\\d+) kB$`, "m").exec(meminfo)?.[1] ?? 0);
  return {
    cpuNanos: busy * TICK_NANOS,
    workingSetBytes: Math.max(0, kib("MemTotal") - kib("MemAvailable")) * 1024,
  };
}
