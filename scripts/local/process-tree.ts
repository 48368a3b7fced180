/**
 * Linux process-tree inspection through /proc, for checking that stopping
 * the local cluster leaves nothing behind. A process is identified by pid
 * plus start time, so a recycled pid is not mistaken for a survivor.
 */
import { readdirSync, readFileSync } from "node:fs";

/** A process as /proc shows it. */
export interface ProcessInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** Start time in clock ticks since boot (field 22 of /proc/<pid>/stat). */
  start: string;
  state: string;
  command: string;
}

/** One process, or undefined when it no longer exists. */
export function processInfo(pid: number): ProcessInfo | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // comm may hold spaces and parentheses: split after its closing one.
    const close = stat.lastIndexOf(")");
    const fields = stat.slice(close + 2).split(" ");
    const command = readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").join(" ").trim();
    return {
      pid,
      state: fields[0],
      ppid: Number(fields[1]),
      pgid: Number(fields[2]),
      start: fields[19],
      command,
    };
  } catch {
    return undefined;
  }
}

/** Every live process that descends from `root` (root included). */
export function descendants(root: number): ProcessInfo[] {
  const all = readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d))
    .map((d) => processInfo(Number(d)))
    .filter((p): p is ProcessInfo => p !== undefined);
  const children = new Map<number, ProcessInfo[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const out: ProcessInfo[] = [];
  const self = all.find((p) => p.pid === root);
  const queue = self ? [self] : [];
  while (queue.length > 0) {
    const p = queue.shift()!;
    out.push(p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return out;
}

/** Those of `processes` that still run (same pid and start time, not a zombie). */
export function survivors(processes: ProcessInfo[]): ProcessInfo[] {
  return processes.filter((p) => {
    const now = processInfo(p.pid);
    return now !== undefined && now.start === p.start && now.state !== "Z";
  });
}
