/** events.k8s.io/v1 Event: the structured event API (regarding/note/reportingController). */

import type { EventsV1Event } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { EVENT_COLUMNS, eventCells } from "./event-print.ts";
import { fields, obj } from "./util.ts";
import { invalid, required, tooLong } from "./validation/errors.ts";
import { validateQualifiedName } from "./validation/names.ts";
import { oneOf } from "./validation/numbers.ts";

function validateEvent(ev: EventsV1Event): FieldError[] {
  const errs: FieldError[] = [];
  if (!ev.eventTime) errs.push(required("eventTime"));
  if (!ev.reportingController) errs.push(required("reportingController"));
  else errs.push(...validateQualifiedName(String(ev.reportingController), "reportingController"));
  if (!ev.reportingInstance) errs.push(required("reportingInstance"));
  if (!ev.action) errs.push(required("action"));
  else if (String(ev.action).length > 128) errs.push(tooLong("action", 128));
  if (!ev.reason) errs.push(required("reason"));
  else if (String(ev.reason).length > 128) errs.push(tooLong("reason", 128));
  if (!ev.type) errs.push(required("type"));
  else errs.push(...oneOf(ev.type, ["Normal", "Warning"], "type"));
  if (typeof ev.note === "string" && ev.note.length > 1024) errs.push(tooLong("note", 1024));
  const regarding = obj(ev.regarding);
  const ns = ev.metadata?.namespace;
  if (regarding.namespace && ns && regarding.namespace !== ns)
    errs.push(invalid("regarding.namespace", regarding.namespace, "does not match event.namespace"));
  return errs;
}

/** The events.k8s.io/v1 Event strategy. */
export const eventsV1Strategy: Strategy<EventsV1Event> = {
  validate: validateEvent,
  validateUpdate(ev, old) {
    const errs: FieldError[] = [];
    for (const f of [
      "action",
      "reason",
      "reportingController",
      "reportingInstance",
      "type",
      "note",
      "eventTime",
    ])
      if (JSON.stringify(Reflect.get(ev, f)) !== JSON.stringify(Reflect.get(old, f)))
        errs.push(invalid(f, Reflect.get(ev, f) ?? null, "field is immutable"));
    return errs;
  },
  specChanged: () => false,
  columns: EVENT_COLUMNS,
  fullRow: true,
  row(ev, now) {
    const regarding = ev.regarding;
    return eventCells(
      {
        name: ev.metadata?.name ?? "",
        first: ev.deprecatedFirstTimestamp,
        last: ev.deprecatedLastTimestamp,
        eventTime: ev.eventTime,
        seriesLast: ev.series?.lastObservedTime,
        count: Number(ev.series?.count ?? ev.deprecatedCount ?? 1),
        type: ev.type ?? "",
        reason: ev.reason ?? "",
        kind: regarding?.kind ?? "",
        objectName: regarding?.name ?? "",
        fieldPath: regarding?.fieldPath ?? "",
        source: [ev.reportingController, ev.reportingInstance].filter(Boolean).join(", "),
        message: ev.note ?? "",
      },
      now,
    );
  },
  fieldSelectors: {
    ...fields("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type"),
    reportingController: (ev) => ev.reportingController ?? "",
  },
};
