/**
 * Whole collections that admission reads on every write of a kind
 * (PriorityClasses for the global default on every pod create, LimitRanges),
 * held per isolate as kube's plugins hold them in informers: a write to one
 * made through this isolate makes the next read list it again (observe, fed
 * by the registry's write hook), and writes made elsewhere are noticed by
 * comparing the collection's store revision at most every `maxAgeMs`, as the
 * RBAC and webhook caches do. Callers get the cached objects themselves and
 * must not change them.
 */
import type { KubeObject } from "../../client/kube.ts";
import { collectionPrefix, toResourceVersion } from "./keys.ts";
import type { Registry } from "./registry.ts";
import type { ResourceInfo } from "./types.ts";

/** Bounds of a CollectionCache. */
export interface CollectionCacheOptions {
  /** How long a collection is used before its store revision is compared again (default 1 s). */
  maxAgeMs?: number;
  now?: () => number;
}

interface Held {
  items: KubeObject[];
  revision: string;
  checkedAt: number;
  generation: number;
}

/** The per-isolate cache of whole collections, keyed by group/resource. */
export class CollectionCache {
  private readonly held = new Map<string, Held>();
  /** Bumped per collection by every observed write: a list begun before it is not kept. */
  private readonly generations = new Map<string, number>();
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /** How many times a collection was (re)listed: for tests. */
  loads = 0;

  constructor(options: CollectionCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** A write this isolate committed: that collection is listed again on its next read. */
  observe(event: { group: string; resource: string }): void {
    const key = `${event.group}/${event.resource}`;
    this.generations.set(key, (this.generations.get(key) ?? 0) + 1);
  }

  /** Every object of `info` (all namespaces): cached, revalidated by revision when older than maxAgeMs, or listed. */
  async list(registry: Registry, info: ResourceInfo): Promise<KubeObject[]> {
    const key = `${info.group}/${info.resource}`;
    const now = this.now();
    const generation = this.generations.get(key) ?? 0;
    const held = this.held.get(key);
    const valid = held?.generation === generation ? held : undefined;
    if (valid && now - valid.checkedAt < this.maxAgeMs) return valid.items;
    if (valid) {
      const { current } = await registry.store.revisions(collectionPrefix(info));
      if (toResourceVersion(current) === valid.revision && this.held.get(key) === valid) {
        valid.checkedAt = now;
        return valid.items;
      }
    }
    // Each request lists for itself (as the RBAC cache does): a list begun by a request that is then
    // cancelled may never settle in workerd, and requests waiting on it would hang.
    const page = await registry.list(info, undefined);
    this.loads++;
    const current = this.held.get(key);
    const older = current !== undefined && Number(page.resourceVersion) < Number(current.revision);
    if ((this.generations.get(key) ?? 0) === generation && !(current?.generation === generation && older))
      this.held.set(key, { items: page.items, revision: page.resourceVersion, checkedAt: now, generation });
    return page.items;
  }
}
