/**
 * Supervision for `npm start`: when a part of the local cluster (workerd, the
 * registry endpoint) exits without being asked to, say so in one line and
 * start it again on the same state, with exponential backoff, and say so when
 * it keeps crashing instead of looping silently. The clock and the wait are
 * passed in, so the policy is tested without sleeping.
 */

/** How restarts are spaced. */
export interface BackoffPolicy {
  /** The first retry's delay (doubles per crash). */
  minDelayMs: number;
  /** The longest delay. */
  maxDelayMs: number;
  /** Up this long after a (re)start, the next crash starts the backoff again from minDelayMs. */
  stableMs: number;
  /** Crashes within this window are counted in the "exited N times" report. */
  windowMs: number;
}

/** 0.5 s doubling to 30 s, reset after a stable minute, crashes counted over 2 minutes. */
export const DEFAULT_BACKOFF: BackoffPolicy = {
  minDelayMs: 500,
  maxDelayMs: 30_000,
  stableMs: 60_000,
  windowMs: 120_000,
};

/** What to do after one crash. */
export interface RestartPlan {
  /** Wait this long before restarting. */
  delayMs: number;
  /** Crashes (this one included) within the policy's window. */
  recentExits: number;
}

/** The backoff state of one supervised part: feed it starts and exits, it answers with delays. */
export class Backoff {
  private delayMs: number;
  private lastStart = Number.NEGATIVE_INFINITY;
  private exits: number[] = [];

  constructor(private readonly policy: BackoffPolicy = DEFAULT_BACKOFF) {
    this.delayMs = policy.minDelayMs;
  }

  /** The part is up (first start or a restart) at `now`. */
  started(now: number): void {
    this.lastStart = now;
  }

  /** The part crashed at `now` (or a restart failed): how long to wait before the next try. */
  exited(now: number): RestartPlan {
    // A part that ran for a stable while crashed for a new reason: retry quickly again.
    if (now - this.lastStart >= this.policy.stableMs) this.delayMs = this.policy.minDelayMs;
    this.exits = [...this.exits.filter((t) => now - t < this.policy.windowMs), now];
    const plan = { delayMs: this.delayMs, recentExits: this.exits.length };
    this.delayMs = Math.min(this.delayMs * 2, this.policy.maxDelayMs);
    return plan;
  }
}

/** "0.5 s", "30 s", "2 min". */
export function formatDuration(ms: number): string {
  if (ms >= 60_000 && ms % 60_000 === 0) return `${ms / 60_000} min`;
  return `${Number((ms / 1000).toFixed(1))} s`;
}

/** What a Supervisor needs. */
export interface SupervisorOptions {
  /** The part's name in messages ("workerd"). */
  name: string;
  /** Start the part again; a rejection counts as another crash. */
  restart(): Promise<void>;
  /** One line of progress output. */
  say(line: string): void;
  /** What stays the same across a restart, for the message ("on the same state directory and port"). */
  keeps?: string;
  /** Said after a successful restart (e.g. where it serves). */
  restarted?: () => string;
  policy?: BackoffPolicy;
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

/** Restarts one part after unexpected exits, one restart at a time, until stopped. */
export class Supervisor {
  private readonly backoff: Backoff;
  private readonly now: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private stopped = false;
  private restarting: Promise<void> | undefined;

  constructor(private readonly options: SupervisorOptions) {
    this.backoff = new Backoff(options.policy ?? DEFAULT_BACKOFF);
    this.now = options.now ?? Date.now;
    this.sleep = options.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.backoff.started(this.now());
  }

  /** No more restarts (the cluster is being stopped). */
  stop(): void {
    this.stopped = true;
  }

  /**
   * The part exited unexpectedly (`how`: "pid 123", "signal SIGKILL"...).
   * Resolves once it runs again, or when the supervisor is stopped. A second
   * report while a restart is under way is the same crash.
   */
  exited(how: string): Promise<void> {
    if (this.stopped) return Promise.resolve();
    this.restarting ??= this.recover(how).finally(() => {
      this.restarting = undefined;
    });
    return this.restarting;
  }

  private async recover(how: string): Promise<void> {
    const { name, say } = this.options;
    let cause = `${name} exited unexpectedly (${how})`;
    while (!this.stopped) {
      const plan = this.backoff.exited(this.now());
      const wait = formatDuration(plan.delayMs);
      if (plan.recentExits >= 3) {
        const window = formatDuration((this.options.policy ?? DEFAULT_BACKOFF).windowMs);
        say(`${name} exited ${plan.recentExits} times in ${window}; next try in ${wait}`);
      } else {
        say(`${cause}; restarting it${this.options.keeps ? ` ${this.options.keeps}` : ""} in ${wait}`);
      }
      await this.sleep(plan.delayMs);
      if (this.stopped) return;
      try {
        await this.options.restart();
        this.backoff.started(this.now());
        if (this.options.restarted) say(this.options.restarted());
        return;
      } catch (error) {
        cause = `restarting ${name} failed: ${(error as Error).message}`;
      }
    }
  }
}

/** What a liveness watchdog needs. */
export interface WatchdogOptions {
  /** One liveness check; resolves true when the part answered in time. */
  probe(): Promise<boolean>;
  /** Checks are skipped while this is true (the part is down and being restarted, or stopping). */
  paused(): boolean;
  /** Called once the part failed `failures` checks in a row (e.g. kill it, so its supervisor restarts it). */
  onHung(failed: number): void;
  /** Time between checks. */
  intervalMs: number;
  /** Consecutive failed checks that mean hung. */
  failures: number;
  sleep?: (ms: number) => Promise<void>;
}

/**
 * Watch a part that can hang without exiting (workerd spinning in a promise
 * loop answers nothing, /version included): after `failures` failed checks
 * in a row, onHung. Returns a stop function.
 */
export function startWatchdog(options: WatchdogOptions): () => void {
  const sleep = options.sleep ?? ((ms: number) => new Promise((r) => setTimeout(r, ms).unref()));
  let stopped = false;
  void (async () => {
    let failed = 0;
    while (!stopped) {
      await sleep(options.intervalMs);
      if (stopped) return;
      if (options.paused()) {
        failed = 0;
        continue;
      }
      const ok = await options.probe().catch(() => false);
      if (stopped) return;
      // A pause that began during the check (a crash) is the supervisor's business, not a hang.
      if (ok || options.paused()) failed = 0;
      else if (++failed >= options.failures) {
        options.onHung(failed);
        failed = 0;
      }
    }
  })();
  return () => {
    stopped = true;
  };
}
