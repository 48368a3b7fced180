/**
 * metav1.Time and metav1.MicroTime as they travel on the wire: RFC 3339 in
 * UTC, seconds precision (Time) or microseconds (MicroTime), and the one
 * parser that accepts what Go's time.RFC3339 accepts.
 */

/** metav1.Time: RFC 3339, seconds precision, UTC ("2026-01-02T03:04:05Z"). */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d+Z$/, "Z");
}

/** metav1.MicroTime: RFC 3339 with microseconds, UTC ("2026-01-02T03:04:05.123000Z"). */
export function microTimestamp(date: Date): string {
  return date.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
}

/** Go's time.RFC3339 layout (fractional seconds optional, "Z" or a numeric offset). */
const RFC3339 = /^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;

/** Milliseconds since the epoch of an RFC 3339 time, or NaN when it is not one (Date.parse alone accepts much more). */
export function parseTimestamp(text: string): number {
  return RFC3339.test(text) ? Date.parse(text) : Number.NaN;
}
