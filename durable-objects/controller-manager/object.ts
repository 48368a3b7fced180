/**
 * ControllerManager: the singleton Durable Object (one instance, by name
 * "controller-manager") that runs the scheduler and every controller. Being a
 * single object is the leader election: exactly one copy of each controller
 * acts at a time. Wake-ups are coalesced: pokes mark controllers dirty and
 * set an immediate alarm; the alarm drains the dirty set in passes. The cron
 * resync marks everything dirty and drains in the same way.
 *
 * Only the Durable Object lives here; the controllers, their informers and
 * the pass loop are in workers/controllers, which this class composes.
 */
import { DurableObject } from "cloudflare:workers";
import { inProcessClient } from "../../workers/apiserver/index.ts";
import type { KubeClient } from "../../workers/client/kube.ts";
import { CONTROLLERS } from "../../workers/controllers/all.ts";
import { InformerCache, type InformerEvent } from "../../workers/controllers/informer.ts";
import { runPass, watchersOf } from "../../workers/controllers/loop.ts";
import { eventRecorder } from "../../workers/controllers/recorder.ts";
import { type Controller, type ControllerConfig, defaultConfig } from "../../workers/controllers/types.ts";
import type { Env } from "../../workers/env.ts";

/** Bounds of the pause between back-to-back passes of one controller (see settle). */
const MIN_SETTLE_MS = 10;
const MAX_SETTLE_MS = 100;
/** Retry delay after a failure doubles from this, up to the cron interval. */
const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000, 60_000];

/** Controller settings from the Worker's vars. */
function configFromEnv(env: Env): ControllerConfig {
  const seconds = (v: string | undefined, d: number) => {
    const n = Number(v);
    return v !== undefined && Number.isFinite(n) && n >= 0 ? n : d;
  };
  return {
    ...defaultConfig,
    nodeMonitorGracePeriodSeconds: seconds(
      env.NODE_MONITOR_GRACE_PERIOD,
      defaultConfig.nodeMonitorGracePeriodSeconds,
    ),
    podEvictionTimeoutSeconds: seconds(env.POD_EVICTION_TIMEOUT, defaultConfig.podEvictionTimeoutSeconds),
  };
}

/** The controllers' API client: the API server called in-process, as the controller manager's identity. */
function controllerClient(env: Env): KubeClient {
  // No onWrite hook here: the manager tracks its own writes (loop.ts) instead of poking itself.
  return inProcessClient(env, undefined, {
    name: "system:kube-controller-manager",
    groups: ["system:masters", "system:authenticated"],
  });
}

/** The singleton: one worker per controller over shared informers. */
export class ControllerManager extends DurableObject<Env> {
  private readonly controllers = new Map<string, Controller>(CONTROLLERS.map((c) => [c.name, c]));
  private readonly dirty = new Set<string>();
  /** Per controller: when a timer (requeueAfter, backoff) wants it run. */
  private readonly due = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  /** Workers with a pass under way. */
  private readonly running = new Map<string, Promise<void>>();
  private passes = 0;
  /** When each controller's last pass ended and how long it took (for pacing). */
  private readonly lastPass = new Map<string, { end: number; took: number }>();
  private informers: InformerCache | undefined;

  /** The informers, started on first use; they live as long as this object stays in memory. */
  private get cache(): InformerCache {
    this.informers ??= new InformerCache(controllerClient(this.env), (e) => this.changed(e));
    return this.informers;
  }

  private get fastPath(): boolean {
    return this.env.CONTROLLERS_FAST_PATH !== "off";
  }

  /** Fast path: writes to these resources happened; run their watchers now. */
  async poke(resources: string[]): Promise<void> {
    if (!this.fastPath) return;
    // A running watch delivers this change itself (and after the cache has it); poke only for the rest.
    this.markDirty(resources.filter((r) => !this.informers?.watching(r.replace(/:DELETED$/, ""))));
  }

  /** Cron: a full pass of every controller; resolves when the manager is idle again. */
  async resync(): Promise<{ passes: number }> {
    const start = this.passes;
    for (const name of this.controllers.keys()) this.wake(name);
    await this.idle();
    await this.armTimer();
    return { passes: this.passes - start };
  }

  /** How many passes ran since this object started (for tests and the bench). */
  async stats(): Promise<{
    passes: number;
    dirty: string[];
    running: string[];
    due: Record<string, number>;
  }> {
    return {
      passes: this.passes,
      dirty: [...this.dirty],
      running: [...this.running.keys()],
      due: Object.fromEntries(this.due),
    };
  }

  override async alarm(): Promise<void> {
    const now = Date.now();
    for (const [name, at] of this.due) {
      if (at <= now) {
        this.due.delete(name);
        this.wake(name);
      }
    }
    // The workers go on without holding the alarm, so a later timer is never stuck behind a busy pass.
    await this.armTimer();
  }

  /** An informer saw a change: run the controllers watching that resource. */
  private changed(event: InformerEvent): void {
    if (!this.fastPath) return;
    this.markDirty(
      event.type === "DELETED" ? [event.resource, `${event.resource}:DELETED`] : [event.resource],
    );
  }

  private markDirty(resources: string[]): void {
    for (const name of watchersOf([...this.controllers.values()], resources)) this.wake(name);
  }

  /** Mark a controller dirty and start its worker unless it is running (it then runs again after). */
  private wake(name: string): void {
    this.dirty.add(name);
    if (this.running.has(name)) return;
    const worker = this.work(name).finally(() => {
      this.running.delete(name);
      // Timers a pass asked for (or backoff) need the alarm; set it once the worker settles.
      if (this.due.has(name)) this.armTimer().catch(warnAlarm);
    });
    this.running.set(name, worker);
  }

  /** Resolve once no worker is running (workers may wake each other meanwhile). */
  private async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  /** Run passes of one controller while it is dirty. */
  private async work(name: string): Promise<void> {
    const controller = this.controllers.get(name);
    if (!controller) return;
    const client = controllerClient(this.env);
    const config = configFromEnv(this.env);
    const cache = this.cache;
    while (this.dirty.has(name)) {
      await this.settle(name);
      this.dirty.delete(name);
      this.passes++;
      const started = Date.now();
      const report = await runPass({
        controllers: [controller],
        client,
        cache,
        now: () => new Date(),
        config,
        recorder: (c) => eventRecorder(c, "edgeplane-controller-manager", () => new Date()),
      });
      this.lastPass.set(name, { end: Date.now(), took: Date.now() - started });
      // Our own writes wake the controllers that watch them (the API server's hook does not fire in here,
      // and an informer that already has our write's answer stays quiet when the watch repeats it).
      this.markDirty([...report.wrote]);
      if (report.failed.has(name)) {
        const n = (this.failures.get(name) ?? 0) + 1;
        this.failures.set(name, n);
        this.setDue(name, Date.now() + BACKOFF_MS[Math.min(n, BACKOFF_MS.length) - 1]);
      } else this.failures.delete(name);
      const at = report.requeue.get(name);
      if (at !== undefined) {
        // "Again right away" keeps the worker going; later ones wait for the alarm.
        if (at <= Date.now()) this.dirty.add(name);
        else this.setDue(name, at);
      }
    }
  }

  /**
   * Pace a controller: its next pass starts no sooner after the last one ended than that pass took
   * (within bounds). Under a stream of changes each pass then covers a batch of them and a controller
   * uses at most about half of the thread, instead of running one pass per change.
   */
  private async settle(name: string): Promise<void> {
    const last = this.lastPass.get(name);
    if (!last) return;
    const wait = last.end + Math.min(MAX_SETTLE_MS, Math.max(MIN_SETTLE_MS, last.took)) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  private setDue(name: string, at: number): void {
    const prev = this.due.get(name);
    if (prev === undefined || at < prev) this.due.set(name, at);
  }

  /** Arm the alarm for the earliest timer (timers only on the fast path; the cron covers the rest). */
  private async armTimer(): Promise<void> {
    if (!this.fastPath) return;
    let next: number | undefined;
    for (const at of this.due.values()) if (next === undefined || at < next) next = at;
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }
}

const warnAlarm = (error: unknown) =>
  console.warn(`controller manager: arming the alarm failed: ${(error as Error).message}`);
