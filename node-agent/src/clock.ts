/**
 * Time as a dependency: the pod state machine, probes, backoff and lease
 * renewal read the time and wait through a Clock, so tests drive them with
 * FakeClock instead of sleeping.
 */

/** Reads the time and waits. */
export interface Clock {
  now(): Date;
  /** Resolves after `ms` (or at once when `signal` aborts; never rejects). */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** The wall clock and real timers. */
export const realClock: Clock = {
  now: () => new Date(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(done, Math.max(0, ms));
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      }
      signal?.addEventListener("abort", done, { once: true });
    }),
};

interface Sleeper {
  at: number;
  resolve: () => void;
}

/** A clock that moves only when told to (tests). */
export class FakeClock implements Clock {
  private time: number;
  private sleepers: Sleeper[] = [];

  constructor(start = Date.parse("2026-01-01T00:00:00Z")) {
    this.time = start;
  }

  now(): Date {
    return new Date(this.time);
  }

  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      if (signal?.aborted) return resolve();
      const onAbort = () => {
        this.sleepers = this.sleepers.filter((s) => s !== sleeper);
        resolve();
      };
      const sleeper: Sleeper = {
        at: this.time + Math.max(0, ms),
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve();
        },
      };
      this.sleepers.push(sleeper);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Number of pending sleeps (lets a test check that something is waiting). */
  get pending(): number {
    return this.sleepers.length;
  }

  /**
   * Time passes while this process does not run (stopped, its host suspended): nothing wakes now;
   * sleepers that came due wake late, on the next advance, as real timers fire after a SIGCONT.
   */
  jump(ms: number): void {
    this.time += ms;
  }

  /** Move time forward by `ms`, waking sleepers in time order and letting promise chains settle between wake-ups. */
  async advance(ms: number): Promise<void> {
    const target = this.time + ms;
    for (;;) {
      await settle();
      const next = this.sleepers.filter((s) => s.at <= target).sort((a, b) => a.at - b.at)[0];
      if (!next) break;
      this.time = Math.max(this.time, next.at);
      this.sleepers = this.sleepers.filter((s) => s !== next);
      next.resolve();
    }
    this.time = target;
    await settle();
  }
}

/** Let pending promise callbacks and I/O callbacks run (not a timed wait). */
export async function settle(rounds = 20): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}
