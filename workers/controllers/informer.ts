/**
 * Watch-fed caches for the controller manager, after client-go's shared
 * informers: each resource is listed once (in pages), then kept current by a
 * watch from the list's resourceVersion, with bookmarks; a 410 Expired
 * relists, any other end of the stream re-watches from the last revision seen.
 * Every change is reported (onEvent) with the object before and after, so the
 * manager queues the keys it affects, whatever wrote it; our own writes
 * applied here are reported once (the watch's repeat of them is then stale).
 *
 * Read-your-writes inside the manager: the manager's own successful writes
 * are applied at once (`wrote`), and the scheduler `assume`s the pods it
 * bound, so a controller running right after a write never acts on the state
 * from before it (kube-controller-manager needs "expectations" for this).
 * A copy is only ever replaced by a newer resourceVersion (revisions are
 * per resource, or per sub-shard, where each object stays: so one object's
 * compare as numbers), and a deleted key ignores
 * older copies still in flight for it.
 */
import type { KubeClient, KubeObject, ResourceRef } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import { type ObjectCache, type ObjectEvent, resourceId } from "../reconcile/types.ts";

/** Objects per list page: bounded responses however big a resource grows. */
const PAGE_SIZE = 1000;
/** Wait before re-watching after an unexpected end, doubling up to the cap. */
const RETRY_MS = [100, 500, 1000, 5000];
/** Deleted keys remembered (against late copies of what was deleted). */
const MAX_TOMBSTONES = 10_000;

const keyOf = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
/**
 * An object's revision, comparable between copies of the same object: the
 * number, or for a resource split over store sub-shards ("12.40.7.33@2",
 * apiserver/registry/keys.ts) its own sub-shard's component, since one
 * object always lives in one sub-shard.
 */
const rvOf = (o: KubeObject | undefined) => {
  const rv = o?.metadata?.resourceVersion ?? "0";
  const at = rv.indexOf("@");
  if (at < 0) return Number(rv) || 0;
  return Number(rv.slice(0, at).split(".")[Number(rv.slice(at + 1))]) || 0;
};

/** What an informer reports to its owner: the resource ("group/resource"), the change, the object. */
export type InformerEvent = ObjectEvent;

/** One resource's cache: a list, then a watch that keeps it current. */
class Informer {
  private readonly items = new Map<string, KubeObject>();
  /** Keys our own deletes removed, with the revision they had: older events for them are stale. */
  private readonly tombstones = new Map<string, number>();
  private array: KubeObject[] | undefined;
  private resourceVersion = "";
  private readonly abort = new AbortController();
  /** Resolves once the first list is in (rejects if it failed: the owner drops this informer). */
  readonly synced: Promise<void>;
  /** False while the watch is down (between an end and the re-watch). */
  live = false;

  constructor(
    private readonly client: KubeClient,
    readonly ref: ResourceRef,
    private readonly onEvent: (event: InformerEvent) => void,
  ) {
    // client-go's reflector lists with resourceVersion "0" first (the watch cache may answer), and after
    // 410 Expired consistently (relist's default): an expired watch must not be resumed from older state.
    this.synced = this.relist("0");
    this.synced.then(
      () => void this.run(),
      () => {},
    );
  }

  /** Every cached object (shared: clone before mutating). */
  list(): KubeObject[] {
    this.array ??= [...this.items.values()];
    return this.array;
  }

  get(namespace: string | undefined, name: string): KubeObject | undefined {
    return this.items.get(`${namespace ?? ""}/${name}`);
  }

  /**
   * Put a copy in if it is at least as new as ours (our own writes and the scheduler's assumptions), and
   * report it, unless it is a write's answer the watch already delivered (same revision: no change).
   */
  put(object: KubeObject, assumed = false): void {
    const key = keyOf(object);
    const have = this.items.get(key);
    const rv = rvOf(object);
    if ((have && rvOf(have) > rv) || (this.tombstones.get(key) ?? -1) >= rv || have === object) return;
    this.items.set(key, object);
    this.array = undefined;
    if (have && rvOf(have) === rv && !assumed) return;
    this.report(have ? "MODIFIED" : "ADDED", object, have);
  }

  /** Our own delete removed this object (its last revision was rv). */
  remove(object: KubeObject): void {
    const key = keyOf(object);
    this.bury(key, rvOf(object));
    const have = this.items.get(key);
    if (!have) return;
    this.items.delete(key);
    this.array = undefined;
    this.report("DELETED", object, have);
  }

  private report(type: ObjectEvent["type"], object: KubeObject, old?: KubeObject): void {
    this.onEvent({ resource: resourceId(this.ref), type, object, ...(old ? { old } : {}) });
  }

  /** Remember a deleted key's last revision (bounded: the oldest are forgotten first). */
  private bury(key: string, rv: number): void {
    if ((this.tombstones.get(key) ?? -1) >= rv) return;
    this.tombstones.delete(key);
    this.tombstones.set(key, rv);
    if (this.tombstones.size > MAX_TOMBSTONES)
      this.tombstones.delete(this.tombstones.keys().next().value ?? "");
  }

  stop(): void {
    this.abort.abort();
    this.live = false;
  }

  /** List every page at one revision and replace the cache with it ("0": any freshness, "": the latest). */
  private async relist(resourceVersion: "0" | "" = ""): Promise<void> {
    const items = new Map<string, KubeObject>();
    let token: string | undefined;
    let revision = "";
    do {
      const page = await this.client.list(this.ref, undefined, {
        limit: PAGE_SIZE,
        continue: token,
        // Pages after the first are pinned by their continue token; kube ignores "0" beside one.
        ...(resourceVersion && !token ? { resourceVersion } : {}),
      });
      for (const item of page.items) items.set(keyOf(item), item);
      revision ||= page.metadata.resourceVersion ?? "";
      const next = page.metadata.continue || undefined;
      token = page.items.length > 0 && next !== token ? next : undefined;
    } while (token);
    const before = new Map(this.items);
    this.items.clear();
    for (const [k, o] of items) this.items.set(k, o);
    this.tombstones.clear();
    this.array = undefined;
    this.resourceVersion = revision;
    // Report each difference, as client-go's replace does: on a relist (after 410) the changes it may have
    // missed, on the first list every object as ADDED. An informer is started by whichever controller uses
    // the resource first, and the write hook's poke for a resource whose watch runs is dropped (the watch
    // brings it): an object the first list took in unreported would reach no other watcher of the resource.
    for (const [k, o] of items) {
      const old = before.get(k);
      if (old !== o) this.report(old ? "MODIFIED" : "ADDED", o, old);
    }
    for (const [k, o] of before) if (!items.has(k)) this.report("DELETED", o, o);
  }

  /** Watch from the last revision until stopped; relist after 410, back off after other failures. */
  private async run(): Promise<void> {
    let failures = 0;
    while (!this.abort.signal.aborted) {
      try {
        this.live = true;
        const stream = this.client.watch(this.ref, undefined, {
          resourceVersion: this.resourceVersion,
          allowWatchBookmarks: true,
          signal: this.abort.signal,
        });
        for await (const event of stream) {
          if (event.type === "ERROR") {
            const code = (event.object as { code?: number }).code;
            // Any other error (the store unavailable) is a failure: back off, never re-watch at once (that
            // spun workerd in a promise loop when a full disk made the store refuse without any I/O).
            if (code === 410) {
              await this.relist();
              failures = 0;
            } else failures++;
            break;
          }
          failures = 0;
          this.apply(event.type, event.object);
        }
      } catch (error) {
        if (this.abort.signal.aborted) break;
        if (error instanceof ApiError && error.code === 410) await this.relist().catch(() => {});
        failures++;
      }
      this.live = false;
      if (failures > 0 && !this.abort.signal.aborted)
        await new Promise((r) => setTimeout(r, RETRY_MS[Math.min(failures, RETRY_MS.length) - 1]));
    }
    this.live = false;
  }

  private apply(type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK", object: KubeObject): void {
    const rv = rvOf(object);
    if (rv && String(rv) !== this.resourceVersion)
      this.resourceVersion = object.metadata?.resourceVersion ?? "";
    if (type === "BOOKMARK") return;
    const key = keyOf(object);
    const have = this.items.get(key);
    if (type === "DELETED") {
      this.bury(key, rv);
      if (!this.items.delete(key)) return;
    } else {
      if ((have && rvOf(have) >= rv) || (this.tombstones.get(key) ?? -1) >= rv) return;
      this.tombstones.delete(key);
      this.items.set(key, object);
    }
    this.array = undefined;
    this.report(type, object, have);
  }
}

/** The manager's long-lived cache: one informer per resource, started on first use. */
export class InformerCache implements ObjectCache {
  private readonly informers = new Map<string, Informer>();

  constructor(
    private readonly client: KubeClient,
    private readonly onEvent: (event: InformerEvent) => void,
  ) {}

  /** The informer for a resource, started (and listed) on first use; a failed start is retried next time. */
  private informer(ref: ResourceRef): Informer {
    const id = resourceId(ref);
    let informer = this.informers.get(id);
    if (!informer) {
      informer = new Informer(this.client, ref, this.onEvent);
      const started = informer;
      this.informers.set(id, started);
      started.synced.catch(() => {
        if (this.informers.get(id) === started) this.informers.delete(id);
        started.stop();
      });
    }
    return informer;
  }

  async list<T extends KubeObject = KubeObject>(ref: ResourceRef): Promise<T[]> {
    const informer = this.informer(ref);
    await informer.synced;
    return informer.list() as T[];
  }

  async get<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const informer = this.informer(ref);
    await informer.synced;
    return informer.get(namespace, name) as T | undefined;
  }

  /**
   * A write of ours succeeded: reflect what the server returned (objects only; Status answers carry none).
   * Returns whether it was applied (false: no informer for the resource, or no object in the answer).
   */
  wrote(ref: ResourceRef, result: unknown, deleted: boolean): boolean {
    const informer = this.informers.get(resourceId(ref));
    const object = result as KubeObject | undefined;
    if (!informer || !object?.metadata?.name || object.kind === "Status") return false;
    // A delete answers with the object: still there when graceful or finalized, else gone.
    if (deleted && !object.metadata.deletionTimestamp) informer.remove(object);
    else informer.put(object);
    return true;
  }

  /** Record a change the server has accepted but not yet shown us (the scheduler's bindings). */
  assume(ref: ResourceRef, object: KubeObject): void {
    this.informers.get(resourceId(ref))?.put(object, true);
  }

  /** Is this resource's watch running (so its changes reach us without a poke)? */
  watching(id: string): boolean {
    return this.informers.get(id)?.live === true;
  }

  stop(): void {
    for (const informer of this.informers.values()) informer.stop();
    this.informers.clear();
  }
}
