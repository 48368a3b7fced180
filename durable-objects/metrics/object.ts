/**
 * MetricsObject: the singleton Durable Object (by name "metrics") that holds
 * each node's latest resource-metrics sample, as metrics-server holds its
 * last scrape in memory. Samples are never Kubernetes objects: they change
 * every period and would flood the store's log and its watchers. The object
 * keeps them in memory and also in its own storage, so a sample outlives the
 * object being evicted; a sample older than the staleness bound is dropped
 * when read. Write load: one small write per node per period.
 */
import { DurableObject } from "cloudflare:workers";
import type { NodeSample } from "../../workers/client/metrics-sample.ts";

/** A node's sample with the node's name and when the control plane got it (its own clock: agents' clocks may be off). */
export interface StoredSample extends NodeSample {
  nodeName: string;
  receivedAt: number;
}

/** The storage key prefix of a node's sample. */
const KEY = "node:";

/** The latest sample per node. */
export class MetricsObject extends DurableObject {
  private cache?: Map<string, StoredSample>;

  private async samples(): Promise<Map<string, StoredSample>> {
    if (!this.cache) {
      const stored = await this.ctx.storage.list<StoredSample>({ prefix: KEY });
      this.cache = new Map([...stored.values()].map((s) => [s.nodeName, s]));
    }
    return this.cache;
  }

  /** Record a node's latest sample (replacing the previous one). */
  async put(sample: StoredSample): Promise<void> {
    const samples = await this.samples();
    samples.set(sample.nodeName, sample);
    await this.ctx.storage.put(KEY + sample.nodeName, sample);
  }

  /** Every node's sample received at or after `notBefore` (ms since the epoch); older ones are deleted. */
  async list(notBefore: number): Promise<StoredSample[]> {
    const samples = await this.samples();
    const fresh: StoredSample[] = [];
    for (const [node, sample] of samples) {
      if (sample.receivedAt >= notBefore) fresh.push(sample);
      else {
        samples.delete(node);
        await this.ctx.storage.delete(KEY + node);
      }
    }
    return fresh;
  }
}
