/**
 * The watch cache (kube-apiserver's cacher, the watch half): one store watch
 * per resource per isolate, fanned out to every API watcher of that
 * resource, with a window of recent events so a watcher resuming from a
 * recent resourceVersion is served without a store watch of its own.
 *
 * workerd binds I/O objects (the store watch's WebSocket) to the request
 * that opened them, so the cache shares no I/O object between requests:
 * the upstream runs in its owner's request (the watcher that started it)
 * and hands events to the others as plain arrays, waking each through a
 * promise its own request created (workerd runs the continuation in that
 * request). When the owner leaves, it closes the upstream and wakes the
 * rest; the first to run reopens it, in its own request, after the last
 * revision the cache holds: the store replays what came in between, and
 * anything at or below that revision is dropped, so no event is lost or
 * repeated. Each watcher keeps a timer of its own (its bookmarks, and
 * pending I/O so that workerd does not judge a quiet watch hung), which
 * also restarts an upstream that went silent (an owner killed without
 * running its cleanup).
 *
 * The contract of every watch served here is Store.watch's: events after
 * the revision in order, none missed or repeated, progress when quiet,
 * StoreError Compacted when too old. A revision older than the window goes
 * to the store directly, which answers it from history or with Compacted.
 *
 * The read half (kube's watchCache store and waitUntilFreshAndBlock): the
 * first read that accepts a cached answer while the resource has a store
 * watch here loads the resource's full state with one store list, in its
 * own request; the store watch keeps it current from then on. `read` hands
 * that state out once it is as fresh as asked, waiting a bounded time for
 * the watch to catch up. Without a store watch (no watcher of the resource
 * in this isolate: nothing could keep a state current), while another read
 * loads it, or over the memory budget, the cache is not ready and `read`
 * says so: the caller reads the store, as kube does before its cacher is
 * initialised. The state goes with the feed when its last watcher leaves.
 */
import type { Store, WatchEvent, WatchMessage, WatchOptions } from "../../../durable-objects/store/types.ts";
import { ApiError } from "../../client/status.ts";
import { CacheState } from "./cache-state.ts";

/** Tuning of a watch cache; the defaults suit the Worker. */
export interface WatchCacheOptions {
  /** Recent events kept per resource for watchers resuming from a recent revision. */
  window?: number;
  /** The upstream asks the store for progress after this many quiet ms (and is deemed dead after 3×). */
  progressIntervalMs?: number;
  /** A watcher more than this many events behind is ended (kube closes slow watchers); it re-watches. */
  maxLag?: number;
  /** Clock (ms), for the upstream's liveness. */
  now?: () => number;
  /** Memory the isolate's cached states may hold, in bytes (CacheState.bytes); a state past it is dropped. */
  maxStateBytes?: number;
  /** How long a read waits for the cache to reach its resourceVersion (kube's blockTimeout, 3 s). */
  blockTimeoutMs?: number;
  /** Called for each read served from a cached state (metrics). */
  onRead?: (resourcePrefix: string, verb: "list" | "get") => void;
}

const DEFAULT_WINDOW = 1000;
const DEFAULT_PROGRESS_MS = 5000;
const DEFAULT_MAX_LAG = 10_000;
/** A third of a Worker isolate's 128 MB: room for 10,000 pods of ~2 KB with the window and the requests beside it. */
const DEFAULT_MAX_STATE_BYTES = 48 * 1024 * 1024;
const DEFAULT_BLOCK_TIMEOUT_MS = 3000;

/** One API watcher's view of a resource's feed. */
interface Sub {
  /** Keys it wants (a namespace's prefix, or the whole resource's). */
  prefix: string;
  /** Revision it has been sent everything up to. */
  after: number;
  /** Its request's store: used only from its own request, to reopen the upstream. */
  store: Store;
  queue: WatchEvent[];
  /** Resolves its pending wait; set while it waits. */
  wake?: () => void;
  ended: boolean;
  error?: unknown;
}

/** The upstream store watch of one resource and the watchers sharing it. */
interface Feed {
  prefix: string;
  subs: Set<Sub>;
  /** Recent events, ascending; every event above `windowStart` is here. */
  log: WatchEvent[];
  windowStart: number;
  /** Revision everything up to which has been received (events or progress). */
  current: number;
  upstream?: { owner: Sub; abort: AbortController };
  lastHeard: number;
  /** Every object of the resource, once a read loaded it; kept current by `receive`. */
  state?: CacheState;
  /** Set while a read loads the state: the events received meanwhile, applied after its list. */
  pending?: WatchEvent[];
  /** The state outgrew the budget: this feed serves no reads (they go to the store). */
  stateless?: boolean;
  /** Reads waiting for the state to reach their revision, woken on every message (each in its own request). */
  waiters: Set<() => void>;
}

/** Shared store watches of one isolate: `watch` has Store.watch's contract. */
export class WatchCache {
  private readonly feeds = new Map<string, Feed>();
  private readonly window: number;
  private readonly progressMs: number;
  private readonly maxLag: number;
  private readonly now: () => number;
  private readonly maxStateBytes: number;
  private readonly blockTimeoutMs: number;
  private readonly onRead?: WatchCacheOptions["onRead"];

  constructor(options: WatchCacheOptions = {}) {
    this.window = options.window ?? DEFAULT_WINDOW;
    this.progressMs = options.progressIntervalMs ?? DEFAULT_PROGRESS_MS;
    this.maxLag = options.maxLag ?? DEFAULT_MAX_LAG;
    this.now = options.now ?? Date.now;
    this.maxStateBytes = options.maxStateBytes ?? DEFAULT_MAX_STATE_BYTES;
    this.blockTimeoutMs = options.blockTimeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS;
    this.onRead = options.onRead;
  }

  /** Watchers now sharing `resourcePrefix`'s upstream (for tests and metrics). */
  watchers(resourcePrefix: string): number {
    return this.feeds.get(resourcePrefix)?.subs.size ?? 0;
  }

  /**
   * Store.watch of `prefix` (inside `resourcePrefix`, the resource's whole
   * collection), served from the resource's shared upstream; `store` is the
   * calling request's, used if this watcher has to (re)open the upstream.
   * Like the store's, the watcher is registered by this call, not when
   * iteration starts.
   */
  watch(
    store: Store,
    resourcePrefix: string,
    prefix: string,
    options: WatchOptions,
  ): AsyncIterable<WatchMessage> {
    const { signal } = options;
    let feed = this.feeds.get(resourcePrefix);
    // Older than the window: the store's history answers it (or says Compacted).
    if (feed && options.afterRevision < feed.windowStart) return store.watch(prefix, options);
    if (signal?.aborted) return (async function* () {})();
    if (!feed) {
      feed = {
        prefix: resourcePrefix,
        subs: new Set(),
        log: [],
        windowStart: options.afterRevision,
        current: options.afterRevision,
        lastHeard: this.now(),
        waiters: new Set(),
      };
      this.feeds.set(resourcePrefix, feed);
    }
    const sub: Sub = { prefix, after: options.afterRevision, store, queue: [], ended: false };
    for (const e of feed.log)
      if (e.kv.modRevision > sub.after && e.kv.key.startsWith(prefix)) sub.queue.push(e);
    feed.subs.add(sub);
    if (!feed.upstream) this.open(feed, sub);
    return this.consume(feed, sub, options);
  }

  /** One watcher's messages: its queue, drained in batches, and progress when it is quiet. */
  private async *consume(feed: Feed, sub: Sub, options: WatchOptions): AsyncGenerator<WatchMessage> {
    const { signal } = options;
    const wakeUp = () => sub.wake?.();
    // This watcher's own timer (created in its request): bookmarks when quiet, and the upstream's liveness.
    let quiet = true;
    let progressDue = false;
    const progressMs = options.progressIntervalMs ?? 0;
    const timer = setInterval(
      () => {
        if (progressMs > 0 && quiet) progressDue = true;
        quiet = true;
        if (feed.upstream && this.now() - feed.lastHeard > 3 * this.progressMs) this.abandon(feed);
        wakeUp();
      },
      progressMs > 0 ? Math.min(progressMs, this.progressMs) : this.progressMs,
    );
    let left = false;
    const cleanup = () => {
      if (left) return;
      left = true;
      clearInterval(timer);
      signal?.removeEventListener("abort", onAbort);
      this.leave(feed, sub);
    };
    // Aborted before or while iterating: leave at once, even if nobody iterates again.
    const onAbort = () => {
      sub.ended = true;
      cleanup();
      wakeUp();
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    try {
      for (;;) {
        if (sub.queue.length > 0) {
          // Everything queued goes as one batch: a watcher that fell behind catches up in one write.
          const events = sub.queue;
          sub.queue = [];
          sub.after = events[events.length - 1].kv.modRevision;
          quiet = false;
          progressDue = false;
          yield { type: "events", events };
          continue;
        }
        if (sub.error !== undefined) throw sub.error;
        if (sub.ended) return;
        if (!feed.upstream) this.open(feed, sub);
        if (progressDue) {
          progressDue = false;
          yield { type: "progress", revision: Math.max(feed.current, sub.after) };
          continue;
        }
        await new Promise<void>((resolve) => {
          sub.wake = resolve;
        });
        sub.wake = undefined;
      }
    } finally {
      cleanup();
    }
  }

  /**
   * The state of the resource under `resourcePrefix` for a read that accepts
   * a cached answer at least as fresh as `minRevision` (0: any), as kube's
   * cacher serves resourceVersion="0" and NotOlderThan reads. Waits up to the
   * block timeout for the store watch to reach `minRevision`, then fails
   * with kube's 504 "Too large resource version". Undefined when the cache
   * is not ready (see the top of this file): read the store instead. The
   * caller reads the state synchronously: the next event may change it.
   */
  async read(
    store: Store,
    resourcePrefix: string,
    minRevision: number,
    verb: "list" | "get",
  ): Promise<CacheState | undefined> {
    const feed = this.feeds.get(resourcePrefix);
    if (!feed?.upstream || feed.stateless) return undefined;
    if (!feed.state && !(await this.load(feed, store))) return undefined;
    if (!(await this.fresh(feed, minRevision))) return undefined;
    this.onRead?.(resourcePrefix, verb);
    return feed.state;
  }

  /** Loads the feed's state with one store list, in the calling read's request; false if it cannot now. */
  private async load(feed: Feed, store: Store): Promise<boolean> {
    // Another read is loading it: this one reads the store rather than list twice.
    if (feed.pending) return false;
    const pending: WatchEvent[] = [];
    feed.pending = pending;
    try {
      const { kvs, revision } = await store.list(feed.prefix);
      if (feed.pending !== pending || this.feeds.get(feed.prefix) !== feed) return false;
      // Events after the list's revision arrived while it ran (they are above what the feed had when it began).
      const state = new CacheState(kvs, revision);
      state.apply(pending);
      state.advance(feed.current);
      if (this.stateBytes() + state.bytes > this.maxStateBytes) {
        feed.stateless = true;
        return false;
      }
      feed.state = state;
      return true;
    } catch {
      // The store read fails again, with its own error, when the caller falls back to it.
      return false;
    } finally {
      if (feed.pending === pending) feed.pending = undefined;
    }
  }

  /**
   * Waits until the feed's state reflects `minRevision` (kube's
   * waitUntilFreshAndBlock); false if the state went away meanwhile.
   * Every revision of an unsplit resource's shard is one of its events, so
   * a live watch reaches any revision the store has handed out promptly.
   */
  private async fresh(feed: Feed, minRevision: number): Promise<boolean> {
    const deadline = this.now() + this.blockTimeoutMs;
    for (;;) {
      const state = feed.state;
      if (!state || this.feeds.get(feed.prefix) !== feed) return false;
      if (state.revision >= minRevision) return true;
      const left = deadline - this.now();
      if (left <= 0) throw tooLargeResourceVersion(minRevision, state.revision);
      // Woken by the feed (from the upstream owner's request) through a promise this request made, or by its own timer.
      let wake = () => {};
      const timer = setTimeout(() => wake(), left);
      await new Promise<void>((resolve) => {
        wake = resolve;
        feed.waiters.add(resolve);
      });
      clearTimeout(timer);
      feed.waiters.delete(wake);
    }
  }

  private wakeReaders(feed: Feed): void {
    for (const wake of feed.waiters) wake();
    feed.waiters.clear();
  }

  /** Bytes held by every feed's state (the budget is the isolate's). */
  private stateBytes(): number {
    let total = 0;
    for (const feed of this.feeds.values()) total += feed.state?.bytes ?? 0;
    return total;
  }

  /** The state outgrew the budget: drop it; the feed's reads go to the store from now on. */
  private dropState(feed: Feed): void {
    feed.state = undefined;
    feed.stateless = true;
  }

  /** Opens the feed's upstream in `owner`'s request, after the last revision the feed holds. */
  private open(feed: Feed, owner: Sub): void {
    const abort = new AbortController();
    const upstream = { owner, abort };
    feed.upstream = upstream;
    feed.lastHeard = this.now();
    const stream = owner.store.watch(feed.prefix, {
      afterRevision: feed.current,
      progressIntervalMs: this.progressMs,
      signal: abort.signal,
    });
    (async () => {
      for await (const message of stream) {
        if (feed.upstream !== upstream) return;
        this.receive(feed, message);
      }
      if (feed.upstream === upstream && !abort.signal.aborted) this.fail(feed, new Error("watch ended"));
    })().catch((error) => {
      if (feed.upstream === upstream && !abort.signal.aborted) this.fail(feed, error);
    });
  }

  /** Hands one upstream message to every watcher (plain data; each watcher wakes in its own request). */
  private receive(feed: Feed, message: WatchMessage): void {
    feed.lastHeard = this.now();
    if (message.type === "progress") {
      feed.current = Math.max(feed.current, message.revision);
      feed.state?.advance(feed.current);
      for (const sub of feed.subs) sub.wake?.();
      this.wakeReaders(feed);
      return;
    }
    // A reopened upstream replays from the feed's revision: drop anything already held.
    const events = message.events.filter((e) => e.kv.modRevision > feed.current);
    if (events.length === 0) return;
    feed.current = events[events.length - 1].kv.modRevision;
    if (feed.pending) feed.pending.push(...events);
    if (feed.state) {
      feed.state.apply(events);
      if (this.stateBytes() > this.maxStateBytes) this.dropState(feed);
    }
    this.wakeReaders(feed);
    for (const e of events) feed.log.push(e);
    if (feed.log.length > this.window) {
      const dropped = feed.log.splice(0, feed.log.length - this.window);
      feed.windowStart = dropped[dropped.length - 1].kv.modRevision;
    }
    for (const sub of feed.subs) {
      for (const e of events)
        if (e.kv.modRevision > sub.after && e.kv.key.startsWith(sub.prefix)) sub.queue.push(e);
      if (sub.queue.length > this.maxLag) {
        // Too slow: end it (it re-watches from what it got), as kube's cacher closes a blocked watcher.
        sub.queue = [];
        sub.ended = true;
      }
      if (sub.queue.length > 0 || sub.ended) sub.wake?.();
    }
  }

  /** The upstream failed: every watcher of the feed ends with the error, and the feed starts afresh. */
  private fail(feed: Feed, error: unknown): void {
    feed.upstream = undefined;
    if (this.feeds.get(feed.prefix) === feed) this.feeds.delete(feed.prefix);
    for (const sub of feed.subs) {
      sub.error = error;
      sub.wake?.();
    }
    this.wakeReaders(feed);
  }

  /**
   * The upstream went silent (its owner's request died without cleanup):
   * drop it, best effort closing it, and let a live watcher reopen it.
   */
  private abandon(feed: Feed): void {
    const upstream = feed.upstream;
    feed.upstream = undefined;
    try {
      upstream?.abort.abort();
    } catch {
      // Its request is gone; the socket goes with it.
    }
  }

  /** A watcher left; its upstream, if it owned it, passes to the others (or closes with the last). */
  private leave(feed: Feed, sub: Sub): void {
    feed.subs.delete(sub);
    const upstream = feed.upstream;
    if (!upstream || upstream.owner !== sub) return;
    // Closed from its owner's request, the only one allowed to.
    feed.upstream = undefined;
    upstream.abort.abort();
    if (feed.subs.size === 0) {
      if (this.feeds.get(feed.prefix) === feed) this.feeds.delete(feed.prefix);
      // Nothing keeps the state current any more: waiting reads go to the store.
      this.wakeReaders(feed);
      return;
    }
    // The first to run reopens it in its own request (serve's loop).
    for (const other of feed.subs) other.wake?.();
  }
}

/** kube's storage.NewTooLargeResourceVersionError: 504 Timeout, retry after a second. */
function tooLargeResourceVersion(wanted: number, current: number): ApiError {
  return new ApiError("Timeout", `Too large resource version: ${wanted}, current: ${current}`, {
    causes: [{ reason: "ResourceVersionTooLarge", message: "Too large resource version" }],
    retryAfterSeconds: 1,
  });
}
