/**
 * A small warm pool of prepared, unused pod networks for WASM pods: a named
 * network namespace with lo up and CNI ADD done (an IP leased from
 * host-local), ready to be handed to the next pod that needs one.
 *
 * Why: on the shared 2-core machine `ip netns add` + lo up and the two Go
 * CNI binaries (bridge, host-local; ~20 ms CPU each) were most of a pod's
 * creation → Running time at 20 pods/s (docs/node-agent.md, Benchmark).
 * Preparing them before a pod arrives, niced, takes that off the start path.
 *
 * An entry is handed out at most once (take() removes it synchronously) and
 * never shared: the pod that takes it owns the namespace and the lease from
 * then on, and releases them at stopSandbox like any other. Every entry has a
 * file under `dir` from before its namespace exists until the pod's sandbox
 * record names it, so entries left by an agent that died are found and torn
 * down (CNI DEL, netns delete) on the next start or close.
 */
import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";

/** One prepared (or being prepared) pod network. */
export interface PoolEntry<N> {
  id: string;
  /** Path of its named network namespace (/run/netns/edgeplane-pool-<id>). */
  netns: string;
  /** CNI_CONTAINERID of its ADD: host-local recorded the lease under it, so DEL must use it too. */
  cniId: string;
  /** The network the IP came from (the node's pod CIDR and bridge at the time). */
  network: N;
  /** Set once CNI ADD has answered. */
  ip?: string;
}

/** What preparing and tearing down an entry takes (netns + CNI in the agent; fakes in unit tests). */
export interface PoolOps<N> {
  /** Create the entry's namespace with lo up and run CNI ADD on it, at low CPU priority; returns the IP. */
  prepare(entry: PoolEntry<N>): Promise<string>;
  /** CNI DEL and delete the namespace; must cope with an entry prepared only in part, or not at all. */
  release(entry: PoolEntry<N>): Promise<void>;
}

/** Options for NetnsPool. */
export interface NetnsPoolOptions<N> {
  /** Where entry files live (one JSON file per entry). */
  dir: string;
  /** Where named namespaces live (NETNS_DIR). */
  netnsDir: string;
  ops: PoolOps<N>;
  /** The network new pods draw from now; entries of an older one are torn down, not handed out. */
  network: () => N;
  /** Namespaces of pods that exist (their sandbox records): never torn down by a reclaim. */
  inUse: () => Promise<Set<string>>;
  /** At most this many prepared entries (the cap under demand). */
  max?: number;
  /** Entries kept with no recent demand. */
  idle?: number;
  /** Demand is the number of take() calls within this window. */
  windowMs?: number;
  now?: () => number;
  log?: (message: string) => void;
}

/** The pool; start() before take() hands anything out, close() on shutdown. */
export class NetnsPool<N> {
  private readonly ready: PoolEntry<N>[] = [];
  /** Taken, but the pod's sandbox record does not name it yet: a reclaim must leave it alone. */
  private readonly claimed = new Set<string>();
  private demand: number[] = [];
  private filling?: Promise<void>;
  private started = false;
  private closed = false;
  private failures = 0;
  /** Pods preparing networks of their own right now: the refill waits for them (hold()). */
  private holds = 0;
  private retryAt = 0;
  private readonly max: number;
  private readonly idle: number;
  private readonly windowMs: number;
  private readonly now: () => number;

  constructor(private readonly options: NetnsPoolOptions<N>) {
    this.max = Math.max(0, options.max ?? 4);
    this.idle = Math.min(this.max, Math.max(0, options.idle ?? 2));
    this.windowMs = options.windowMs ?? 10_000;
    this.now = options.now ?? Date.now;
  }

  /** Tear down what an earlier agent left in `dir` (not in use), then fill to the idle size. */
  async start(): Promise<void> {
    if (this.started || this.closed) return;
    await mkdir(this.options.dir, { recursive: true });
    await this.reclaim();
    this.started = true;
    this.refill();
  }

  /**
   * A prepared entry for a new pod, or undefined (the caller then prepares its own). The entry is the
   * caller's from here: it must call forget() once its own record names the namespace, or giveBack().
   */
  take(): PoolEntry<N> | undefined {
    const now = this.now();
    this.demand.push(now);
    this.demand = this.demand.filter((t) => t > now - this.windowMs);
    const current = JSON.stringify(this.options.network());
    let entry: PoolEntry<N> | undefined;
    for (;;) {
      entry = this.ready.shift();
      if (!entry || JSON.stringify(entry.network) === current) break;
      // Drawn from a pod CIDR the node no longer uses: release its lease instead.
      void this.discard(entry);
    }
    if (entry) this.claimed.add(entry.id);
    this.refill();
    return entry;
  }

  /**
   * A pod is preparing a network of its own (the pool was empty): no refill starts until the returned
   * function is called. host-local serialises ADDs on a file lock, and a niced refill holding that lock
   * on saturated cores kept pods waiting behind it (100 pods at 20/s were slower with the pool than
   * without it); the refill now runs in the gaps between pods' own preparations.
   */
  hold(): () => void {
    this.holds++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.holds--;
      this.refill();
    };
  }

  /** The pod's own record now names the entry's namespace and lease: the pool forgets it. */
  async forget(entry: PoolEntry<N>): Promise<void> {
    await rm(this.file(entry.id), { force: true });
    this.claimed.delete(entry.id);
  }

  /** The pod could not use a taken entry: tear it down. */
  async giveBack(entry: PoolEntry<N>): Promise<void> {
    this.claimed.delete(entry.id);
    await this.discard(entry);
  }

  /** How many prepared entries the pool aims to hold now: recent demand, at least idle, at most max. */
  target(): number {
    const now = this.now();
    const recent = this.demand.filter((t) => t > now - this.windowMs).length;
    return Math.min(this.max, Math.max(this.idle, recent));
  }

  /** Resolves once no entry is being prepared (tests wait on this, not on time). */
  async settled(): Promise<void> {
    while (this.filling) await this.filling;
  }

  /** Prepared entries waiting (tests, logs). */
  get size(): number {
    return this.ready.length;
  }

  /** Stop refilling, wait for the entry being prepared, tear down every unused entry (and leftovers in dir). */
  async close(): Promise<void> {
    this.closed = true;
    await this.filling;
    const unused = this.ready.splice(0);
    for (const entry of unused) await this.discard(entry);
    await this.reclaim();
  }

  private file(id: string): string {
    return join(this.options.dir, `${id}.json`);
  }

  private refill(): void {
    if (!this.started || this.closed || this.filling || this.holds > 0) return;
    this.filling = this.fill().finally(() => {
      this.filling = undefined;
    });
  }

  // One entry at a time, so the pool's own work never takes more than a core's share from running pods.
  private async fill(): Promise<void> {
    while (!this.closed && this.holds === 0 && this.now() >= this.retryAt) {
      const target = this.target();
      if (this.ready.length > target) {
        const extra = this.ready.pop();
        if (extra) await this.discard(extra);
        continue;
      }
      if (this.ready.length === target) return;
      const id = randomBytes(8).toString("hex");
      const entry: PoolEntry<N> = {
        id,
        netns: join(this.options.netnsDir, `edgeplane-pool-${id}`),
        cniId: `wasm-pool-${id}`,
        network: this.options.network(),
      };
      try {
        // Recorded before the namespace exists: an agent dying now leaves a file for the next to reclaim.
        await this.write(entry);
        entry.ip = await this.options.ops.prepare(entry);
        await this.write(entry);
      } catch (error) {
        await this.discard(entry);
        this.failures++;
        // Out of addresses or a broken plugin: back off (the pods' own path reports the error).
        this.retryAt = this.now() + Math.min(30_000, 500 * 2 ** this.failures);
        // Said once per run of failures: a node without CNI plugins would otherwise log every 30 s.
        if (this.failures === 1)
          this.options.log?.(`wasm: netns pool: preparing a network failed: ${(error as Error).message}`);
        return;
      }
      this.failures = 0;
      if (this.closed) {
        await this.discard(entry);
        return;
      }
      this.ready.push(entry);
    }
  }

  private async write(entry: PoolEntry<N>): Promise<void> {
    const path = this.file(entry.id);
    await writeFile(`${path}.tmp`, JSON.stringify(entry));
    await rename(`${path}.tmp`, path);
  }

  private async discard(entry: PoolEntry<N>): Promise<void> {
    try {
      await this.options.ops.release(entry);
    } catch (error) {
      // Keep the file: the next reclaim tries again.
      this.options.log?.(`wasm: netns pool: releasing ${entry.netns} failed: ${(error as Error).message}`);
      return;
    }
    await rm(this.file(entry.id), { force: true });
  }

  /** Tear down every entry on disk that is neither waiting, nor taken, nor named by a pod's record. */
  private async reclaim(): Promise<void> {
    let names: string[];
    try {
      names = await readdir(this.options.dir);
    } catch {
      return;
    }
    const inUse = await this.options.inUse();
    const waiting = new Set(this.ready.map((e) => e.id));
    for (const name of names) {
      const path = join(this.options.dir, name);
      if (!name.endsWith(".json")) {
        await rm(path, { force: true });
        continue;
      }
      let entry: PoolEntry<N>;
      try {
        entry = JSON.parse(await readFile(path, "utf8")) as PoolEntry<N>;
      } catch {
        await rm(path, { force: true });
        continue;
      }
      if (waiting.has(entry.id) || this.claimed.has(entry.id)) continue;
      if (inUse.has(entry.netns)) await rm(path, { force: true });
      else await this.discard(entry);
    }
  }
}
