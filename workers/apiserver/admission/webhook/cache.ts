/**
 * The webhook configurations an isolate dispatches from, so a write does not
 * list both collections every time: a configuration written through this
 * isolate makes the next read reload (observe, fed by the registry's write
 * hook), and writes made elsewhere are noticed by comparing the two
 * collections' store revisions at most every `maxAgeMs` (kube's dispatcher
 * reads an informer, which lags as well).
 */
import type { KubeObject } from "../../../client/kube.ts";

/** The admissionregistration API group. */
export const ADMISSION_GROUP = "admissionregistration.k8s.io";
/** The two configuration collections, in the order a snapshot holds them. */
const CONFIG_RESOURCES = ["mutatingwebhookconfigurations", "validatingwebhookconfigurations"] as const;
/** One of the configuration collections. */
export type ConfigResource = (typeof CONFIG_RESOURCES)[number];

/** Where configurations are read from: a whole collection with its revision, and the revision alone. */
export interface ConfigSource {
  list(resource: ConfigResource): Promise<{ items: KubeObject[]; revision: string }>;
  revision(resource: ConfigResource): Promise<string>;
}

interface Snapshot {
  revisions: string[];
  items: Record<ConfigResource, KubeObject[]>;
}

/** Bounds of a WebhookConfigCache. */
export interface WebhookConfigCacheOptions {
  /** How long a snapshot is used before the revisions are compared again (default 1 s). */
  maxAgeMs?: number;
  now?: () => number;
}

/** The per-isolate cache of webhook configurations. */
export class WebhookConfigCache {
  private snapshot?: Snapshot;
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** Bumped by every observed configuration write: a load begun before it is not kept. */
  private generation = 0;
  private loaded = -1;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /** How many times the collections were (re)read: for tests. */
  loads = 0;

  constructor(options: WebhookConfigCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** A write this isolate committed: a webhook configuration makes the next read reload. */
  observe(event: { group: string }): void {
    if (event.group === ADMISSION_GROUP) this.generation++;
  }

  /** The configurations of one collection: cached, revalidated by revision when older than maxAgeMs, or reloaded. */
  async get(source: ConfigSource, resource: ConfigResource): Promise<KubeObject[]> {
    return (await this.current(source)).items[resource];
  }

  private async current(source: ConfigSource): Promise<Snapshot> {
    const now = this.now();
    const held = this.loaded === this.generation ? this.snapshot : undefined;
    if (held && now - this.checkedAt < this.maxAgeMs) return held;
    if (held) {
      const revisions = await Promise.all(CONFIG_RESOURCES.map((r) => source.revision(r)));
      if (revisions.every((rev, i) => rev === held.revisions[i]) && this.snapshot === held) {
        this.checkedAt = now;
        return held;
      }
    }
    // Each request loads for itself (as the RBAC cache does): a load begun by a request that is
    // then cancelled may never settle in workerd, and requests waiting on it would hang.
    const generation = this.generation;
    const lists = await Promise.all(CONFIG_RESOURCES.map((r) => source.list(r)));
    const snapshot: Snapshot = {
      revisions: lists.map((l) => l.revision),
      items: {
        mutatingwebhookconfigurations: lists[0].items,
        validatingwebhookconfigurations: lists[1].items,
      },
    };
    this.loads++;
    const older = snapshot.revisions.some((rev, i) => Number(rev) < Number(this.snapshot?.revisions[i] ?? 0));
    if (generation === this.generation && !(this.loaded === generation && older)) {
      this.snapshot = snapshot;
      this.loaded = generation;
      this.checkedAt = now;
    }
    return snapshot;
  }
}
