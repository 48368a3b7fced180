/**
 * The Store over Durable Objects: each key goes to its shard's object
 * (shardFor → idFromName), list/count/watch of a prefix go to the prefix's
 * shard, and leases go to the lease authority. The API server calls
 * `createDurableStore(env.STORE)`.
 *
 * Watch rides a hibernatable WebSocket to the shard (measured far lower tail
 * latency than a streamed HTTP body); it is exposed as an AsyncIterable and
 * ends, closing the socket, on abort or when the consumer stops iterating.
 */
import { Channel } from "./channel.ts";
import type { StoreObject } from "./object.ts";
import { asStoreError, FrameReader, LEASE_AUTHORITY, type Result, unwrap } from "./rpc.ts";
import {
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  StoreError,
  type StoreErrorCode,
  shardFor,
  type TxnResult,
  type WatchMessage,
  type WatchOptions,
} from "./types.ts";
import { checkKey, checkListOptions, checkPrefix, checkWatchOptions } from "./validate.ts";

type Stub = DurableObjectStub<StoreObject>;

/** Calls the object and turns its answer (or a transport failure) into a value or StoreError. */
async function call<T>(fn: () => Promise<unknown>): Promise<T> {
  // Validation inside `fn` throws synchronously: it still surfaces as a rejected promise.
  let r: Result<T>;
  try {
    r = (await fn()) as Result<T>;
  } catch (e) {
    throw asStoreError(e);
  }
  return unwrap(r);
}

/**
 * Object ids by shard name, per namespace, for the isolate's life: the Worker
 * builds a store per request, and idFromName hashes the name each time. An id
 * is a plain value (unlike a stub, which belongs to the request that made it).
 */
const idCache = new WeakMap<object, Map<string, DurableObjectId>>();

/** A Store whose shards are the Durable Objects of `namespace` (the STORE binding). */
export function createDurableStore(namespace: DurableObjectNamespace<StoreObject>): Store {
  const ns = namespace;
  let ids = idCache.get(ns);
  if (!ids) {
    ids = new Map();
    idCache.set(ns, ids);
  }
  const stubs = new Map<string, Stub>();
  const stub = (name: string): Stub => {
    let s = stubs.get(name);
    if (!s) {
      let id = ids.get(name);
      if (!id) {
        id = ns.idFromName(name);
        ids.set(name, id);
      }
      s = ns.get(id);
      stubs.set(name, s);
    }
    return s;
  };
  const forKey = (key: string) => stub(shardFor(checkKey(key)));
  const forPrefix = (prefix: string) => stub(shardFor(checkPrefix(prefix)));
  const leases = () => stub(LEASE_AUTHORITY);

  return {
    create: (key, value, lease) => call<TxnResult>(() => forKey(key).create(key, value, lease)),
    get: (key, revision) => call<{ kv?: KeyValue; revision: number }>(() => forKey(key).get(key, revision)),
    list: (prefix, options?: ListOptions) =>
      call<ListResult>(() => {
        checkListOptions(options);
        return forPrefix(prefix).list(prefix, options);
      }),
    count: (prefix) => call<{ count: number; revision: number }>(() => forPrefix(prefix).count(prefix)),
    update: (key, value, expected, lease) =>
      call<TxnResult>(() => forKey(key).update(key, value, expected, lease)),
    delete: (key, expected) => call<TxnResult>(() => forKey(key).delete(key, expected)),
    watch: (prefix, options) => watchShard(() => forPrefix(prefix), prefix, options),
    // Revisions and compaction are per shard, so the shard must be named by a prefix.
    revisions: (prefix) =>
      call<{ current: number; compacted: number }>(() => forPrefix(needPrefix(prefix)).revisions()),
    compact: (revision, prefix) => call<void>(() => forPrefix(needPrefix(prefix)).compact(revision)),
    leaseGrant: (ttl) => call<{ id: number; ttl: number }>(() => leases().leaseGrant(ttl)),
    leaseKeepAlive: (id) => call<{ id: number; ttl: number }>(() => leases().leaseKeepAlive(id)),
    leaseRevoke: (id) => call<void>(() => leases().leaseRevoke(id)),
  };
}

function needPrefix(prefix: string | undefined): string {
  if (prefix === undefined) throw new StoreError("InvalidArgument", "a prefix naming the shard is required");
  return prefix;
}

/** Opens the shard's watch socket and adapts it to an AsyncIterable. */
function watchShard(shard: () => Stub, prefix: string, options: WatchOptions): AsyncIterable<WatchMessage> {
  const ch = new Channel<WatchMessage>(options?.signal);
  const open = async () => {
    const o = checkWatchOptions(options);
    const s = shard();
    checkPrefix(prefix);
    const url = `https://store/watch?prefix=${encodeURIComponent(prefix)}&after=${o.afterRevision}`;
    const resp = await s.fetch(url, { headers: { Upgrade: "websocket" } });
    const ws = resp.webSocket;
    if (resp.status !== 101 || !ws) {
      const body = (await resp.json().catch(() => ({}))) as { code?: StoreErrorCode; message?: string };
      throw new StoreError(body.code ?? "Unavailable", body.message ?? `watch refused: ${resp.status}`);
    }
    ws.accept();
    let sent = o.afterRevision;
    let timer: ReturnType<typeof setTimeout> | undefined;
    let heard = Date.now();
    // Progress is asked for when idle: the shard answers with a revision everything up to which was sent.
    // A message only notes the time; the timer, when it fires, waits out the rest of the quiet interval
    // (re-arming a timer per message cost more than the message's own handling under load).
    const tick = () => {
      timer = undefined;
      if (ch.closed) return;
      const quiet = Date.now() - heard;
      if (quiet < o.progressIntervalMs) {
        timer = setTimeout(tick, o.progressIntervalMs - quiet);
        return;
      }
      try {
        ws.send("progress");
      } catch {
        // Closing; the close handler ends the stream.
      }
      heard = Date.now();
      timer = setTimeout(tick, o.progressIntervalMs);
    };
    const arm = () => {
      heard = Date.now();
      if (o.progressIntervalMs <= 0 || ch.closed || timer !== undefined) return;
      timer = setTimeout(tick, o.progressIntervalMs);
    };
    const frames = new FrameReader();
    ws.addEventListener("message", (ev) => {
      const text = frames.push(ev.data as string);
      if (text === undefined) return;
      const msg = JSON.parse(text) as WatchMessage;
      if (msg.type === "events") {
        // Never repeat a revision already delivered.
        const events = msg.events.filter((e) => e.kv.modRevision > sent);
        if (events.length === 0) return;
        sent = events[events.length - 1].kv.modRevision;
        ch.push({ type: "events", events });
      } else {
        ch.push({ type: "progress", revision: Math.max(msg.revision, sent) });
      }
      arm();
    });
    ws.addEventListener("close", (ev) => ch.fail(new StoreError("Unavailable", `watch closed (${ev.code})`)));
    ws.addEventListener("error", () => ch.fail(new StoreError("Unavailable", "watch socket error")));
    ch.onClose(() => {
      if (timer !== undefined) clearTimeout(timer);
      try {
        ws.close(1000, "done");
      } catch {
        // Already closed.
      }
    });
    arm();
  };
  if (!ch.closed) open().catch((e) => ch.fail(asStoreError(e)));
  return ch;
}
