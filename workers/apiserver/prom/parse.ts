/**
 * A strict reader of the Prometheus text format (0.0.4), for tests of both
 * /metrics endpoints: it throws on any line a Prometheus server would refuse
 * (bad names, label syntax or escapes, values, a sample before its TYPE, a
 * family split in two, histogram buckets that are not cumulative or whose +Inf
 * differs from _count).
 */

/** One sample line. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The parsed exposition: samples in order and each family's TYPE. */
export interface Exposition {
  samples: Sample[];
  types: Map<string, string>;
  /** Samples of `name` whose labels include `labels`. */
  find(name: string, labels?: Record<string, string>): Sample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

function value(text: string, line: string): number {
  // Prometheus reads values with Go's strconv.ParseFloat: Inf, Infinity and NaN in any case.
  const lower = text.toLowerCase();
  if (/^\+?inf(inity)?$/.test(lower)) return Number.POSITIVE_INFINITY;
  if (/^-inf(inity)?$/.test(lower)) return Number.NEGATIVE_INFINITY;
  if (lower === "nan") return Number.NaN;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value in: ${line}`);
  return Number(text);
}

function labels(text: string, line: string): Record<string, string> {
  const out: Record<string, string> = {};
  let i = 0;
  while (i < text.length) {
    const eq = text.indexOf("=", i);
    const name = text.slice(i, eq);
    if (eq < 0 || !LABEL.test(name) || text[eq + 1] !== '"') throw new Error(`bad label in: ${line}`);
    let j = eq + 2;
    let v = "";
    for (; j < text.length && text[j] !== '"'; j++) {
      if (text[j] !== "\\") v += text[j];
      else {
        const next = text[++j];
        if (next === "n") v += "\n";
        else if (next === "\\" || next === '"') v += next;
        else throw new Error(`bad escape in: ${line}`);
      }
    }
    if (j >= text.length) throw new Error(`unterminated label value in: ${line}`);
    if (name in out) throw new Error(`duplicate label ${name} in: ${line}`);
    out[name] = v;
    i = j + 1;
    if (i < text.length) {
      if (text[i] !== ",") throw new Error(`expected , in: ${line}`);
      i++;
    }
  }
  return out;
}

/** The family a sample belongs to (histogram samples carry _bucket, _sum, _count). */
function family(name: string, types: Map<string, string>): string {
  for (const suffix of ["_bucket", "_sum", "_count"])
    if (name.endsWith(suffix) && types.get(name.slice(0, -suffix.length)) === "histogram")
      return name.slice(0, -suffix.length);
  return name;
}

/** Parse `text`; throws on the first violation. */
export function parsePrometheusText(text: string): Exposition {
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const finished = new Set<string>();
  let current = "";
  if (text && !text.endsWith("\n")) throw new Error("exposition must end with a newline");
  for (const line of text.split("\n")) {
    if (line === "") continue;
    if (line.startsWith("#")) {
      const m = /^# (HELP|TYPE) (\S+)(?: (.*))?$/.exec(line);
      if (!m) continue; // a plain comment
      if (!NAME.test(m[2])) throw new Error(`bad metric name in: ${line}`);
      if (m[1] === "TYPE") {
        if (!TYPES.has(m[3] ?? "")) throw new Error(`bad type in: ${line}`);
        if (types.has(m[2])) throw new Error(`second TYPE for ${m[2]}`);
        types.set(m[2], m[3] ?? "");
      }
      continue;
    }
    const m = /^([^\s{]+)(?:\{(.*)\})? (\S+)(?: (-?\d+))?$/.exec(line);
    if (!m || !NAME.test(m[1])) throw new Error(`bad sample line: ${line}`);
    const fam = family(m[1], types);
    if (!types.has(fam)) throw new Error(`sample before its TYPE: ${line}`);
    if (fam !== current) {
      if (finished.has(fam)) throw new Error(`family ${fam} split: ${line}`);
      if (current) finished.add(current);
      current = fam;
    }
    samples.push({ name: m[1], labels: labels(m[2] ?? "", line), value: value(m[3], line) });
  }
  checkHistograms(samples, types);
  const find = (name: string, want: Record<string, string> = {}) =>
    samples.filter((s) => s.name === name && Object.entries(want).every(([k, v]) => s.labels[k] === v));
  return { samples, types, find };
}

/** Buckets rise with le and end at +Inf equal to _count, per series. */
function checkHistograms(samples: Sample[], types: Map<string, string>): void {
  for (const [name, type] of types) {
    if (type !== "histogram") continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples.filter((x) => x.name === `${name}_bucket`)) {
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${name}_bucket without le`);
      const key = JSON.stringify(Object.entries(rest).sort());
      series.set(key, [...(series.get(key) ?? []), s]);
    }
    for (const [key, buckets] of series) {
      for (let i = 1; i < buckets.length; i++)
        if (
          buckets[i].value < buckets[i - 1].value ||
          value(buckets[i].labels.le, "") <= value(buckets[i - 1].labels.le, "")
        )
          throw new Error(`${name} buckets not cumulative for ${key}`);
      const inf = buckets.at(-1);
      const count = samples.find(
        (s) => s.name === `${name}_count` && JSON.stringify(Object.entries(s.labels).sort()) === key,
      );
      if (inf?.labels.le !== "+Inf" || !count || count.value !== inf.value)
        throw new Error(`${name}: +Inf bucket and _count differ for ${key}`);
    }
  }
}
