/**
 * client-go's EventCorrelator (tools/record/events_cache.go), without I/O: it
 * decides whether an event is a new object, a PATCH of one already written
 * (count + 1, lastTimestamp), or dropped by the spam filter. Kubelet records
 * through it, so a crash loop is one BackOff event whose count grows, not a
 * flood of objects.
 */
import type { CoreEvent } from "../../../workers/client/types.ts";

/** What the recorder must do with one event. */
export type Correlation =
  | { action: "create"; event: CoreEvent }
  | { action: "patch"; event: CoreEvent; patch: { count: number; lastTimestamp: string; message: string } }
  | { action: "drop" };

/** client-go's defaults: 25 events per source+object at once, then one per 5 minutes; 10 similar within 10 min are combined. */
export const CORRELATOR_DEFAULTS = {
  burst: 25,
  refillPerMs: 1 / 300_000,
  maxSimilar: 10,
  similarWindowMs: 600_000,
  cacheSize: 4096,
};

interface Bucket {
  tokens: number;
  at: number;
}
interface Seen {
  name: string;
  count: number;
  firstTimestamp: string;
}
interface Similar {
  messages: Set<string>;
  at: number;
}

/** A map that forgets its oldest entry past `size` (client-go uses an LRU of 4096). */
class Bounded<V> extends Map<string, V> {
  constructor(private readonly limit: number) {
    super();
  }
  override set(key: string, value: V): this {
    super.delete(key);
    super.set(key, value);
    if (this.limit < super.size) super.delete(super.keys().next().value as string);
    return this;
  }
}

const objectKey = (e: CoreEvent) => {
  const o = e.involvedObject;
  return [o.kind, o.namespace, o.name, o.uid, o.apiVersion].join("\u0000");
};
const sourceKey = (e: CoreEvent) => [e.source?.component, e.source?.host].join("\u0000");

/** One correlator per recorder (per agent): its caches are the memory of what was written. */
export class EventCorrelator {
  private readonly buckets: Bounded<Bucket>;
  private readonly seen: Bounded<Seen>;
  private readonly similar: Bounded<Similar>;

  constructor(private readonly options = CORRELATOR_DEFAULTS) {
    this.buckets = new Bounded(options.cacheSize);
    this.seen = new Bounded(options.cacheSize);
    this.similar = new Bounded(options.cacheSize);
  }

  /** Decide about `event` (its count 1, first and last timestamp now) at time `nowMs`. */
  observe(event: CoreEvent, nowMs: number): Correlation {
    if (!this.allow(`${sourceKey(event)}\u0000${objectKey(event)}`, nowMs)) return { action: "drop" };
    const { event: aggregated, key } = this.aggregate(event, nowMs);
    const last = this.seen.get(key);
    if (!last) {
      this.seen.set(key, {
        name: aggregated.metadata?.name ?? "",
        count: 1,
        firstTimestamp: aggregated.firstTimestamp ?? "",
      });
      return { action: "create", event: aggregated };
    }
    const count = last.count + 1;
    this.seen.set(key, { ...last, count });
    const lastTimestamp = aggregated.lastTimestamp ?? "";
    return {
      action: "patch",
      event: {
        ...aggregated,
        metadata: { ...aggregated.metadata, name: last.name },
        count,
        firstTimestamp: last.firstTimestamp,
      },
      patch: { count, lastTimestamp, message: aggregated.message ?? "" },
    };
  }

  /** Token bucket per source and object (client-go's EventSourceObjectSpamFilter). */
  private allow(key: string, nowMs: number): boolean {
    const { burst, refillPerMs } = this.options;
    const old = this.buckets.get(key) ?? { tokens: burst, at: nowMs };
    const tokens = Math.min(burst, old.tokens + (nowMs - old.at) * refillPerMs);
    if (tokens < 1) {
      this.buckets.set(key, { tokens, at: nowMs });
      return false;
    }
    this.buckets.set(key, { tokens: tokens - 1, at: nowMs });
    return true;
  }

  /**
   * Past maxSimilar distinct messages for one object and reason within the window, they are combined into one
   * event keyed without its message (client-go's EventAggregator); otherwise the key includes the message.
   */
  private aggregate(event: CoreEvent, nowMs: number): { event: CoreEvent; key: string } {
    const key = [
      sourceKey(event),
      objectKey(event),
      event.involvedObject.fieldPath,
      event.type,
      event.reason,
    ].join("\u0000");
    const old = this.similar.get(key);
    const entry =
      old && nowMs - old.at <= this.options.similarWindowMs
        ? old
        : { messages: new Set<string>(), at: nowMs };
    entry.messages.add(event.message ?? "");
    entry.at = nowMs;
    this.similar.set(key, entry);
    if (entry.messages.size < this.options.maxSimilar)
      return { event, key: `${key}\u0000${event.message ?? ""}` };
    return { event: { ...event, message: `(combined from similar events): ${event.message ?? ""}` }, key };
  }
}
