/**
 * resource.Quantity values ("500m", "1Gi", "2e3") as numbers of base units:
 * the one parser the API server's validation, the scheduler and the node
 * agent share (approximate for huge values; exact enough to compare and add).
 */

const QUANTITY = /^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const NUMBER = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/;
const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The numeric value of a quantity, or undefined when it is not one. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = QUANTITY.exec(value);
  if (!m || !NUMBER.test(m[1])) return undefined;
  const suffix = m[2] ?? "";
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  return Number(m[1]) * scale;
}

const BINARY: [string, number][] = [
  ["Ei", 2 ** 60],
  ["Pi", 2 ** 50],
  ["Ti", 2 ** 40],
  ["Gi", 2 ** 30],
  ["Mi", 2 ** 20],
  ["Ki", 2 ** 10],
];
const DECIMAL: [string, number][] = [
  ["E", 1e18],
  ["P", 1e15],
  ["T", 1e12],
  ["G", 1e9],
  ["M", 1e6],
  ["k", 1e3],
];

/** Whether a quantity string is in a binary (Ki, Mi, ...) format. */
export function isBinaryQuantity(value: unknown): boolean {
  return typeof value === "string" && /[KMGTPE]i$/.test(value);
}

/**
 * A value as resource.Quantity's canonical String() prints it, to the
 * milli-unit: the largest suffix that keeps an integer ("1536Mi", "2k",
 * "500m", "0"), binary suffixes when `binary` (the first operand's format).
 */
export function formatQuantity(value: number, binary = false): string {
  const milli = Math.round(value * 1000);
  if (milli % 1000 !== 0) return `${milli}m`;
  const whole = milli / 1000;
  if (whole === 0) return "0";
  for (const [suffix, scale] of binary ? BINARY : DECIMAL)
    if (Math.abs(whole) >= scale && whole % scale === 0) return `${whole / scale}${suffix}`;
  return String(whole);
}
