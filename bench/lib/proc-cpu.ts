/**
 * CPU seconds per process name, for the processes a benchmark started (its
 * descendants: workerd, the agent, kubectl...) plus any named in `extra`
 * (e.g. a pod's server, which containerd's shim has reparented). Read from
 * /proc, so a bench can say which process spent what over one phase: on a
 * shared 2-core machine throughput alone does not tell where the CPU went.
 */
import { readdirSync, readFileSync } from "node:fs";

/** Clock ticks per second of /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const HZ = 100;

interface Proc {
  pid: number;
  ppid: number;
  comm: string;
  ticks: number;
  /** Of those, in the kernel (stime): on loopback, mostly copying bytes between sockets. */
  system: number;
}

function processes(): Proc[] {
  const out: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, "utf8");
      // comm is in parentheses and may contain spaces: the fields after it are split from the last ")".
      const close = stat.lastIndexOf(")");
      const comm = stat.slice(stat.indexOf("(") + 1, close);
      const fields = stat.slice(close + 2).split(" ");
      out.push({
        pid: Number(name),
        ppid: Number(fields[1]),
        comm,
        ticks: Number(fields[11]) + Number(fields[12]),
        system: Number(fields[12]),
      });
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** Ticks per pid of `root`'s descendants (root included) and of processes named in `extra`. */
function snapshot(root: number, extra: string[]): Map<number, Proc> {
  const all = processes();
  const children = new Map<number, Proc[]>();
  for (const p of all) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const picked = new Map<number, Proc>();
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      picked.set(c.pid, c);
      walk(c.pid);
    }
  };
  const self = all.find((p) => p.pid === root);
  if (self) picked.set(root, self);
  walk(root);
  for (const p of all) if (extra.includes(p.comm)) picked.set(p.pid, p);
  return picked;
}

/** CPU seconds of one process name, and the part of them spent in the kernel. */
export interface CpuUse {
  cpu: number;
  system: number;
}

/** Start counting; the returned function gives CPU seconds per process name since then. */
export function cpuMeter(extra: string[] = [], root = process.pid): () => Map<string, CpuUse> {
  const before = snapshot(root, extra);
  return () => {
    const used = new Map<string, CpuUse>();
    for (const [pid, p] of snapshot(root, extra)) {
      const name = pid === root ? "bench" : p.comm;
      const was = before.get(pid);
      const cpu = (p.ticks - (was?.ticks ?? 0)) / HZ;
      const system = (p.system - (was?.system ?? 0)) / HZ;
      if (cpu <= 0) continue;
      const sum = used.get(name) ?? { cpu: 0, system: 0 };
      used.set(name, { cpu: sum.cpu + cpu, system: sum.system + system });
    }
    return used;
  };
}
