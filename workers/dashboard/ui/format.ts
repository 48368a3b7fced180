/** Formatting for the tables: ages, CPU and memory quantities. */

/** kubectl-style age: 45s, 3m, 2h, 5d. */
export function age(timestamp: string | undefined, now: number): string {
  if (!timestamp) return "";
  const s = Math.max(0, Math.floor((now - Date.parse(timestamp)) / 1000));
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.floor(s / 60)}m`;
  if (s < 172800) return `${Math.floor(s / 3600)}h`;
  return `${Math.floor(s / 86400)}d`;
}

const SUFFIX: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
  Ti: 1024 ** 4,
};

/** A resource.Quantity as a number (cores for CPU, bytes for memory); NaN when unparsable. */
export function quantity(q: string | undefined): number {
  const m = /^([0-9.]+)(n|u|m|k|M|G|T|Ki|Mi|Gi|Ti)?$/.exec(q ?? "");
  return m ? Number(m[1]) * (SUFFIX[m[2] ?? ""] ?? Number.NaN) : Number.NaN;
}

/** Cores as "250m" or "2". */
export function cores(n: number): string {
  if (Number.isNaN(n)) return "?";
  return n < 1 ? `${Math.round(n * 1000)}m` : `${Math.round(n * 100) / 100}`;
}

/** Bytes as "512Mi" or "3.2Gi". */
export function bytes(n: number): string {
  if (Number.isNaN(n)) return "?";
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)}Gi`;
  return `${Math.round(n / 1024 ** 2)}Mi`;
}
