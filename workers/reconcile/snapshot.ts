/**
 * A per-pass cache of lists: each resource is listed at most once per pass
 * (no per-key relists), and a write this pass makes to a resource drops that
 * resource's list so the next controller in the same pass sees it.
 */
import type { KubeClient, KubeObject, ResourceRef } from "../client/kube.ts";
import { type ObjectCache, resourceId } from "./types.ts";

/** Objects per list page: keeps each response (and store RPC) bounded however big a resource grows. */
const PAGE_SIZE = 1000;

/** Memoised cluster-wide lists for one pass. Objects are shared: clone before mutating. */
export class Snapshot implements ObjectCache {
  private lists = new Map<string, Promise<KubeObject[]>>();
  private indexes = new Map<string, Promise<Map<string, KubeObject>>>();

  constructor(private readonly client: KubeClient) {}

  /** Every object of a resource (all namespaces), listed once per pass. */
  list<T extends KubeObject = KubeObject>(ref: ResourceRef): Promise<T[]> {
    const id = resourceId(ref);
    let entry = this.lists.get(id);
    if (!entry) {
      entry = this.listAll(ref);
      // A failed list must not poison the pass's later readers.
      entry.catch(() => this.lists.delete(id));
      this.lists.set(id, entry);
    }
    return entry as Promise<T[]>;
  }

  /** Page through a resource (bounded responses, one consistent revision via continue tokens). */
  private async listAll(ref: ResourceRef): Promise<KubeObject[]> {
    const items: KubeObject[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.list(ref, undefined, { limit: PAGE_SIZE, continue: token });
      items.push(...page.items);
      const next = page.metadata.continue || undefined;
      // An empty page or a repeated token would otherwise loop forever.
      token = page.items.length > 0 && next !== token ? next : undefined;
    } while (token);
    return items;
  }

  /** One object by namespace/name from the pass's list (undefined when absent). */
  async get<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    const id = resourceId(ref);
    let index = this.indexes.get(id);
    if (!index) {
      index = this.list(ref).then((items) => {
        const map = new Map<string, KubeObject>();
        for (const item of items) map.set(`${item.metadata?.namespace ?? ""}/${item.metadata?.name}`, item);
        return map;
      });
      this.indexes.set(id, index);
    }
    return (await index).get(`${namespace ?? ""}/${name}`) as T | undefined;
  }

  /** A write drops the resource's list: the next reader lists again and sees it. */
  wrote(ref: ResourceRef): void {
    this.invalidate(resourceId(ref));
  }

  /** Nothing to do: the write that made the assumption already dropped the list. */
  assume(): void {}

  /** Forget a resource's list (after a write to it). */
  invalidate(id: string): void {
    this.lists.delete(id);
    this.indexes.delete(id);
  }
}
