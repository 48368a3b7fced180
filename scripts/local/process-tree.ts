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

/** Every live process whose command line mentions `text` (e.g. a node's data dir). */
export function processesMentioning(text: string): ProcessInfo[] {
  return readdirSync("/proc")
    .filter((d) => /^\d+$/.test(d) && Number(d) !== process.pid)
    .map((d) => processInfo(Number(d)))
    .filter((p): p is ProcessInfo => p !== undefined && p.state !== "Z" && p.command.includes(text));
}

/**
 * Stop every process group holding a process whose command line mentions
 * `text`: SIGTERM, then SIGKILL for what is left after `graceMs`. The node
 * agent deliberately leaves pods running when it stops (a restarted agent
 * adopts them); a local cluster that is shut down must not leave them behind.
 */
export async function stopProcessesMentioning(text: string, graceMs = 5000): Promise<number> {
  const found = processesMentioning(text);
  const groups = new Set(found.map((p) => p.pgid).filter((g) => g > 1 && g !== process.pid));
  for (const g of groups) signalGroup(g, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (survivors(found).length > 0 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  for (const g of groups) signalGroup(g, "SIGKILL");
  for (const p of survivors(found)) signalPid(p.pid, "SIGKILL");
  return found.length;
}

function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // the group is gone
  }
}

function signalPid(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(pid, signal);
  } catch {
    // the process is gone
  }
}
