/**
 * A hot resource split over N sub-shards (issue 20: one Durable Object caps
 * near 1,000 requests/s, and every node writes pod status into one object).
 *
 * A sub-shard is an ordinary shard whose resource segment names it:
 * `/registry/core/pods/ns/web` lives at `/registry/core/pods#2/ns/web` when
 * `core/pods` has 4 sub-shards and hash("ns/web") % 4 = 2. The base store
 * needs no change (the durable store gives `core/pods#2` its own object and
 * its own revisions); `#` can never appear in a real resource name.
 *
 * Key operations route to the key's sub-shard and return the physical key
 * in `kv.key` (so a later CAS by that key goes straight there). Reads over a
 * collection are at a revision *vector*, one revision per sub-shard:
 * `listAt` merges N lists at that vector in key order (pages pinned to it),
 * `watchFrom` merges N watches resumed from it. An unsharded collection is a
 * vector of length 1, so callers have one path. The numeric list / watch /
 * revisions / compact of the Store interface refuse a sharded collection by
 * name: a single number cannot say where each sub-shard is.
 */
import { Channel } from "./channel.ts";
import {
  type KeyValue,
  type Store,
  StoreError,
  shardFor,
  type WatchEvent,
  type WatchMessage,
} from "./types.ts";
import { checkListOptions } from "./validate.ts";

/** `<group>/<resource>` → number of sub-shards (absent or 1: not split). */
export type ShardMap = Readonly<Record<string, number>>;

/** Parse the STORE_SHARDS setting: `core/pods=4,apps/replicasets=2` (empty/unset: nothing split). */
export function parseShardMap(text: string | undefined): ShardMap {
  const map: Record<string, number> = {};
  for (const part of (text ?? "").split(",")) {
    const entry = part.trim();
    if (!entry) continue;
    const m = /^([a-z0-9.-]+\/[a-z0-9-]+)=(\d{1,3})$/.exec(entry);
    if (!m || Number(m[2]) < 1)
      throw new StoreError("InvalidArgument", `invalid STORE_SHARDS entry "${entry}"`);
    if (Number(m[2]) > 1) map[m[1]] = Number(m[2]);
  }
  return map;
}

/** The sub-shard index a physical key or prefix names (`pods#2` → 2), or undefined for an unsharded one. */
export function subShardOf(key: string): number | undefined {
  // "", "registry", group, resource#i, ...
  const resource = key.split("/", 4)[3] ?? "";
  const at = resource.indexOf("#");
  return at < 0 ? undefined : Number(resource.slice(at + 1));
}

/** FNV-1a over the key's namespace/name: stable across isolates and releases (it decides where data lives). */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/** A collection read at a revision vector. */
export interface VectorList {
  /** In key order (by the part after the resource), with physical keys. */
  kvs: KeyValue[];
  /** Each sub-shard's revision the page was read at. */
  revisions: number[];
  more: boolean;
  remaining: number;
}

/** What a merged watch yields: events of one sub-shard, or a vector everything up to which was sent. */
export type VectorWatchMessage =
  | {
      type: "events";
      events: WatchEvent[];
      /** The sub-shard the events are from. */
      shard: number;
      /** The vector delivered before these events: with [shard] = an event's modRevision, where to resume after it. */
      before: number[];
    }
  | { type: "progress"; revisions: number[] };

/** A Store that may split resources over sub-shards, with reads over a collection at a revision vector. */
export interface ShardedStore extends Store {
  /** Number of sub-shards of the collection under `prefix` (1 if not split). */
  shardCount(prefix: string): number;
  /** One page of `prefix` at `revisions` (absent: now), after the logical key `startAfter`. */
  listAt(
    prefix: string,
    options?: { revisions?: number[]; limit?: number; startAfter?: string },
  ): Promise<VectorList>;
  /** Every change under `prefix` after `after` (one revision per sub-shard), merged. */
  watchFrom(
    prefix: string,
    options: { after: number[]; progressIntervalMs?: number; signal?: AbortSignal },
  ): AsyncIterable<VectorWatchMessage>;
  /** Current revision of each sub-shard of `prefix`. */
  currentRevisions(prefix: string): Promise<number[]>;
  /**
   * For a key of a split resource, a vector no sub-shard is behind (what
   * this isolate has seen written, listed or watched), with the key's own
   * sub-shard at `revision`: a place to resume that misses nothing.
   * Undefined for an unsharded key.
   */
  floor(key: string, revision: number): number[] | undefined;
}

/** An empty shard's revision: a floor below every write (0 would mean "now" to list). */
const EMPTY = 1;

/** Per shard map (one per isolate and setting): each split collection's highest revisions seen. */
const seen = new WeakMap<ShardMap, Map<string, number[]>>();

/** `base` with the resources in `map` split over sub-shards. */
export function createShardedStore(base: Store, map: ShardMap): ShardedStore {
  const split = Object.keys(map).length > 0;
  /** [resource prefix "/registry/g/r", rest after it incl. leading "/", shard count]. */
  const parse = (key: string): [string, string, number] => {
    const parts = key.split("/", 4);
    const head = parts.join("/");
    return [head, key.slice(head.length), map[`${parts[2]}/${parts[3]}`] ?? 1];
  };
  const sub = (head: string, i: number, rest: string) => `${head}#${i}${rest}`;
  const route = (key: string): string => {
    if (!split) return key;
    shardFor(key); // a bad key fails as it would unsharded
    const [head, rest, n] = parse(key);
    if (n === 1 || head.includes("#")) return key;
    return sub(head, hash(rest.slice(1)) % n, rest);
  };
  /** The sub-shard prefixes of a collection prefix (itself when not split). */
  const prefixes = (prefix: string): string[] => {
    if (!split) return [prefix];
    const [head, rest, n] = parse(prefix);
    if (n === 1 || head.includes("#")) return [prefix];
    return Array.from({ length: n }, (_, i) => sub(head, i, rest));
  };
  const single = (prefix: string, what: string): string => {
    const p = prefixes(prefix);
    if (p.length > 1)
      throw new StoreError(
        "InvalidArgument",
        `${what} of ${prefix}: it spans ${p.length} sub-shards (use a vector)`,
      );
    return p[0];
  };
  const table = seen.get(map) ?? new Map<string, number[]>();
  seen.set(map, table);
  /** Raise what is known of the collection at `head` (its "/registry/g/r" part) to `v` (by sub-shard). */
  const observe = (head: string, n: number, shard: number, revision: number): void => {
    let v = table.get(head);
    if (!v || v.length !== n) {
      v = new Array<number>(n).fill(EMPTY);
      table.set(head, v);
    }
    if (revision > v[shard]) v[shard] = revision;
  };
  const observeKey = <T extends { revision: number }>(key: string, result: T): T => {
    const shard = split ? subShardOf(key) : undefined;
    if (shard !== undefined) {
      const [head, , n] = parse(logicalKey(key));
      observe(head, n, shard, result.revision);
    }
    return result;
  };
  const vector = (prefix: string, v: number[] | undefined, n: number): void => {
    if (v !== undefined && v.length !== n)
      throw new StoreError(
        "InvalidArgument",
        `revision vector of ${v.length} for ${prefix}, which has ${n} sub-shards`,
      );
  };

  return {
    create: (key, value, lease) => {
      const k = route(key);
      return base.create(k, value, lease).then((r) => observeKey(k, r));
    },
    get: (key, revision) => {
      const k = route(key);
      return base.get(k, revision).then((r) => observeKey(k, r));
    },
    update: (key, value, expected, lease) => {
      const k = route(key);
      return base.update(k, value, expected, lease).then((r) => observeKey(k, r));
    },
    delete: (key, expected) => {
      const k = route(key);
      return base.delete(k, expected).then((r) => observeKey(k, r));
    },
    floor(key, revision) {
      // Every object read asks: an unsplit store answers without looking at the key.
      if (!split) return undefined;
      const shard = subShardOf(key);
      if (shard === undefined) return undefined;
      const [head, , n] = parse(logicalKey(key));
      const v = [...(table.get(head) ?? new Array<number>(n).fill(EMPTY))];
      v[shard] = revision;
      return v;
    },
    // Refusals surface as a rejection / the watch's first error, as every Store's do.
    list: async (prefix, options) => base.list(single(prefix, "list"), options),
    watch: (prefix, options) => lazyWatch(() => base.watch(single(prefix, "watch"), options)),
    revisions: async (prefix) => base.revisions(prefix === undefined ? prefix : single(prefix, "revisions")),
    compact: async (revision, prefix) =>
      base.compact(revision, prefix === undefined ? prefix : single(prefix, "compact")),
    count: async (prefix) => {
      const parts = await Promise.all(prefixes(prefix).map((p) => base.count(p)));
      return { count: parts.reduce((s, c) => s + c.count, 0), revision: parts[0].revision };
    },
    leaseGrant: (ttl) => base.leaseGrant(ttl),
    leaseKeepAlive: (id) => base.leaseKeepAlive(id),
    leaseRevoke: (id) => base.leaseRevoke(id),
    shardCount: (prefix) => prefixes(prefix).length,
    currentRevisions: async (prefix) =>
      Promise.all(prefixes(prefix).map(async (p) => (await base.revisions(p)).current)),

    async listAt(prefix, options = {}) {
      const subs = prefixes(prefix);
      checkListOptions({ revision: 0, limit: options.limit, startAfter: options.startAfter });
      vector(prefix, options.revisions, subs.length);
      const [head] = parse(prefix);
      const restOf = (key: string) => key.slice(key.indexOf("/", head.length + 1));
      const after = options.startAfter === undefined ? undefined : parse(options.startAfter)[1];
      const pages = await Promise.all(
        subs.map((p, i) =>
          base.list(p, {
            revision: options.revisions?.[i],
            limit: options.limit,
            startAfter:
              after === undefined ? undefined : `${subs.length > 1 ? sub(head, i, "") : head}${after}`,
          }),
        ),
      );
      const revisions = pages.map((page) => page.revision);
      if (pages.length === 1) return { ...pages[0], revisions };
      for (const [i, r] of revisions.entries()) observe(head, subs.length, i, r);
      const kvs = mergeByKey(
        pages.map((page) => page.kvs),
        restOf,
        options.limit,
      );
      const total = pages.reduce((s, page) => s + page.kvs.length + page.remaining, 0);
      const remaining = total - kvs.length;
      return { kvs, revisions, more: remaining > 0, remaining };
    },

    watchFrom(prefix, options) {
      const subs = prefixes(prefix);
      const out = new Channel<VectorWatchMessage>(options.signal);
      try {
        vector(prefix, options.after, subs.length);
      } catch (e) {
        out.fail(e);
        return out;
      }
      const at = [...options.after];
      const [head] = parse(prefix);
      const stop = new AbortController();
      out.onClose(() => stop.abort());
      subs.forEach((p, i) => {
        const stream = base.watch(p, {
          afterRevision: at[i],
          progressIntervalMs: options.progressIntervalMs,
          signal: stop.signal,
        });
        pump(stream, (message: WatchMessage) => {
          if (message.type === "events") {
            const before = [...at];
            at[i] = message.events[message.events.length - 1].kv.modRevision;
            if (subs.length > 1) observe(head, subs.length, i, at[i]);
            out.push({ type: "events", events: message.events, shard: i, before });
          } else {
            at[i] = Math.max(at[i], message.revision);
            out.push({ type: "progress", revisions: [...at] });
          }
        }).then(
          () => out.close(),
          (e) => out.fail(e),
        );
      });
      return out;
    },
  };
}

/** A watch opened on first iteration, so an argument error is its first error. */
async function* lazyWatch(open: () => AsyncIterable<WatchMessage>): AsyncGenerator<WatchMessage> {
  yield* open();
}

/** Feed every message of `stream` to `fn`; resolves when it ends. */
async function pump(stream: AsyncIterable<WatchMessage>, fn: (m: WatchMessage) => void): Promise<void> {
  for await (const message of stream) fn(message);
}

/** K-way merge of key-ordered lists by `order(key)`, at most `limit` items (0/undefined: all). */
function mergeByKey(lists: KeyValue[][], order: (key: string) => string, limit?: number): KeyValue[] {
  const max = limit && limit > 0 ? limit : Number.POSITIVE_INFINITY;
  const pos = lists.map(() => 0);
  const heads = lists.map((l) => (l.length > 0 ? order(l[0].key) : undefined));
  const out: KeyValue[] = [];
  while (out.length < max) {
    let best = -1;
    for (let i = 0; i < lists.length; i++) {
      const h = heads[i];
      if (h !== undefined && (best < 0 || h < (heads[best] as string))) best = i;
    }
    if (best < 0) break;
    out.push(lists[best][pos[best]]);
    pos[best]++;
    heads[best] = pos[best] < lists[best].length ? order(lists[best][pos[best]].key) : undefined;
  }
  return out;
}

/** The logical key of a physical one (`/registry/core/pods#2/ns/web` → `/registry/core/pods/ns/web`). */
export function logicalKey(key: string): string {
  const parts = key.split("/", 4);
  const resource = parts[3] ?? "";
  const at = resource.indexOf("#");
  if (at < 0) return key;
  const head = parts.join("/");
  return `${head.slice(0, head.length - (resource.length - at))}${key.slice(head.length)}`;
}
