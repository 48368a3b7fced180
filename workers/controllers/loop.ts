/**
 * One pass of the controller manager: for each selected controller, list its
 * keys and reconcile each, isolating failures per key and per controller.
 * Writes made during the pass are reported so the manager can run the
 * controllers that watch what changed (and the pass cache drops stale lists).
 */
import type { KubeClient, ResourceRef } from "../client/kube.ts";
import { Expectations } from "../reconcile/expectations.ts";
import { Snapshot } from "../reconcile/snapshot.ts";
import {
  type Controller,
  type ControllerConfig,
  type Deps,
  type ObjectCache,
  type Recorder,
  resourceId,
} from "../reconcile/types.ts";

/** What a pass did: resources it wrote, when it wants to run again, what failed. */
export interface PassReport {
  /** "group/resource" of every resource this pass wrote, plus "group/resource:DELETED" for deletions. */
  wrote: Set<string>;
  /** Per controller: the earliest time (ms since epoch) a key asked to be reconciled again. */
  requeue: Map<string, number>;
  /** Controllers that had at least one failure (to retry with backoff). */
  failed: Map<string, unknown>;
}

/** Inputs of a pass: every dependency passed in. */
export interface PassOptions {
  controllers: Controller[];
  client: KubeClient;
  now: () => Date;
  config: ControllerConfig;
  /** Long-lived cache (the manager's informers); default: a fresh per-pass Snapshot. */
  cache?: ObjectCache;
  /** Pending pod creations/deletions per owner; default: a fresh store per pass. */
  expectations?: Expectations;
  /** Builds the event recorder over the tracking client. */
  recorder: (client: KubeClient) => Recorder;
  log?: (message: string) => void;
}

/** Wrap a client so every successful write is reported (by "group/resource"). */
export function trackWrites(
  client: KubeClient,
  onWrite: (ref: ResourceRef, result: unknown, deleted: boolean) => void,
): KubeClient {
  const done = <R>(ref: ResourceRef, result: Promise<R>, deleted = false): Promise<R> =>
    result.then((value) => {
      onWrite(ref, value, deleted);
      return value;
    });
  return {
    get: (...a) => client.get(...a),
    list: (...a) => client.list(...a),
    watch: (...a) => client.watch(...a),
    request: (...a) => client.request(...a),
    create: (ref, ns, object, options) => done(ref, client.create(ref, ns, object, options)),
    update: (ref, ns, object, options) => done(ref, client.update(ref, ns, object, options)),
    patch: (ref, ns, name, type, patch, options) =>
      done(ref, client.patch(ref, ns, name, type, patch, options)),
    delete: (ref, ns, name, options) => done(ref, client.delete(ref, ns, name, options), true),
  };
}

/** Run the given controllers once, in order. Never throws: failures are logged and reported. */
export async function runPass(options: PassOptions): Promise<PassReport> {
  const report: PassReport = { wrote: new Set(), requeue: new Map(), failed: new Map() };
  const log = options.log ?? ((m: string) => console.warn(m));
  let cache: ObjectCache | undefined;
  const client = trackWrites(options.client, (ref, result, deleted) => {
    const id = resourceId(ref);
    report.wrote.add(id);
    if (deleted) report.wrote.add(`${id}:DELETED`);
    cache?.wrote(ref, result, deleted);
  });
  cache = options.cache ?? new Snapshot(client);
  const deps: Deps = {
    client,
    cache,
    now: options.now,
    recorder: options.recorder(client),
    config: options.config,
    expectations: options.expectations ?? new Expectations(() => options.now().getTime()),
  };
  for (const controller of options.controllers) {
    let keys: string[];
    try {
      keys = await controller.keys(deps);
    } catch (error) {
      log(`controller ${controller.name}: listing keys failed: ${(error as Error).message}`);
      report.failed.set(controller.name, error);
      continue;
    }
    for (const key of keys) {
      try {
        const result = await controller.reconcile(key, deps);
        if (result?.requeueAfterMs !== undefined) {
          const due = options.now().getTime() + Math.max(0, result.requeueAfterMs);
          const prev = report.requeue.get(controller.name);
          if (prev === undefined || due < prev) report.requeue.set(controller.name, due);
        }
      } catch (error) {
        log(`controller ${controller.name}: reconcile ${key} failed: ${(error as Error).message}`);
        report.failed.set(controller.name, error);
      }
    }
  }
  return report;
}

/** The controllers that watch any of the given resources. */
export function watchersOf(controllers: Controller[], resources: Iterable<string>): Set<string> {
  const wanted = new Set(resources);
  const out = new Set<string>();
  for (const c of controllers) if (c.watches.some((w) => wanted.has(w))) out.add(c.name);
  return out;
}
