/**
 * ?watch=true: newline-delimited JSON WatchEvents over a chunked response.
 * resourceVersion unset/"0" sends a synthetic ADDED per current object first;
 * otherwise every change after that revision, none missed (the store's watch
 * replays history then streams). Selectors apply per event, so an object
 * leaving the selection is a DELETED for this watcher and one entering is an
 * ADDED. Too old → an ERROR event carrying a 410 Expired Status.
 */

import type { VectorWatchMessage } from "../../../durable-objects/store/sharded.ts";
import {
  type KeyValue,
  StoreError,
  type WatchEvent as StoreEvent,
  type WatchMessage,
} from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import {
  collectionPrefix,
  isAnyVersion,
  objectResourceVersion,
  parseResourceVersion,
  vectorOf,
  vectorResourceVersion,
} from "./keys.ts";
import type { Registry } from "./registry.ts";
import { everything, type Matcher } from "./selectors.ts";
import { type IncludeObject, toTable } from "./table.ts";
import type { ResourceInfo } from "./types.ts";

/** One event on the wire. */
export interface WireEvent {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: unknown;
  /** The store state the object came from (lets watchers share one encoding). */
  kv?: KeyValue;
  /** The object's resourceVersion in this watch (a sharded resource's carries where this watch is: keys.ts). */
  rv?: string;
}

/**
 * Encoded objects per store event, shared by every watcher that receives the
 * same event object (the in-memory store fans one event out to all watchers).
 */
const encoded = new WeakMap<KeyValue, string>();

/** What a watch request asked for. */
export interface WatchRequest {
  namespace?: string;
  match: Matcher;
  resourceVersion?: string;
  allowWatchBookmarks: boolean;
  sendInitialEvents?: boolean;
  timeoutSeconds?: number;
  /** Serve each event's object as a one-row Table. */
  table?: { include: IncludeObject };
  /** How often a quiet watch gets a BOOKMARK (ms). */
  bookmarkIntervalMs?: number;
}

/** Map one store event to the event this watcher sees (or none), honouring the selector. */
function translate(
  registry: Registry,
  info: ResourceInfo,
  event: StoreEvent,
  match: Matcher,
  rv: string,
): WireEvent | undefined {
  const kv = event.kv;
  if (match === everything) {
    // No selector: no need to decode anything but lazily, once per event, when it is sent.
    const type = event.type === "DELETE" ? "DELETED" : event.prevKv ? "MODIFIED" : "ADDED";
    return { type, object: undefined, kv, rv };
  }
  const object = registry.decode(kv, info);
  object.metadata!.resourceVersion = rv;
  if (event.type === "DELETE") return match(object) ? { type: "DELETED", object, kv, rv } : undefined;
  const now = match(object);
  if (!event.prevKv) return now ? { type: "ADDED", object, kv, rv } : undefined;
  const before = match(registry.decode(event.prevKv, info));
  if (now) return { type: before ? "MODIFIED" : "ADDED", object, kv, rv };
  return before ? { type: "DELETED", object, kv, rv } : undefined;
}

/** Initial ADDED events go out this many to a write, as lists stream their items. */
const INITIAL_BATCH = 256;

/**
 * The events of a watch as an async iterable of batches (initial ADDED
 * events, then changes): a batch is what the store handed over at once,
 * written to the client in one chunk, so a watcher that fell behind
 * catches up in one write instead of one per event.
 */
async function* watchEvents(
  registry: Registry,
  info: ResourceInfo,
  req: WatchRequest,
  signal: AbortSignal,
): AsyncGenerator<WireEvent[]> {
  const rv = parseResourceVersion(req.resourceVersion);
  const prefix = collectionPrefix(info, req.namespace);
  const shards = registry.store.shardCount(prefix);
  let after: number[];
  const bookmark = (revision: string, extra: Record<string, string> = {}): WireEvent => ({
    type: "BOOKMARK",
    object: {
      kind: info.kind,
      apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
      metadata: { resourceVersion: revision, ...(Object.keys(extra).length ? { annotations: extra } : {}) },
    },
  });
  const initial = req.sendInitialEvents ?? (rv === undefined || isAnyVersion(rv));
  if (initial) {
    const page = await registry.list(info, req.namespace, {
      match: req.match,
      resourceVersion: rv && !isAnyVersion(rv) ? req.resourceVersion : undefined,
    });
    for (let i = 0; i < page.items.length; i += INITIAL_BATCH)
      yield page.items.slice(i, i + INITIAL_BATCH).map((object): WireEvent => ({ type: "ADDED", object }));
    after = vectorOf(parseResourceVersion(page.resourceVersion)!, shards);
    if (req.sendInitialEvents && req.allowWatchBookmarks)
      yield [bookmark(page.resourceVersion, { "k8s.io/initial-events-end": "true" })];
  } else {
    try {
      after = rv === undefined || isAnyVersion(rv) ? new Array<number>(shards).fill(0) : vectorOf(rv, shards);
    } catch (error) {
      yield [{ type: "ERROR", object: (error as ApiError).toStatus() }];
      return;
    }
  }
  const progressIntervalMs = req.allowWatchBookmarks ? (req.bookmarkIntervalMs ?? 5000) : 0;
  // One shard: through the registry, so through the isolate's watch cache; a split resource merges its sub-shards.
  const stream =
    shards === 1
      ? asVector(registry.watch(info, req.namespace, { afterRevision: after[0], progressIntervalMs, signal }))
      : registry.store.watchFrom(prefix, { after, progressIntervalMs, signal });
  try {
    for await (const message of stream) {
      if (message.type === "progress") {
        if (req.allowWatchBookmarks) yield [bookmark(vectorResourceVersion(message.revisions))];
        continue;
      }
      // Over sub-shards each event carries the vector to resume after it; one shard's is its revision.
      const before = shards > 1 ? message.before : undefined;
      const batch: WireEvent[] = [];
      for (const event of message.events) {
        const version = objectResourceVersion(event.kv.key, event.kv.modRevision, before);
        const wire = translate(registry, info, event, req.match, version);
        if (wire) batch.push(wire);
      }
      if (batch.length > 0) yield batch;
    }
  } catch (error) {
    if (signal.aborted) return;
    if (error instanceof StoreError && error.code === "Compacted") {
      yield [
        {
          type: "ERROR",
          object: new ApiError(
            "Expired",
            `too old resource version: ${vectorResourceVersion(after)}`,
          ).toStatus(),
        },
      ];
      return;
    }
    throw error;
  }
}

/** A one-shard watch in the merged watch's shape (its `before` is never read for one shard). */
async function* asVector(stream: AsyncIterable<WatchMessage>): AsyncGenerator<VectorWatchMessage> {
  for await (const message of stream)
    yield message.type === "progress"
      ? { type: "progress", revisions: [message.revision] }
      : { type: "events", events: message.events, shard: 0, before: [] };
}

/** Runs `fn` after `ms`; returns the cancel. Injected so tests can end a watch without waiting. */
export type Schedule = (ms: number, fn: () => void) => () => void;

/** setTimeout as a Schedule. */
const realSchedule: Schedule = (ms, fn) => {
  const timer = setTimeout(fn, ms);
  return () => clearTimeout(timer);
};

/** What a watch response is told besides the request. */
export interface WatchHooks {
  /** Called once when the watch ends, however it ends (timeout, client gone, error). */
  onClose?: () => void;
  schedule?: Schedule;
  /** The request's signal: aborts when the client goes away (workerd's enable_request_signal), ending the watch. */
  signal?: AbortSignal;
  /**
   * Write a bare newline after this many quiet ms (0/absent: never). JSON
   * watch decoders skip whitespace between events; the write is what lets
   * the runtime notice a client that went away from an idle watch.
   */
  keepaliveMs?: number;
}

/** A streaming HTTP response for a watch request; ends cleanly on timeoutSeconds or when the client goes away. */
export function watchResponse(
  registry: Registry,
  info: ResourceInfo,
  req: WatchRequest,
  hooks: WatchHooks = {},
): Response {
  // A malformed resourceVersion is the request's fault: a 400 Status before any stream, as kube answers.
  parseResourceVersion(req.resourceVersion);
  const abort = new AbortController();
  let cancelTimer: (() => void) | undefined;
  if (req.timeoutSeconds && req.timeoutSeconds > 0)
    cancelTimer = (hooks.schedule ?? realSchedule)(req.timeoutSeconds * 1000, () => abort.abort());
  const events = watchEvents(registry, info, req, abort.signal);
  const encoder = new TextEncoder();
  let first = true;
  const render = (event: WireEvent): string => {
    if (event.kv && !req.table) {
      // Custom resources are encoded per watcher: each shows its own version's apiVersion.
      // A sharded resource's event carries this watch's vector, so its encoding is this watcher's own.
      const shared = !info.customResource && !event.rv?.includes(".");
      let json = shared ? encoded.get(event.kv) : undefined;
      if (json === undefined) {
        const object = event.object ?? registry.decode(event.kv, info);
        (object as KubeObject).metadata!.resourceVersion =
          event.rv ?? objectResourceVersion(event.kv.key, event.kv.modRevision);
        json = JSON.stringify(object);
        if (shared) encoded.set(event.kv, json);
      }
      return `{"type":"${event.type}","object":${json}}\n`;
    }
    if (event.kv && event.object === undefined) event.object = registry.decode(event.kv, info);
    if (req.table && event.type !== "BOOKMARK" && event.type !== "ERROR") {
      const object = event.object as KubeObject;
      const table = toTable(
        info,
        [object],
        registry.now(),
        { resourceVersion: object.metadata?.resourceVersion },
        req.table.include,
        first,
      );
      first = false;
      return `${JSON.stringify({ type: event.type, object: table })}\n`;
    }
    return `${JSON.stringify(event)}\n`;
  };
  let closed = false;
  const finish = () => {
    cancelTimer?.();
    abort.abort();
    if (closed) return;
    closed = true;
    hooks.onClose?.();
  };
  // Without this, a client that drops an idle watch is only noticed at the next write (or the timeout).
  hooks.signal?.addEventListener("abort", () => finish(), { once: true });
  const nextEvent = abortableNext(events, abort.signal);
  const schedule = hooks.schedule ?? realSchedule;
  const keepalive = hooks.keepaliveMs ?? 0;
  // The next event, kept across pulls that ended with a keepalive instead.
  let pending: Promise<IteratorResult<WireEvent[]>> | undefined;
  const body = new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        pending ??= nextEvent();
        const next = keepalive > 0 ? await orQuiet(pending, keepalive, schedule) : await pending;
        if (next === QUIET) {
          controller.enqueue(NEWLINE);
          return;
        }
        pending = undefined;
        if (next.done) {
          finish();
          controller.close();
        } else {
          let text = "";
          for (const event of next.value) text += render(event);
          controller.enqueue(encoder.encode(text));
        }
      } catch (error) {
        finish();
        const status = error instanceof ApiError ? error : new ApiError("InternalError", String(error));
        controller.enqueue(
          encoder.encode(`${JSON.stringify({ type: "ERROR", object: status.toStatus() })}\n`),
        );
        controller.close();
      }
    },
    async cancel() {
      finish();
      await events.return(undefined).catch(() => {});
    },
  });
  return new Response(body, {
    status: 200,
    // "identity" keeps the runtime from compressing (and so buffering) the stream when clients accept gzip.
    headers: {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Content-Encoding": "identity",
    },
  });
}

const QUIET = Symbol("quiet");
const NEWLINE = new TextEncoder().encode("\n");

/** `promise`'s result, or QUIET if it has not settled after `ms`. */
function orQuiet<T>(promise: Promise<T>, ms: number, schedule: Schedule): Promise<T | typeof QUIET> {
  return new Promise((resolve, reject) => {
    const cancel = schedule(ms, () => resolve(QUIET));
    promise.then(
      (value) => {
        cancel();
        resolve(value);
      },
      (error) => {
        cancel();
        reject(error);
      },
    );
  });
}

/**
 * next() that resolves as done when the signal aborts, even if the store is
 * quiet. One abort listener per watch, not one per event: adding and removing
 * a listener on every event was a measurable share of a busy watch's cost.
 */
function abortableNext<T>(
  iterator: AsyncGenerator<T>,
  signal: AbortSignal,
): () => Promise<IteratorResult<T>> {
  const done: IteratorResult<T> = { done: true, value: undefined };
  let pending: ((r: IteratorResult<T>) => void) | undefined;
  signal.addEventListener("abort", () => pending?.(done), { once: true });
  return () => {
    if (signal.aborted) return Promise.resolve(done);
    return new Promise((resolve, reject) => {
      pending = resolve;
      iterator.next().then(
        (r) => {
          pending = undefined;
          resolve(r);
        },
        (e) => {
          pending = undefined;
          reject(e);
        },
      );
    });
  };
}
