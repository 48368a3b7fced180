/**
 * cgroup v1 memory and cpu limits for WASM pod processes. node:wasi and
 * worker resourceLimits do not cap wasm linear memory (RUNTIMES.md), so a
 * hard per-container memory limit needs the kernel: each container's shim
 * joins its own memory (and cpu) cgroup before it starts the runner.
 * Where cgroups cannot be created the runtime falls back to polling RSS.
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync } from "node:fs";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** Where cgroup v1 controllers are mounted (a parameter so tests can point elsewhere). */
export interface CgroupOptions {
  root?: string;
  /** Sub-path for this agent's containers, e.g. "edgeplane/<node>". */
  parent: string;
}

/** One container's cgroups: the paths the shim writes its pid into. */
export interface ContainerCgroups {
  procs: string[];
  memoryDir?: string;
}

/** cgroup v1 helper bound to one agent. */
export class Cgroups {
  private readonly root: string;
  constructor(private readonly options: CgroupOptions) {
    this.root = options.root ?? "/sys/fs/cgroup";
  }

  /** True when a memory cgroup can be created here. */
  available(): boolean {
    const dir = join(this.root, "memory", this.options.parent);
    try {
      mkdirSync(dir, { recursive: true });
      return existsSync(join(dir, "cgroup.procs"));
    } catch {
      return false;
    }
  }

  /**
   * Create the cgroups for a container with its limits; undefined when unavailable. Asynchronous: a
   * cgroupfs mkdir can take milliseconds, which must not stall the agent's event loop.
   */
  async create(
    id: string,
    limits: { memoryBytes?: number; cpuMillis?: number; pids?: number },
  ): Promise<ContainerCgroups | undefined> {
    try {
      const procs: string[] = [];
      const memoryDir = join(this.root, "memory", this.options.parent, id);
      await mkdir(memoryDir, { recursive: true });
      if (limits.memoryBytes) {
        await writeFile(join(memoryDir, "memory.limit_in_bytes"), String(limits.memoryBytes));
        // Without swap accounting limits, a swapping host would page instead of killing.
        const memsw = join(memoryDir, "memory.memsw.limit_in_bytes");
        if (existsSync(memsw)) await writeFile(memsw, String(limits.memoryBytes));
      }
      procs.push(join(memoryDir, "cgroup.procs"));
      if (limits.cpuMillis) {
        const cpuDir = join(this.root, "cpu", this.options.parent, id);
        try {
          await mkdir(cpuDir, { recursive: true });
          await writeFile(join(cpuDir, "cpu.cfs_period_us"), "100000");
          await writeFile(join(cpuDir, "cpu.cfs_quota_us"), String(Math.max(1000, limits.cpuMillis * 100)));
          procs.push(join(cpuDir, "cgroup.procs"));
        } catch {
          // No cpu controller: CPU limits are then not enforced (documented).
        }
      }
      if (limits.pids) {
        // A fork bomb in an escaped runner stops at pids.max instead of exhausting the node's pid space.
        const pidsDir = join(this.root, "pids", this.options.parent, id);
        try {
          await mkdir(pidsDir, { recursive: true });
          await writeFile(join(pidsDir, "pids.max"), String(limits.pids));
          procs.push(join(pidsDir, "cgroup.procs"));
        } catch {
          // No pids controller: the limit is then not enforced (documented).
        }
      }
      return { procs, memoryDir };
    } catch {
      return undefined;
    }
  }

  /** Did the kernel OOM-kill something in this container's memory cgroup? */
  oomKilled(id: string): boolean {
    const dir = join(this.root, "memory", this.options.parent, id);
    try {
      const control = readFileSync(join(dir, "memory.oom_control"), "utf8");
      const kills = /oom_kill (\d+)/.exec(control);
      if (kills) return Number(kills[1]) > 0;
      return Number(readFileSync(join(dir, "memory.failcnt"), "utf8")) > 0;
    } catch {
      return false;
    }
  }

  /**
   * The processes in a container's memory cgroup. Before its first start
   * there are none, unless an agent died after the shim joined the cgroup
   * (its first act) and before the shim's pid was recorded: an orphan.
   */
  processes(id: string): number[] {
    try {
      const text = readFileSync(join(this.root, "memory", this.options.parent, id, "cgroup.procs"), "utf8");
      return text
        .split("\n")
        .filter((line) => /^\d+$/.test(line))
        .map(Number);
    } catch {
      return [];
    }
  }

  /** Remove a container's (now empty) cgroups. */
  remove(id: string): void {
    for (const controller of ["memory", "cpu", "pids"]) {
      try {
        rmdirSync(join(this.root, controller, this.options.parent, id));
      } catch {
        // already gone or still busy: harmless
      }
    }
  }
}
