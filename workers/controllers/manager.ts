/**
 * ControllerManager: the singleton Durable Object (one instance, by name
 * "controller-manager") that runs the scheduler and every controller. Being a
 * single object is the leader election: exactly one copy of each controller
 * acts at a time. Wake-ups are coalesced: pokes mark controllers dirty and
 * set an immediate alarm; the alarm drains the dirty set in passes. The cron
 * resync marks everything dirty and drains in the same way.
 */
import { DurableObject } from "cloudflare:workers";
import { inProcessClient } from "../apiserver/index.ts";
import type { KubeClient } from "../client/kube.ts";
import type { Env } from "../env.ts";
import { CONTROLLERS } from "./all.ts";
import { InformerCache, type InformerEvent } from "./informer.ts";
import { runPass, watchersOf } from "./loop.ts";
import { eventRecorder } from "./recorder.ts";
import { type Controller, type ControllerConfig, defaultConfig } from "./types.ts";

/** Passes per drain before yielding (the rest continues from a fresh alarm). */
const MAX_PASSES = 25;
/** Retry delay after a failure doubles from this, up to the cron interval. */
const BACKOFF_MS = [500, 1000, 2000, 5000, 10_000, 30_000, 60_000];

/** Controller settings from the Worker's vars. */
export function configFromEnv(env: Env): ControllerConfig {
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
export function controllerClient(env: Env): KubeClient {
  // No onWrite hook here: the manager tracks its own writes (loop.ts) instead of poking itself.
  return inProcessClient(env, undefined, {
    name: "system:kube-controller-manager",
    groups: ["system:masters", "system:authenticated"],
  });
}

/** Coalesces wake-ups and runs controller passes, one drain at a time. */
export class ControllerManager extends DurableObject<Env> {
  private readonly controllers: Controller[] = CONTROLLERS;
  private readonly dirty = new Set<string>();
  /** Per controller: when a timer (requeueAfter, backoff) wants it run. */
  private readonly due = new Map<string, number>();
  private readonly failures = new Map<string, number>();
  private running: Promise<void> | undefined;
  private passes = 0;
  /** An alarm for "now" is set and has not fired yet (saves a storage write per event). */
  private alarmPending = false;
  private informers: InformerCache | undefined;

  /** The informers, started on first use; they live as long as this object stays in memory. */
  private get cache(): InformerCache {
    this.informers ??= new InformerCache(controllerClient(this.env), (e) => this.changed(e));
    return this.informers;
  }

  private get fastPath(): boolean {
    return this.env.CONTROLLERS_FAST_PATH !== "off";
  }

  /** Fast path: writes to these resources happened; run their watchers soon (coalesced through an alarm). */
  async poke(resources: string[]): Promise<void> {
    if (!this.fastPath) return;
    // A running watch delivers this change itself (and after the cache has it); poke only for the rest.
    const unwatched = resources.filter((r) => !this.informers?.watching(r.replace(/:DELETED$/, "")));
    await this.markDirty(unwatched);
  }

  /** An informer saw a change: run the controllers watching that resource. */
  private changed(event: InformerEvent): void {
    if (!this.fastPath) return;
    const tokens =
      event.type === "DELETED" ? [event.resource, `${event.resource}:DELETED`] : [event.resource];
    this.markDirty(tokens).catch((error: unknown) =>
      console.warn(`controller manager: arming the alarm failed: ${(error as Error).message}`),
    );
  }

  private async markDirty(resources: string[]): Promise<void> {
    const before = this.dirty.size;
    for (const name of watchersOf(this.controllers, resources)) this.dirty.add(name);
    if (this.dirty.size > before && !this.running && !this.alarmPending) {
      this.alarmPending = true;
      await this.ctx.storage.setAlarm(Date.now());
    }
  }

  /** Cron: a full pass of every controller; resolves when the manager is idle again. */
  async resync(): Promise<{ passes: number }> {
    for (const c of this.controllers) this.dirty.add(c.name);
    const start = this.passes;
    await this.drain();
    await this.armTimer();
    return { passes: this.passes - start };
  }

  /** How many passes ran since this object started (for tests and the bench). */
  async stats(): Promise<{ passes: number; dirty: string[]; due: Record<string, number> }> {
    return { passes: this.passes, dirty: [...this.dirty], due: Object.fromEntries(this.due) };
  }

  override async alarm(): Promise<void> {
    this.alarmPending = false;
    const now = Date.now();
    for (const [name, at] of this.due) {
      if (at <= now) {
        this.due.delete(name);
        this.dirty.add(name);
      }
    }
    await this.drain();
    await this.armTimer();
  }

  private async drain(): Promise<void> {
    while (this.running) await this.running;
    if (this.dirty.size === 0) return;
    this.running = this.loop();
    try {
      await this.running;
    } finally {
      this.running = undefined;
    }
  }

  private async loop(): Promise<void> {
    const client = controllerClient(this.env);
    const config = configFromEnv(this.env);
    const cache = this.cache;
    for (let i = 0; i < MAX_PASSES && this.dirty.size > 0; i++) {
      const selected = this.controllers.filter((c) => this.dirty.has(c.name));
      this.dirty.clear();
      this.passes++;
      const report = await runPass({
        controllers: selected,
        client,
        cache,
        now: () => new Date(),
        config,
        recorder: (c) => eventRecorder(c, "edgeplane-controller-manager", () => new Date()),
      });
      // Our own writes wake the controllers that watch them (the API server's hook does not fire in here).
      for (const name of watchersOf(this.controllers, report.wrote)) this.dirty.add(name);
      for (const c of selected) {
        if (report.failed.has(c.name)) {
          const n = (this.failures.get(c.name) ?? 0) + 1;
          this.failures.set(c.name, n);
          this.setDue(c.name, Date.now() + BACKOFF_MS[Math.min(n, BACKOFF_MS.length) - 1]);
        } else this.failures.delete(c.name);
      }
      for (const [name, at] of report.requeue) this.setDue(name, at);
    }
  }

  private setDue(name: string, at: number): void {
    const prev = this.due.get(name);
    if (prev === undefined || at < prev) this.due.set(name, at);
  }

  /** Arm the alarm for leftover dirty controllers (now) or the earliest timer; timers only on the fast path. */
  private async armTimer(): Promise<void> {
    let next: number | undefined = this.dirty.size > 0 ? Date.now() : undefined;
    if (this.fastPath) for (const at of this.due.values()) if (next === undefined || at < next) next = at;
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }
}
