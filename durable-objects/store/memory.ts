/**
 * The in-memory store: exact etcd semantics over an append-only log, for unit
 * tests of the API server and controllers (and as the reference the Durable
 * Object is checked against by the shared conformance suite).
 *
 * Time only moves through the injected clock; leases expire when
 * `expireLeases()` is called (the Durable Object does the same on its alarm).
 */
import { Channel } from "./channel.ts";
import {
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  StoreError,
  type TxnResult,
  type WatchEvent,
  type WatchMessage,
  type WatchOptions,
} from "./types.ts";
import {
  checkKey,
  checkLease,
  checkListOptions,
  checkPrefix,
  checkRevision,
  checkTtl,
  checkValue,
  checkWatchOptions,
} from "./validate.ts";

/** Options for MemoryStore. */
export interface MemoryStoreOptions {
  /** Clock in ms since the epoch; lease deadlines use it. Default Date.now. */
  now?: () => number;
}

interface Watcher {
  prefix: string;
  send(events: WatchEvent[]): void;
}

interface Lease {
  ttl: number;
  expiresAt: number;
  keys: Set<string>;
}

/** In-memory Store with etcd semantics (revisions, CAS, history, watch, compaction, leases). */
export class MemoryStore implements Store {
  private readonly now: () => number;
  /** The shard's revision; like etcd an empty store is at revision 1. */
  private rev = 1;
  private compactedRev = 0;
  /** Append-only log, one event per revision, in revision order (compaction trims the front). */
  private log: WatchEvent[] = [];
  /** Per key, its states in revision order (undefined = deleted at that revision). */
  private history = new Map<string, Array<{ rev: number; kv?: KeyValue }>>();
  private watchers = new Set<Watcher>();
  private leases = new Map<number, Lease>();
  private nextLease = 1;

  constructor(options: MemoryStoreOptions = {}) {
    this.now = options.now ?? Date.now;
  }

  async create(key: string, value: string, lease?: number): Promise<TxnResult> {
    checkKey(key);
    checkValue(value);
    const leaseId = this.checkLeaseExists(checkLease(lease));
    const cur = this.current(key);
    if (cur) return { succeeded: false, revision: this.rev, kv: copy(cur) };
    return this.put(key, value, leaseId, undefined);
  }

  async update(key: string, value: string, expectedModRevision: number, lease?: number): Promise<TxnResult> {
    checkKey(key);
    checkValue(value);
    checkRevision("expectedModRevision", expectedModRevision);
    const leaseId = this.checkLeaseExists(checkLease(lease));
    const cur = this.current(key);
    if (!cur || cur.modRevision !== expectedModRevision) {
      return { succeeded: false, revision: this.rev, kv: copy(cur) };
    }
    return this.put(key, value, leaseId, cur);
  }

  async delete(key: string, expectedModRevision?: number): Promise<TxnResult> {
    checkKey(key);
    if (expectedModRevision !== undefined) checkRevision("expectedModRevision", expectedModRevision);
    const cur = this.current(key);
    if (!cur || (expectedModRevision !== undefined && cur.modRevision !== expectedModRevision)) {
      return { succeeded: false, revision: this.rev, kv: copy(cur) };
    }
    return this.remove(cur);
  }

  async get(key: string, revision?: number): Promise<{ kv?: KeyValue; revision: number }> {
    checkKey(key);
    const at = this.readRevision(checkRevision("revision", revision ?? 0));
    return { kv: copy(this.stateAt(key, at)), revision: at };
  }

  async list(prefix: string, options?: ListOptions): Promise<ListResult> {
    checkPrefix(prefix);
    const o = checkListOptions(options);
    const at = this.readRevision(o.revision);
    const keys = [...this.history.keys()]
      .filter((k) => k.startsWith(prefix) && k > o.startAfter)
      .sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const all: KeyValue[] = [];
    for (const k of keys) {
      const kv = this.stateAt(k, at);
      if (kv) all.push({ ...kv });
    }
    const kvs = o.limit > 0 ? all.slice(0, o.limit) : all;
    const remaining = all.length - kvs.length;
    return { kvs, revision: at, more: remaining > 0, remaining };
  }

  async count(prefix: string): Promise<{ count: number; revision: number }> {
    checkPrefix(prefix);
    let count = 0;
    for (const k of this.history.keys()) if (k.startsWith(prefix) && this.current(k)) count++;
    return { count, revision: this.rev };
  }

  watch(prefix: string, options: WatchOptions): AsyncIterable<WatchMessage> {
    // Validate eagerly but report through the stream, as the remote store does.
    const ch = new Channel<WatchMessage>(options?.signal);
    try {
      checkPrefix(prefix);
      const o = checkWatchOptions(options);
      if (o.afterRevision < this.compactedRev) {
        throw new StoreError("Compacted", `revision ${o.afterRevision} compacted (at ${this.compactedRev})`);
      }
      let sent = o.afterRevision;
      let timer: ReturnType<typeof setTimeout> | undefined;
      const arm = () => {
        if (o.progressIntervalMs <= 0 || ch.closed) return;
        if (timer !== undefined) clearTimeout(timer);
        timer = setTimeout(() => {
          ch.push({ type: "progress", revision: Math.max(this.rev, sent) });
          arm();
        }, o.progressIntervalMs);
      };
      const watcher: Watcher = {
        prefix,
        send: (events) => {
          // Drop anything at or below what was already sent: history and live may overlap.
          const fresh = events.filter((e) => e.kv.modRevision > sent && e.kv.key.startsWith(prefix));
          if (fresh.length === 0) return;
          sent = fresh[fresh.length - 1].kv.modRevision;
          ch.push({ type: "events", events: structuredClone(fresh) });
          arm();
        },
      };
      // Subscribe first, then replay history, then live: nothing falls in between.
      this.watchers.add(watcher);
      ch.onClose(() => {
        this.watchers.delete(watcher);
        if (timer !== undefined) clearTimeout(timer);
      });
      watcher.send(this.log.filter((e) => e.kv.modRevision > o.afterRevision));
      arm();
    } catch (err) {
      ch.fail(err);
    }
    return ch;
  }

  async revisions(_prefix?: string): Promise<{ current: number; compacted: number }> {
    return { current: this.rev, compacted: this.compactedRev };
  }

  async compact(revision: number, _prefix?: string): Promise<void> {
    checkRevision("revision", revision);
    if (revision > this.rev)
      throw new StoreError("FutureRevision", `revision ${revision} > current ${this.rev}`);
    if (revision <= this.compactedRev) return;
    this.log = this.log.filter((e) => e.kv.modRevision > revision);
    for (const [key, states] of this.history) {
      // Keep the state as of `revision` (the last entry at or below it) and everything after.
      let keepFrom = 0;
      for (let i = 0; i < states.length; i++) if (states[i].rev <= revision) keepFrom = i;
      const kept = states.slice(keepFrom);
      if (kept[0].rev <= revision && kept[0].kv === undefined) kept.shift();
      if (kept.length === 0) this.history.delete(key);
      else this.history.set(key, kept);
    }
    this.compactedRev = revision;
  }

  async leaseGrant(ttlSeconds: number): Promise<{ id: number; ttl: number }> {
    const ttl = checkTtl(ttlSeconds);
    const id = this.nextLease++;
    this.leases.set(id, { ttl, expiresAt: this.now() + ttl * 1000, keys: new Set() });
    return { id, ttl };
  }

  async leaseKeepAlive(id: number): Promise<{ id: number; ttl: number }> {
    const lease = this.liveLease(checkLease(id));
    lease.expiresAt = this.now() + lease.ttl * 1000;
    return { id, ttl: lease.ttl };
  }

  async leaseRevoke(id: number): Promise<void> {
    const leaseId = checkLease(id);
    if (!this.leases.has(leaseId)) throw new StoreError("LeaseNotFound", `lease ${id} not found`);
    this.revoke(leaseId);
  }

  /** Revokes every lease whose deadline has passed on the injected clock; returns how many. */
  async expireLeases(): Promise<number> {
    const now = this.now();
    let n = 0;
    for (const [id, lease] of this.leases) {
      if (lease.expiresAt <= now) {
        this.revoke(id);
        n++;
      }
    }
    return n;
  }

  private revoke(id: number): void {
    const lease = this.leases.get(id);
    if (!lease) return;
    this.leases.delete(id);
    for (const key of [...lease.keys].sort()) {
      const cur = this.current(key);
      if (cur && cur.lease === id) this.remove(cur);
    }
  }

  private checkLeaseExists(id: number): number {
    if (id !== 0) this.liveLease(id);
    return id;
  }

  private liveLease(id: number): Lease {
    const lease = this.leases.get(id);
    if (!lease || lease.expiresAt <= this.now())
      throw new StoreError("LeaseNotFound", `lease ${id} not found`);
    return lease;
  }

  private readRevision(rev: number): number {
    if (rev === 0) return this.rev;
    if (rev > this.rev) throw new StoreError("FutureRevision", `revision ${rev} > current ${this.rev}`);
    if (rev < this.compactedRev)
      throw new StoreError("Compacted", `revision ${rev} compacted (at ${this.compactedRev})`);
    return rev;
  }

  private current(key: string): KeyValue | undefined {
    const states = this.history.get(key);
    return states?.[states.length - 1].kv;
  }

  private stateAt(key: string, rev: number): KeyValue | undefined {
    const states = this.history.get(key);
    if (!states) return undefined;
    for (let i = states.length - 1; i >= 0; i--) if (states[i].rev <= rev) return states[i].kv;
    return undefined;
  }

  private put(key: string, value: string, lease: number, prev: KeyValue | undefined): TxnResult {
    const rev = ++this.rev;
    const kv: KeyValue = {
      key,
      value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    if (prev && prev.lease !== 0 && prev.lease !== lease) this.leases.get(prev.lease)?.keys.delete(key);
    if (lease !== 0) this.leases.get(lease)?.keys.add(key);
    this.append(key, kv, { type: "PUT", kv, prevKv: prev });
    return { succeeded: true, revision: rev, kv: { ...kv } };
  }

  private remove(prev: KeyValue): TxnResult {
    const rev = ++this.rev;
    if (prev.lease !== 0) this.leases.get(prev.lease)?.keys.delete(prev.key);
    const tomb: KeyValue = { ...prev, modRevision: rev, version: 0 };
    this.append(prev.key, undefined, { type: "DELETE", kv: tomb, prevKv: prev });
    return { succeeded: true, revision: rev, kv: { ...prev } };
  }

  private append(key: string, kv: KeyValue | undefined, event: WatchEvent): void {
    let states = this.history.get(key);
    if (!states) {
      states = [];
      this.history.set(key, states);
    }
    states.push({ rev: this.rev, kv });
    this.log.push(event);
    for (const w of this.watchers) if (key.startsWith(w.prefix)) w.send([event]);
  }
}

/** Callers get copies: mutating a result must never change the store. */
function copy(kv: KeyValue | undefined): KeyValue | undefined {
  return kv ? { ...kv } : undefined;
}
