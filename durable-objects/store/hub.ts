/**
 * Watch delivery inside the store object: each watcher is a hibernatable
 * WebSocket tagged with its prefix. A new watcher gets history replayed in the
 * same synchronous turn that registers it (so no commit can fall between), and
 * every later commit is broadcast to it once durable; so each revision reaches
 * it exactly once, in order.
 */

import { toFrames } from "./rpc.ts";
import { prefixEnd, type ShardSql } from "./sql.ts";
import type { WatchEvent, WatchMessage } from "./types.ts";

/** Events per replay page (bounds memory while catching a watcher up). */
const REPLAY_PAGE = 500;
/** Soft cap on one message's serialized size; frames split anything larger. */
const MESSAGE_CHARS = 512 * 1024;

interface Attachment {
  prefix: string;
}

/** Sends one message, split into frames. */
function send(ws: WebSocket, msg: WatchMessage): void {
  for (const frame of toFrames(JSON.stringify(msg))) ws.send(frame);
}

/** Events as the frames to send: messages of bounded size, each split into frames. */
function eventFrames(events: WatchEvent[]): string[] {
  const frames: string[] = [];
  const flush = (batch: WatchEvent[]) =>
    frames.push(...toFrames(JSON.stringify({ type: "events", events: batch } satisfies WatchMessage)));
  let batch: WatchEvent[] = [];
  let size = 0;
  for (const e of events) {
    const n = e.kv.value.length + (e.prevKv?.value.length ?? 0) + 200;
    if (batch.length > 0 && size + n > MESSAGE_CHARS) {
      flush(batch);
      batch = [];
      size = 0;
    }
    batch.push(e);
    size += n;
  }
  if (batch.length > 0) flush(batch);
  return frames;
}

function sendEvents(ws: WebSocket, events: WatchEvent[]): void {
  for (const frame of eventFrames(events)) ws.send(frame);
}

/** The set of watch sockets of one store object. */
export class WatchHub {
  private prefixes = new WeakMap<WebSocket, string>();

  constructor(
    private readonly ctx: DurableObjectState,
    private readonly sql: ShardSql,
  ) {}

  /** Registers a watcher and replays (after, upTo] to it, in one synchronous turn. */
  open(ws: WebSocket, prefix: string, after: number, upTo: number): void {
    this.ctx.acceptWebSocket(ws);
    ws.serializeAttachment({ prefix } satisfies Attachment);
    this.prefixes.set(ws, prefix);
    const upper = prefixEnd(prefix);
    let from = after;
    while (from < upTo) {
      const page = this.sql.events(prefix, upper, from, upTo, REPLAY_PAGE);
      if (page.length > 0) sendEvents(ws, page);
      if (page.length < REPLAY_PAGE) break;
      from = page[page.length - 1].kv.modRevision;
    }
  }

  /** Sends committed events to every watcher whose prefix matches. */
  broadcast(events: WatchEvent[]): void {
    if (events.length === 0) return;
    // Watchers of the same prefix get the same bytes: serialize once per prefix, not once per watcher.
    const byPrefix = new Map<string, string[]>();
    for (const ws of this.ctx.getWebSockets()) {
      const prefix = this.prefixOf(ws);
      if (prefix === undefined) continue;
      let frames = byPrefix.get(prefix);
      if (!frames) {
        const mine = events.filter((e) => e.kv.key.startsWith(prefix));
        frames = mine.length ? eventFrames(mine) : [];
        byPrefix.set(prefix, frames);
      }
      try {
        for (const frame of frames) ws.send(frame);
      } catch {
        // A socket closing under us: its close handler cleans up.
      }
    }
  }

  /** Answers a watcher's progress request with the last broadcast revision. */
  progress(ws: WebSocket, revision: number): void {
    send(ws, { type: "progress", revision });
  }

  /** Number of open watchers (for tests and metrics). */
  count(): number {
    return this.ctx.getWebSockets().length;
  }

  private prefixOf(ws: WebSocket): string | undefined {
    let p = this.prefixes.get(ws);
    if (p === undefined) {
      // After hibernation the object is new: recover the prefix from the socket.
      p = (ws.deserializeAttachment() as Attachment | null)?.prefix;
      if (p !== undefined) this.prefixes.set(ws, p);
    }
    return p;
  }
}
