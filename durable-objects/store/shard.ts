/**
 * One shard's etcd semantics over its SQLite tables: reads at a revision, and
 * writes applied synchronously (the Durable Object batches them into one
 * commit, see object.ts). Kept free of Durable Object APIs so the logic reads
 * in one place; all SQL is in sql.ts.
 */
import { prefixEnd, type ShardSql } from "./sql.ts";
import { type KeyValue, type ListResult, StoreError, type TxnResult, type WatchEvent } from "./types.ts";
import type { checkListOptions } from "./validate.ts";

/** A validated write waiting for the next group commit. */
export type WriteOp =
  | { kind: "create"; key: string; value: string; lease: number }
  | { kind: "update"; key: string; value: string; expected: number; lease: number }
  | { kind: "delete"; key: string; expected?: number }
  | { kind: "revokeLease"; lease: number };

/** Bound of the hot-key cache: characters of values held, and keys. */
const HOT_CHARS = 8 * 1024 * 1024;
const HOT_KEYS = 20_000;

/** Reads and synchronous writes of one shard. */
export class Shard {
  /** Last revision written (applied; durable once the current batch commits). */
  rev: number;
  /** Oldest revision still answerable. */
  compacted: number;

  /**
   * Current state of recently used keys, least recently used first. This
   * object is the shard's only writer and every write goes through put() and
   * remove(), so an entry is exact; a batch that is rolled back calls
   * forget(). Saves the SQL read a get, a CAS or a delete of a hot key costs.
   */
  private readonly hot = new Map<string, KeyValue>();
  private hotChars = 0;

  constructor(readonly sql: ShardSql) {
    // Like etcd, an empty store is at revision 1.
    this.rev = sql.meta("rev", 1);
    this.compacted = sql.meta("compacted", 0);
  }

  /** Resolves a requested read revision (0 = current), or fails Compacted / FutureRevision. */
  readRevision(rev: number): number {
    if (rev === 0) return this.rev;
    if (rev > this.rev) throw new StoreError("FutureRevision", `revision ${rev} > current ${this.rev}`);
    if (rev < this.compacted)
      throw new StoreError("Compacted", `revision ${rev} compacted (at ${this.compacted})`);
    return rev;
  }

  get(key: string, revision: number): { kv?: KeyValue; revision: number } {
    const at = this.readRevision(revision);
    return { kv: at === this.rev ? this.current(key) : this.sql.at(key, at), revision: at };
  }

  list(prefix: string, options: ReturnType<typeof checkListOptions>): ListResult {
    const at = this.readRevision(options.revision);
    const lower = options.startAfter > prefix ? options.startAfter : prefix;
    const upper = prefixEnd(prefix);
    const current = at === this.rev;
    const kvs = current
      ? this.sql.listCurrent(lower, upper, options.limit)
      : this.sql.listAt(lower, upper, at, options.limit);
    let remaining = 0;
    if (options.limit > 0 && kvs.length === options.limit) {
      const total = current ? this.sql.countCurrent(lower, upper) : this.sql.countAt(lower, upper, at);
      remaining = total - kvs.length;
    }
    return { kvs, revision: at, more: remaining > 0, remaining };
  }

  count(prefix: string): { count: number; revision: number } {
    return { count: this.sql.countCurrent(prefix, prefixEnd(prefix)), revision: this.rev };
  }

  /** Applies one write, appending its events; a StoreError means it wrote nothing. */
  apply(op: WriteOp, events: WatchEvent[], leaseLive: (id: number) => boolean): TxnResult | undefined {
    switch (op.kind) {
      case "create": {
        if (op.lease !== 0 && !leaseLive(op.lease)) throw leaseNotFound(op.lease);
        const cur = this.current(op.key);
        if (cur) return { succeeded: false, revision: this.rev, kv: cur };
        return this.put(op.key, op.value, op.lease, undefined, events);
      }
      case "update": {
        if (op.lease !== 0 && !leaseLive(op.lease)) throw leaseNotFound(op.lease);
        const cur = this.current(op.key);
        if (!cur || cur.modRevision !== op.expected) return { succeeded: false, revision: this.rev, kv: cur };
        return this.put(op.key, op.value, op.lease, cur, events);
      }
      case "delete": {
        const cur = this.current(op.key);
        if (!cur || (op.expected !== undefined && cur.modRevision !== op.expected)) {
          return { succeeded: false, revision: this.rev, kv: cur };
        }
        return this.remove(cur, events);
      }
      case "revokeLease": {
        for (const kv of this.sql.keysWithLease(op.lease)) this.remove(kv, events);
        this.sql.localLeaseRevoke(op.lease);
        return undefined;
      }
    }
  }

  private put(key: string, value: string, lease: number, prev: KeyValue | undefined, events: WatchEvent[]) {
    const rev = ++this.rev;
    const kv: KeyValue = {
      key,
      value,
      createRevision: prev ? prev.createRevision : rev,
      modRevision: rev,
      version: prev ? prev.version + 1 : 1,
      lease,
    };
    this.sql.appendPut(kv, prev ? prev.modRevision : 0);
    this.remember(kv);
    events.push(prev ? { type: "PUT", kv, prevKv: prev } : { type: "PUT", kv });
    return { succeeded: true as const, revision: rev, kv };
  }

  private remove(prev: KeyValue, events: WatchEvent[]) {
    const rev = ++this.rev;
    this.sql.appendDelete(prev, rev);
    this.drop(prev.key);
    events.push({ type: "DELETE", kv: { ...prev, modRevision: rev, version: 0 }, prevKv: prev });
    return { succeeded: true as const, revision: rev, kv: prev };
  }

  /** Current state of a key: from the hot cache, else from SQL (and then cached). */
  private current(key: string): KeyValue | undefined {
    const hit = this.hot.get(key);
    if (hit) {
      this.hot.delete(key);
      this.hot.set(key, hit);
      return hit;
    }
    const kv = this.sql.current(key);
    if (kv) this.remember(kv);
    return kv;
  }

  private remember(kv: KeyValue): void {
    this.drop(kv.key);
    this.hot.set(kv.key, kv);
    this.hotChars += kv.value.length;
    while (this.hotChars > HOT_CHARS || this.hot.size > HOT_KEYS) {
      const oldest = this.hot.keys().next().value as string;
      this.drop(oldest);
    }
  }

  private drop(key: string): void {
    const old = this.hot.get(key);
    if (!old) return;
    this.hot.delete(key);
    this.hotChars -= old.value.length;
  }

  /** Empties the hot cache: writes it saw were rolled back. */
  forget(): void {
    this.hot.clear();
    this.hotChars = 0;
  }

  /** Marks history at or below `revision` unanswerable (rows are reclaimed later, in batches). */
  compactTo(revision: number): void {
    if (revision > this.rev)
      throw new StoreError("FutureRevision", `revision ${revision} > current ${this.rev}`);
    if (revision <= this.compacted) return;
    this.compacted = revision;
    this.sql.setMeta("compacted", revision);
  }

  /** Reclaims up to `batches` × `batchRevisions` revisions of dead rows; true when caught up. */
  reclaim(batchRevisions: number, batches: number): boolean {
    let cursor = this.sql.meta("compact_cursor", 0);
    for (let i = 0; i < batches && cursor < this.compacted; i++) {
      cursor = this.sql.compactBatch(cursor, this.compacted, batchRevisions);
    }
    this.sql.setMeta("compact_cursor", cursor);
    return cursor >= this.compacted;
  }
}

function leaseNotFound(id: number): StoreError {
  return new StoreError("LeaseNotFound", `lease ${id} not found`);
}
