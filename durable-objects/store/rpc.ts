/**
 * What crosses the Worker → Durable Object boundary. Store errors travel as
 * values (RPC keeps an Error's message but not its class or code), and any
 * other RPC failure becomes StoreError "Unavailable" so callers can retry.
 */
import { StoreError, type StoreErrorCode } from "./types.ts";

/** An RPC answer: the value, or a store error by name. */
export type Result<T> = { ok: true; value: T } | { ok: false; code: StoreErrorCode; message: string };

/** Object name of the lease authority (not a "group/resource" shard name, so it never collides). */
export const LEASE_AUTHORITY = "_leases";

/** Runs `fn`, returning StoreErrors as values and letting anything else throw. */
export async function wrap<T>(fn: () => Promise<T> | T): Promise<Result<T>> {
  try {
    return { ok: true, value: await fn() };
  } catch (e) {
    if (e instanceof StoreError) return { ok: false, code: e.code, message: e.message };
    throw e;
  }
}

/** Turns an RPC answer back into a value or a thrown StoreError. */
export function unwrap<T>(r: Result<T>): T {
  if (r.ok) return r.value;
  throw new StoreError(r.code, r.message);
}

/** Any failure as a StoreError: store errors keep their code, transport failures are Unavailable. */
export function asStoreError(e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  return new StoreError("Unavailable", e instanceof Error ? e.message : String(e));
}

/** HTTP status for a watch refused before upgrade. */
export function watchStatus(code: StoreErrorCode): number {
  return code === "Compacted"
    ? 410
    : code === "InvalidArgument"
      ? 400
      : code === "FutureRevision"
        ? 400
        : 503;
}

// Watch frames: a message is sent as "C"-prefixed pieces then one "M"-prefixed
// last piece, so no WebSocket frame exceeds the runtime's message size limit.
const FRAME_CHARS = 256 * 1024;

/** Splits a serialized message into frames (never between a surrogate pair). */
export function toFrames(text: string): string[] {
  const frames: string[] = [];
  let i = 0;
  while (text.length - i > FRAME_CHARS) {
    let end = i + FRAME_CHARS;
    const c = text.charCodeAt(end - 1);
    if (c >= 0xd800 && c <= 0xdbff) end--;
    frames.push(`C${text.slice(i, end)}`);
    i = end;
  }
  frames.push(`M${text.slice(i)}`);
  return frames;
}

/** Reassembles frames; returns a full message text when the last piece arrives. */
export class FrameReader {
  private parts: string[] = [];
  /** Adds one frame; returns the message once complete. */
  push(frame: string): string | undefined {
    this.parts.push(frame.slice(1));
    if (frame[0] !== "M") return undefined;
    const text = this.parts.join("");
    this.parts = [];
    return text;
  }
}
