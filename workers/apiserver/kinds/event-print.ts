/** `kubectl get events` columns and cells, shared by core/v1 and events.k8s.io/v1 events. */
import type { ColumnDefinition } from "../registry/types.ts";
import { col, since } from "./print.ts";

/** The event columns (kube prints no NAME first and no AGE: NAME is a wide column). */
export const EVENT_COLUMNS: ColumnDefinition[] = [
  col("Last Seen", "The last time this event was observed."),
  col("Type", "Type of this event (Normal, Warning), new types could be added in the future."),
  col(
    "Reason",
    "Reason is why the action was taken. It is human-readable. This field can have at most 128 characters.",
  ),
  col("Object", "The object that this event is about."),
  col("Subobject", "The subobject (e.g. a container) this event is about.", { wide: true }),
  col("Source", "The component reporting this event.", { wide: true }),
  col("Message", "A human-readable description of the status of this operation."),
  col("First Seen", "The first time this event was observed.", { wide: true }),
  col("Count", "The number of times this event has occurred.", { wide: true, type: "integer" }),
  col("Name", "Name of the event.", { wide: true }),
];

/** The parts of an event the printer needs, whichever API version it came from. */
export interface EventView {
  name: string;
  first?: string;
  last?: string;
  eventTime?: string;
  seriesLast?: string;
  count: number;
  type: string;
  reason: string;
  kind: string;
  objectName: string;
  fieldPath: string;
  source: string;
  message: string;
}

/** Cells for EVENT_COLUMNS. */
export function eventCells(e: EventView, now: Date): unknown[] {
  const first = e.first ? since(e.first, now) : since(e.eventTime, now);
  const last = e.seriesLast ? since(e.seriesLast, now) : e.last ? since(e.last, now) : first;
  const target = e.objectName ? `${e.kind.toLowerCase()}/${e.objectName}` : e.kind.toLowerCase();
  return [last, e.type, e.reason, target, e.fieldPath, e.source, e.message.trim(), first, e.count, e.name];
}
