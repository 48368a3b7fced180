/**
 * meta.k8s.io/v1 Table responses (`kubectl get`), built from the kind's
 * strategy.columns/row. NAME is always first; AGE is last unless the kind
 * lists it. Each row carries the object as PartialObjectMetadata so kubectl
 * can print NAMESPACE (-A) and LABELS (--show-labels).
 */
import type { KubeObject } from "../../client/kube.ts";
import type { ColumnDefinition, ResourceInfo } from "./types.ts";

/** True when the Accept header asks for a Table (v1 or v1beta1, which we answer as v1). */
export function wantsTable(accept: string | null): boolean {
  if (!accept) return false;
  return accept.split(",").some((part) => /;\s*as=Table/.test(part) && /g=meta\.k8s\.io/.test(part));
}

/** duration.HumanDuration: "45s", "3m20s", "5h", "12d", "2y30d". */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${hours / 24}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 2) return `${days}d`;
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${days / 365}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

/** Age of an object as printed in the AGE column. */
function age(object: KubeObject, now: Date): string {
  const created = object.metadata?.creationTimestamp;
  if (!created) return "<unknown>";
  return humanDuration(now.getTime() - Date.parse(created));
}

const NAME: ColumnDefinition = {
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.",
  priority: 0,
};
const AGE: ColumnDefinition = {
  name: "Age",
  type: "string",
  description: "CreationTimestamp is a timestamp representing the server time when this object was created.",
  priority: 0,
};

function hasAge(info: ResourceInfo): boolean {
  return info.strategy.columns.some((c) => c.name.toLowerCase() === "age");
}

/** The column definitions for a kind. */
function columnDefinitions(info: ResourceInfo): ColumnDefinition[] {
  // A kind that prints like kube's events (LAST SEEN first, no NAME/AGE) gives its full row itself.
  if (info.strategy.fullRow) return info.strategy.columns;
  return [NAME, ...info.strategy.columns, ...(hasAge(info) ? [] : [AGE])];
}

/** How much of each object the rows carry (?includeObject=None|Metadata|Object). */
export type IncludeObject = "None" | "Metadata" | "Object";

/** One table row. */
function tableRow(info: ResourceInfo, object: KubeObject, now: Date, include: IncludeObject) {
  const cells = info.strategy.fullRow
    ? info.strategy.row(object, now)
    : [object.metadata?.name ?? "", ...info.strategy.row(object, now)];
  if (!info.strategy.fullRow && !hasAge(info)) cells.push(age(object, now));
  const row: Record<string, unknown> = { cells };
  if (include === "Object") row.object = object;
  else if (include === "Metadata")
    row.object = {
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: object.metadata,
    };
  return row;
}

/** A Table for a list of objects (or a single object). */
export function toTable(
  info: ResourceInfo,
  objects: KubeObject[],
  now: Date,
  listMeta: Record<string, unknown>,
  include: IncludeObject = "Metadata",
  withColumns = true,
) {
  const table: Record<string, unknown> = {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
  };
  if (withColumns) table.columnDefinitions = columnDefinitions(info);
  table.rows = objects.map((o) => tableRow(info, o, now, include));
  return table;
}

/** Parse ?includeObject. */
export function includeObjectFrom(url: URL): IncludeObject {
  const v = url.searchParams.get("includeObject");
  return v === "None" || v === "Object" ? v : "Metadata";
}
