/**
 * Shared pieces of the store conformance suite: the harness an
 * implementation provides, a fresh shard per test, and ways to wait on watch
 * messages with a bounded deadline (never a sleep).
 */
import { expect } from "vitest";
import type { Store, StoreError, WatchEvent, WatchMessage } from "../types.ts";

export interface StoreHarness {
  store: Store;
  /** Moves the store's lease clock forward. */
  advanceClock(ms: number): Promise<void>;
  /** Runs lease expiry now (the memory store's expireLeases, the object's alarm). */
  expireLeases(): Promise<void>;
}

let counter = 0;
/** A fresh resource prefix (and so a fresh shard) per test. */
export function freshPrefix(): string {
  counter++;
  return `/registry/conformance/r${counter}x${Math.random().toString(36).slice(2, 8)}/`;
}

/** Rejects after `ms`: a bound on waiting for a condition, never a sleep. */
export function deadline<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
  });
  return Promise.race([p, t]).finally(() => {
    if (timer !== undefined) clearTimeout(timer);
  });
}

/** Reads a watch until `done(events so far)` holds; returns events (progress messages collected separately). */
export async function collectUntil(
  it: AsyncIterator<WatchMessage>,
  done: (events: WatchEvent[], progress: number[]) => boolean,
  ms = 10_000,
): Promise<{ events: WatchEvent[]; progress: number[] }> {
  const events: WatchEvent[] = [];
  const progress: number[] = [];
  const run = async () => {
    while (!done(events, progress)) {
      const r = await it.next();
      if (r.done) throw new Error("watch ended early");
      if (r.value.type === "events") events.push(...r.value.events);
      else progress.push(r.value.revision);
    }
    return { events, progress };
  };
  return deadline(run(), ms, "watch events");
}

/** Asserts that `p` rejects with a StoreError of `code`. */
export async function expectStoreError(p: Promise<unknown>, code: string): Promise<void> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err, `expected StoreError ${code}`).toBeInstanceOf(Error);
  expect((err as StoreError).name).toBe("StoreError");
  expect((err as StoreError).code).toBe(code);
}

/** The error a watch fails with on its first message (undefined if it yields one). */
export async function firstError(iterable: AsyncIterable<WatchMessage>): Promise<unknown> {
  const iter = iterable[Symbol.asyncIterator]();
  try {
    await deadline(iter.next(), 10_000, "watch error");
    return undefined;
  } catch (e) {
    return e;
  } finally {
    await iter.return?.();
  }
}

/** The revisions of `events`, in order. */
export function revs(events: WatchEvent[]): number[] {
  return events.map((e) => e.kv.modRevision);
}

/** Runs the shared Store conformance suite against `make()`. */
