/**
 * A one-consumer async queue that a watch implementation pushes into and the
 * caller iterates. Ending it (close, fail, the caller's break, or the abort
 * signal) runs the producer's cleanup exactly once, so nothing leaks.
 */

/** Push side of a watch stream; iterate it to consume. */
export class Channel<T> implements AsyncIterable<T> {
  private items: T[] = [];
  private waiter?: () => void;
  private done = false;
  private error?: unknown;
  private cleanups: Array<() => void> = [];

  constructor(signal?: AbortSignal) {
    if (signal) {
      if (signal.aborted) this.close();
      else {
        const onAbort = () => this.close();
        signal.addEventListener("abort", onAbort, { once: true });
        this.onClose(() => signal.removeEventListener("abort", onAbort));
      }
    }
  }

  /** True once closed or failed. */
  get closed(): boolean {
    return this.done;
  }

  /** Registers cleanup to run once when the stream ends, however it ends. */
  onClose(fn: () => void): void {
    if (this.done) fn();
    else this.cleanups.push(fn);
  }

  /** Queues an item; ignored after close. */
  push(item: T): void {
    if (this.done) return;
    this.items.push(item);
    this.wake();
  }

  /** Ends the stream after the queued items. */
  close(): void {
    this.finish();
  }

  /** Ends the stream with an error, raised after the queued items. */
  fail(err: unknown): void {
    if (this.done) return;
    this.error = err;
    this.finish();
  }

  private finish(): void {
    if (this.done) return;
    this.done = true;
    const cleanups = this.cleanups;
    this.cleanups = [];
    for (const fn of cleanups) fn();
    this.wake();
  }

  private wake(): void {
    const w = this.waiter;
    this.waiter = undefined;
    w?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    try {
      while (true) {
        if (this.items.length > 0) {
          yield this.items.shift() as T;
          continue;
        }
        if (this.done) {
          if (this.error !== undefined) throw this.error;
          return;
        }
        await new Promise<void>((resolve) => {
          this.waiter = resolve;
        });
      }
    } finally {
      // The consumer stopped (break/return/throw): release the producer.
      this.items = [];
      this.finish();
    }
  }
}
