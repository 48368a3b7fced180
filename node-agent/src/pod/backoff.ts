/**
 * Exponential back-off per key, with kubelet's semantics (flowcontrol.Backoff
 * as used by doBackOff): the first failure restarts at once and arms
 * `initial`; a failure inside the window waits it out, then the window
 * doubles up to `max`. An entry idle for 2×max is forgotten, so a container
 * that ran fine for long starts again from `initial`.
 */

/** Back-off bookkeeping, with time passed in (ms since epoch). */
export class Backoff {
  private entries = new Map<string, { delay: number; lastUpdate: number }>();

  constructor(
    readonly initialMs = 10_000,
    readonly maxMs = 300_000,
  ) {}

  /**
   * A failure that happened at `failedAt`: how long to wait (from `now`)
   * before trying again. 0 means try now, and the next window grows.
   */
  check(key: string, failedAt: number, now: number): number {
    const entry = this.entries.get(key);
    if (entry && now - entry.lastUpdate > 2 * this.maxMs) this.entries.delete(key);
    const current = this.entries.get(key);
    if (current && now - failedAt < current.delay) return failedAt + current.delay - now;
    this.entries.set(key, {
      delay: current ? Math.min(current.delay * 2, this.maxMs) : this.initialMs,
      lastUpdate: now,
    });
    return 0;
  }

  /** Record a failure now (image pulls) and return how long to wait: initial, then doubling. */
  failure(key: string, now: number): number {
    const current = this.entries.get(key);
    const stale = current && now - current.lastUpdate > 2 * this.maxMs;
    const delay = current && !stale ? Math.min(current.delay * 2, this.maxMs) : this.initialMs;
    this.entries.set(key, { delay, lastUpdate: now });
    return delay;
  }

  /** The window now armed for `key` (0 when none). */
  delay(key: string): number {
    return this.entries.get(key)?.delay ?? 0;
  }

  /** Forget `key` (pod deleted). */
  reset(key: string): void {
    this.entries.delete(key);
  }
}
