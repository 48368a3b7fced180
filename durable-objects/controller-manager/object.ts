/**
 * ControllerManager: the singleton Durable Object (one instance, by name
 * "controller-manager") that runs the scheduler and every controller. Being a
 * single object is the leader election: exactly one copy of each controller
 * acts at a time. As in sample-controller, each controller has a per-key work
 * queue (queue.ts) and one worker: informer events (and our own writes, which
 * the informers apply at once) are mapped to keys by the controller's
 * `keysFor`; a failing key backs off alone; `requeueAfter` is per key. Pokes
 * (the API server's write hook, for resources no running watch covers) and
 * the cron resync queue every key.
 */
import { DurableObject } from "cloudflare:workers";
import { inProcessClient } from "../../workers/apiserver/index.ts";
import { tokenSigner } from "../../workers/apiserver/serviceaccount/config.ts";
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { InformerCache, type InformerEvent } from "../../workers/controllers/informer.ts";
import { trackWrites, watchersOf } from "../../workers/controllers/loop.ts";
import { WorkQueue } from "../../workers/controllers/queue.ts";
import { eventRecorder } from "../../workers/controllers/recorder.ts";
import type { Env } from "../../workers/env.ts";
import { CONTROLLERS } from "../../workers/manager/all.ts";
import { Expectations } from "../../workers/reconcile/expectations.ts";
import {
  ALL_KEYS,
  type Controller,
  type ControllerConfig,
  type Deps,
  defaultConfig,
  resourceId,
} from "../../workers/reconcile/types.ts";

/** Bounds of the pause between back-to-back passes of one controller (see settle). */
const MIN_SETTLE_MS = 10;
const MAX_SETTLE_MS = 100;

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
    clusterCIDR: env.CLUSTER_CIDR || defaultConfig.clusterCIDR,
    nodeCIDRMaskSize: seconds(env.NODE_CIDR_MASK_SIZE, defaultConfig.nodeCIDRMaskSize),
    rootCACert: env.CLUSTER_CA_CERT,
    signToken: tokenSigner(env),
    serviceClusterIPRange: env.SERVICE_CLUSTER_IP_RANGE || defaultConfig.serviceClusterIPRange,
    hpaSyncPeriodSeconds:
      seconds(env.HPA_SYNC_PERIOD_SECONDS, defaultConfig.hpaSyncPeriodSeconds) ||
      defaultConfig.hpaSyncPeriodSeconds,
    ingressAddress: env.INGRESS_ADDRESS || undefined,
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

/** The singleton: one work queue and one worker per controller over shared informers. */
export class ControllerManager extends DurableObject<Env> {
  private readonly controllers = new Map<string, Controller>(CONTROLLERS.map((c) => [c.name, c]));
  private readonly queues = new Map<string, WorkQueue>(
    CONTROLLERS.map((c) => [c.name, new WorkQueue(Date.now, () => this.wake(c.name))]),
  );
  /** Pod creations/deletions in flight per owner UID, lowered by the pod informer's events. */
  private readonly expectations = new Expectations();
  /** Workers with a round under way. */
  private readonly running = new Map<string, Promise<void>>();
  private passes = 0;
  /** When each controller's last round ended and how long it took (for pacing). */
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

  /** Fast path: writes to these resources happened; queue every key of their watchers. */
  async poke(resources: string[]): Promise<void> {
    if (!this.fastPath) return;
    // A running watch delivers this change itself (and after the cache has it); poke only for the rest.
    this.queueAll(resources.filter((r) => !this.informers?.watching(r.replace(/:DELETED$/, ""))));
  }

  /** Cron: every key of every controller; resolves when the manager is idle again. */
  async resync(): Promise<{ passes: number }> {
    const start = this.passes;
    for (const queue of this.queues.values()) queue.add(ALL_KEYS);
    await this.idle();
    await this.armTimer();
    return { passes: this.passes - start };
  }

  /** Rounds run since this object started, and what is queued, running and waiting (tests, the bench). */
  async stats(): Promise<{
    passes: number;
    dirty: string[];
    running: string[];
    due: Record<string, number>;
  }> {
    const due: Record<string, number> = {};
    for (const [name, queue] of this.queues) {
      const at = queue.nextDue();
      if (at !== undefined) due[name] = at;
    }
    return {
      passes: this.passes,
      dirty: [...this.queues].filter(([, q]) => q.length > 0).map(([name]) => name),
      running: [...this.running.keys()],
      due,
    };
  }

  override async alarm(): Promise<void> {
    // Keys whose time came are queued; their workers go on without holding the alarm.
    for (const queue of this.queues.values()) queue.promote();
    await this.armTimer();
  }

  /** An informer saw a change (or applied our write): lower expectations, then queue the keys it affects. */
  private changed(event: InformerEvent): void {
    if (event.resource === "/pods") this.expectations.observe(event);
    else if (event.type === "DELETED") this.expectations.forget(event.object.metadata?.uid);
    // Off the fast path only our own writes (deps) carry work on between cron ticks.
    if (this.fastPath) this.route(event);
  }

  /** Queue the keys an event affects, for every controller watching its resource. */
  private route(event: InformerEvent): void {
    const tokens =
      event.type === "DELETED" ? [event.resource, `${event.resource}:DELETED`] : [event.resource];
    for (const name of watchersOf([...this.controllers.values()], tokens)) {
      const controller = this.controllers.get(name);
      const queue = this.queues.get(name);
      if (!controller || !queue) continue;
      for (const key of controller.keysFor?.(event) ?? [ALL_KEYS]) queue.add(key);
    }
  }

  /** Queue every key of the controllers watching these resources. */
  private queueAll(resources: string[]): void {
    for (const name of watchersOf([...this.controllers.values()], resources))
      this.queues.get(name)?.add(ALL_KEYS);
  }

  /** Start a controller's worker unless it is running (a running one picks the new key up). */
  private wake(name: string): void {
    if (this.running.has(name)) return;
    const worker = this.work(name).finally(() => {
      this.running.delete(name);
      // Timers a round asked for (requeueAfter, backoff) need the alarm; set it once the worker settles.
      if (this.queues.get(name)?.nextDue() !== undefined) this.armTimer().catch(warnAlarm);
    });
    this.running.set(name, worker);
  }

  /** Resolve once no worker is running (workers may wake each other meanwhile). */
  private async idle(): Promise<void> {
    while (this.running.size > 0) await Promise.all(this.running.values());
  }

  /**
   * The deps a controller's reconciles get: our writes are applied to the informers as they succeed.
   * `wrote` collects what our writes changed, `broad` the resources whose watchers must look at every
   * key; the worker queues their keys when its round ends, as passes did (a scheduler round binding
   * thousands of pods wakes the other controllers once, not once per binding).
   */
  private deps(wrote: InformerEvent[], broad: Set<string>): Deps {
    const cache = this.cache;
    const client = trackWrites(controllerClient(this.env), (ref, result, deleted) => {
      // The informer applies the answer at once (its event lowers expectations). Our writes always queue
      // the keys they affect, even off the fast path and when the watch delivered the change first: the
      // API server's hook does not fire for in-process writes. An answer without the object (a binding's
      // Status) makes the resource's watchers look at every key.
      cache.wrote(ref, result, deleted);
      const id = resourceId(ref);
      const object = result as KubeObject | undefined;
      if (!object?.metadata?.name || object.kind === "Status") {
        broad.add(id);
        if (deleted) broad.add(`${id}:DELETED`);
        return;
      }
      const gone = deleted && !object.metadata.deletionTimestamp;
      wrote.push({ resource: id, type: gone ? "DELETED" : "MODIFIED", object });
    });
    return {
      client,
      cache,
      now: () => new Date(),
      recorder: eventRecorder(client, "edgeplane-controller-manager", () => new Date()),
      config: configFromEnv(this.env),
      expectations: this.expectations,
    };
  }

  /** Drain a controller's queue in rounds, one key at a time. */
  private async work(name: string): Promise<void> {
    const controller = this.controllers.get(name);
    const queue = this.queues.get(name);
    if (!controller || !queue) return;
    const wrote: InformerEvent[] = [];
    const broad = new Set<string>();
    const deps = this.deps(wrote, broad);
    while (queue.length > 0) {
      await this.settle(name);
      this.passes++;
      const started = Date.now();
      // A round covers what is queued now; keys queued meanwhile wait for the next (batching under load).
      for (let n = queue.length; n > 0; n--) {
        const key = queue.get();
        if (key === undefined) break;
        try {
          if (key === ALL_KEYS) {
            const before = queue.length;
            for (const k of await controller.keys(deps)) queue.add(k);
            n += queue.length - before;
          } else {
            const result = await controller.reconcile(key, deps);
            if (result?.requeueAfterMs !== undefined) queue.addAfter(key, result.requeueAfterMs);
          }
          queue.forget(key);
        } catch (error) {
          console.warn(
            `controller ${name}: ${key === ALL_KEYS ? "listing keys" : `reconcile ${key}`} failed: ${(error as Error).message}`,
          );
          queue.addRateLimited(key);
        } finally {
          queue.done(key);
        }
      }
      this.lastPass.set(name, { end: Date.now(), took: Date.now() - started });
      for (const event of wrote.splice(0)) this.route(event);
      this.queueAll([...broad]);
      broad.clear();
    }
  }

  /**
   * Pace a controller: its next round starts no sooner after the last one ended than that round took
   * (within bounds). Under a stream of changes each round then covers a batch of them and a controller
   * uses at most about half of the thread, instead of running once per change.
   */
  private async settle(name: string): Promise<void> {
    const last = this.lastPass.get(name);
    if (!last) return;
    const wait = last.end + Math.min(MAX_SETTLE_MS, Math.max(MIN_SETTLE_MS, last.took)) - Date.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
  }

  /** Arm the alarm for the earliest waiting key (timers only on the fast path; the cron covers the rest). */
  private async armTimer(): Promise<void> {
    if (!this.fastPath) return;
    let next: number | undefined;
    for (const queue of this.queues.values()) {
      const at = queue.nextDue();
      if (at !== undefined && (next === undefined || at < next)) next = at;
    }
    if (next !== undefined) await this.ctx.storage.setAlarm(next);
  }
}

const warnAlarm = (error: unknown) =>
  console.warn(`controller manager: arming the alarm failed: ${(error as Error).message}`);
