/**
 * A per-key work queue with client-go's workqueue semantics (the rate-limited
 * delaying queue sample-controller uses): a key is queued at most once; a key
 * being processed is never handed out again until `done`, and if it was added
 * meanwhile it is queued again then; failures back off per key (exponential,
 * reset by `forget`); `addAfter` holds a key until its time. Time comes from
 * an injected clock, and nothing here sleeps: the owner asks `nextDue()` and
 * calls `promote()` when that time has come (the manager from its alarm).
 */

/** Per-key failure backoff: the project's numbers (first retry after 500 ms, doubling, capped at the cron interval). */
export const BASE_BACKOFF_MS = 500;
export const MAX_BACKOFF_MS = 60_000;

/** The queue of one controller. */
export class WorkQueue {
  /** Keys in hand-out order. */
  private readonly queue: string[] = [];
  private head = 0;
  /** Keys that need processing (queued, or added while processing). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  /** Keys waiting for a time (ms since epoch): the earliest wins. */
  private readonly waiting = new Map<string, number>();
  private readonly failures = new Map<string, number>();

  constructor(
    private readonly now: () => number = Date.now,
    private readonly onReady: () => void = () => {},
  ) {}

  /** Queue a key unless it is already queued; a key being processed is queued again when it is done. */
  add(key: string): void {
    if (this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    this.queue.push(key);
    this.onReady();
  }

  /** The next key to process (marked as processing until `done`), or undefined when none is ready. */
  get(): string | undefined {
    if (this.head >= this.queue.length) return undefined;
    const key = this.queue[this.head++];
    if (this.head > 1024 && this.head * 2 > this.queue.length) {
      this.queue.splice(0, this.head);
      this.head = 0;
    }
    this.dirty.delete(key);
    this.processing.add(key);
    return key;
  }

  /** Processing of a key ended; if it was added meanwhile it goes back in the queue. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.queue.push(key);
      this.onReady();
    }
  }

  /** Queue a key after a delay (requeueAfter); an earlier pending time for it wins. */
  addAfter(key: string, delayMs: number): void {
    if (delayMs <= 0) {
      this.add(key);
      return;
    }
    const at = this.now() + delayMs;
    const prev = this.waiting.get(key);
    if (prev === undefined || at < prev) this.waiting.set(key, at);
  }

  /** A key failed: queue it again after its backoff, which doubles with each failure until `forget`. */
  addRateLimited(key: string): void {
    const n = this.failures.get(key) ?? 0;
    this.failures.set(key, n + 1);
    this.addAfter(key, this.backoff(key));
  }

  /** The delay the key's next failure retry waits (after the failures recorded so far). */
  backoff(key: string): number {
    const n = this.failures.get(key) ?? 0;
    if (n === 0) return 0;
    return Math.min(MAX_BACKOFF_MS, BASE_BACKOFF_MS * 2 ** Math.min(n - 1, 30));
  }

  /** A key succeeded: its backoff starts over. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  /** How many failures in a row this key has had. */
  numRequeues(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The earliest time a waiting key is due, if any. */
  nextDue(): number | undefined {
    let next: number | undefined;
    for (const at of this.waiting.values()) if (next === undefined || at < next) next = at;
    return next;
  }

  /** Queue every waiting key whose time has come. */
  promote(): void {
    const now = this.now();
    for (const [key, at] of this.waiting) {
      if (at <= now) {
        this.waiting.delete(key);
        this.add(key);
      }
    }
  }

  /** Keys ready to be handed out. */
  get length(): number {
    return this.queue.length - this.head;
  }

  /** Keys being processed now. */
  get busy(): number {
    return this.processing.size;
  }
}
