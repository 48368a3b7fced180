/**
 * The full current state of one resource held by the watch cache (kube's
 * watchCache store): every key's latest KeyValue, loaded from one store
 * list and kept current by the resource's store watch, so lists and gets
 * that accept a cached answer are served without reading the store.
 *
 * It holds the store's KeyValues themselves (the stored JSON text, never
 * decoded objects): the same strings the watch window shares, and the text
 * a JSON list sends unchanged (Registry.encodeRead). Keys are kept sorted
 * on demand, as the store lists them, so a namespace is a contiguous range.
 */
import type { KeyValue, WatchEvent } from "../../../durable-objects/store/types.ts";

/** Approximate bytes one KeyValue holds (its strings as UTF-16, plus the object). */
function sizeOf(kv: KeyValue): number {
  return 2 * (kv.key.length + kv.value.length) + 64;
}

/** One resource's objects as of `revision`. */
export class CacheState {
  private readonly kvs = new Map<string, KeyValue>();
  /** Keys in order; undefined after a key was added or removed, rebuilt by the next range. */
  private sorted?: string[];
  /** Everything up to this revision is reflected (events applied, or progress seen). */
  revision: number;
  /** Approximate memory held, for the cache's budget. */
  bytes = 0;

  /** The state of a store list `kvs` read at `revision`. */
  constructor(kvs: KeyValue[], revision: number) {
    for (const kv of kvs) {
      this.kvs.set(kv.key, kv);
      this.bytes += sizeOf(kv);
    }
    this.sorted = kvs.map((kv) => kv.key).sort();
    this.revision = revision;
  }

  /** Number of objects held. */
  get size(): number {
    return this.kvs.size;
  }

  /** Applies watch events in order; those at or below `revision` are already reflected (the list saw them). */
  apply(events: readonly WatchEvent[]): void {
    for (const e of events) {
      if (e.kv.modRevision <= this.revision) continue;
      const old = this.kvs.get(e.kv.key);
      if (old) this.bytes -= sizeOf(old);
      else if (e.type === "PUT") this.sorted = undefined;
      if (e.type === "PUT") {
        this.kvs.set(e.kv.key, e.kv);
        this.bytes += sizeOf(e.kv);
      } else if (old) {
        this.kvs.delete(e.kv.key);
        this.sorted = undefined;
      }
      this.revision = e.kv.modRevision;
    }
  }

  /** The store has sent everything up to `revision` (a progress notification, or events the caller filtered). */
  advance(revision: number): void {
    if (revision > this.revision) this.revision = revision;
  }

  /** The current KeyValue of `key`, if present. */
  get(key: string): KeyValue | undefined {
    return this.kvs.get(key);
  }

  /** The KeyValues whose keys start with `prefix`, in key order (the store's list order). */
  range(prefix: string): KeyValue[] {
    this.sorted ??= [...this.kvs.keys()].sort();
    const keys = this.sorted;
    // Binary search for the first key >= prefix: a namespace is read without scanning the others.
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (keys[mid] < prefix) lo = mid + 1;
      else hi = mid;
    }
    const out: KeyValue[] = [];
    for (let i = lo; i < keys.length && keys[i].startsWith(prefix); i++)
      out.push(this.kvs.get(keys[i]) as KeyValue);
    return out;
  }
}
