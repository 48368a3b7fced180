/**
 * Shared table-printing helpers, after kubernetes/pkg/printers/internalversion:
 * ages as kubectl shows them, column definitions, "<none>" cells.
 */
import { humanDuration } from "../registry/table.ts";
import type { ColumnDefinition } from "../registry/types.ts";

export { humanDuration };

/** translateTimestampSince: the age of a timestamp at `now`, "<unknown>" when unset. */
export function since(timestamp: string | undefined | null, now: Date): string {
  if (!timestamp) return "<unknown>";
  const t = Date.parse(timestamp);
  if (Number.isNaN(t)) return "<unknown>";
  return humanDuration(now.getTime() - t);
}

/** The AGE cell of an object. */
export function age(object: { metadata?: { creationTimestamp?: string } }, now: Date): string {
  return since(object.metadata?.creationTimestamp, now);
}

/** A column definition; `wide` columns only show with `-o wide` (priority 1). */
export function col(
  name: string,
  description: string,
  options: { type?: ColumnDefinition["type"]; wide?: boolean; format?: string } = {},
): ColumnDefinition {
  const c: ColumnDefinition = {
    name,
    type: options.type ?? "string",
    description,
    priority: options.wide ? 1 : 0,
  };
  if (options.format) c.format = options.format;
  return c;
}

/** The standard AGE column, for kinds that place it before their wide columns. */
export const AGE = col(
  "Age",
  "CreationTimestamp is a timestamp representing the server time when this object was created.",
  { type: "string" },
);

/** `value` or "<none>" when empty. */
export function orNone(value: string | undefined | null): string {
  return value ? value : "<none>";
}

/** Labels as "k=v,k2=v2" (sorted), or "<none>". */
export function formatLabels(labels: Record<string, string> | undefined): string {
  const keys = Object.keys(labels ?? {}).sort();
  return keys.length ? keys.map((k) => `${k}=${labels?.[k]}`).join(",") : "<none>";
}

/** Comma-joined names and images of a pod template's containers (for wide output). */
export function containersAndImages(podSpec: unknown): [string, string] {
  const containers = ((podSpec as { containers?: { name?: string; image?: string }[] } | undefined)
    ?.containers ?? []) as { name?: string; image?: string }[];
  return [containers.map((c) => c.name ?? "").join(","), containers.map((c) => c.image ?? "").join(",")];
}

/** Number of keys of a map field (DATA column of configmaps and secrets). */
export function count(map: unknown): number {
  return map && typeof map === "object" ? Object.keys(map).length : 0;
}
