/**
 * Counters, gauges and histograms in the Prometheus text format (0.0.4), small
 * enough for the Worker: prom-client leans on Node's process and perf_hooks,
 * which a workerd isolate does not have, and the API server needs only these
 * three types with labels.
 */

/** Label names to values; every series of one metric uses the same names. */
export type Labels = Record<string, string>;

/** kube's request latency buckets (apiserver_request_duration_seconds, etcd_request_duration_seconds). */
const KUBE_LATENCY_BUCKETS = [
  0.005, 0.025, 0.05, 0.1, 0.2, 0.4, 0.6, 0.8, 1, 1.25, 1.5, 2, 3, 4, 5, 6, 8, 10, 15, 20, 30, 45, 60,
];

const escapeValue = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
const escapeHelp = (v: string) => v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n");
/**
 * One string per label set, whatever order its names were written in. Runs on every request (a
 * counter, a gauge and two histograms each), so it avoids JSON and per-entry arrays. Each value is
 * prefixed by its length, so no value (whatever it holds) can run into the next pair.
 */
function seriesKey(labels: Labels): string {
  const names = Object.keys(labels);
  if (names.length > 1) names.sort();
  let key = "";
  for (const name of names) key += `${name}\u0000${labels[name].length}\u0000${labels[name]}`;
  return key;
}

function labelText(labels: Labels, extra?: [string, string]): string {
  const pairs = Object.entries(labels).map(([k, v]) => `${k}="${escapeValue(v)}"`);
  if (extra) pairs.push(`${extra[0]}="${escapeValue(extra[1])}"`);
  return pairs.length ? `{${pairs.join(",")}}` : "";
}

/** A number as Prometheus writes it (+Inf, -Inf, NaN). */
function num(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Number.POSITIVE_INFINITY) return "+Inf";
  if (v === Number.NEGATIVE_INFINITY) return "-Inf";
  return String(v);
}

/** Anything that writes its HELP, TYPE and samples. */
export interface Metric {
  readonly name: string;
  render(): string;
}

abstract class Simple implements Metric {
  protected readonly values = new Map<string, { labels: Labels; value: number }>();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly type: "counter" | "gauge",
  ) {}
  protected add(labels: Labels, by: number): void {
    const key = seriesKey(labels);
    const entry = this.values.get(key) ?? { labels, value: 0 };
    entry.value += by;
    this.values.set(key, entry);
  }
  /** The current value of one series (0 when never touched). */
  get(labels: Labels = {}): number {
    return this.values.get(seriesKey(labels))?.value ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`];
    for (const { labels, value } of this.values.values())
      lines.push(`${this.name}${labelText(labels)} ${num(value)}`);
    return `${lines.join("\n")}\n`;
  }
}

/** A monotonic counter per label set. */
export class Counter extends Simple {
  constructor(name: string, help: string) {
    super(name, help, "counter");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.add(labels, by);
  }
}

/** A value that goes up and down per label set. */
export class Gauge extends Simple {
  constructor(name: string, help: string) {
    super(name, help, "gauge");
  }
  inc(labels: Labels = {}, by = 1): void {
    this.add(labels, by);
  }
  dec(labels: Labels = {}, by = 1): void {
    this.add(labels, -by);
  }
  set(labels: Labels, value: number): void {
    this.values.set(seriesKey(labels), { labels, value });
  }
  /** Forget every series (a gauge recomputed at scrape time). */
  reset(): void {
    this.values.clear();
  }
}

/** Cumulative buckets, sum and count per label set. */
export class Histogram implements Metric {
  private readonly series = new Map<
    string,
    { labels: Labels; counts: number[]; sum: number; count: number }
  >();
  constructor(
    readonly name: string,
    private readonly help: string,
    private readonly buckets: number[] = KUBE_LATENCY_BUCKETS,
  ) {}
  observe(labels: Labels, value: number): void {
    const key = seriesKey(labels);
    let entry = this.series.get(key);
    if (!entry) {
      entry = { labels, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.series.set(key, entry);
    }
    // Only the first bucket that holds the value is counted here; render() adds them up (cumulative).
    const i = this.buckets.findIndex((le) => value <= le);
    if (i >= 0) entry.counts[i]++;
    entry.sum += value;
    entry.count++;
  }
  /** How many observations one series has. */
  count(labels: Labels): number {
    return this.series.get(seriesKey(labels))?.count ?? 0;
  }
  render(): string {
    const lines = [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} histogram`];
    for (const { labels, counts, sum, count } of this.series.values()) {
      let cumulative = 0;
      this.buckets.forEach((le, i) => {
        cumulative += counts[i];
        lines.push(`${this.name}_bucket${labelText(labels, ["le", num(le)])} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${labelText(labels, ["le", "+Inf"])} ${count}`);
      lines.push(`${this.name}_sum${labelText(labels)} ${num(sum)}`);
      lines.push(`${this.name}_count${labelText(labels)} ${count}`);
    }
    return `${lines.join("\n")}\n`;
  }
}

/** The content type of the text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
