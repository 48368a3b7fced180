/** events.k8s.io/v1 Event: the structured event API (regarding/note/reportingController). */
import type { KubeObject } from "../../client/kube.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { EVENT_COLUMNS, eventCells } from "./event-print.ts";
import { fields, obj } from "./util.ts";
import { invalid, required, tooLong } from "./validation/errors.ts";
import { validateQualifiedName } from "./validation/names.ts";
import { oneOf } from "./validation/numbers.ts";

function validateEvent(ev: KubeObject): FieldError[] {
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
export const eventsV1Strategy: Strategy = {
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
      if (JSON.stringify(ev[f]) !== JSON.stringify(old[f]))
        errs.push(invalid(f, ev[f] ?? null, "field is immutable"));
    return errs;
  },
  specChanged: () => false,
  columns: EVENT_COLUMNS,
  fullRow: true,
  row(ev, now) {
    const regarding = obj(ev.regarding);
    return eventCells(
      {
        name: ev.metadata?.name ?? "",
        first: ev.deprecatedFirstTimestamp as string,
        last: ev.deprecatedLastTimestamp as string,
        eventTime: ev.eventTime as string,
        seriesLast: obj(ev.series).lastObservedTime as string,
        count: Number(obj(ev.series).count ?? ev.deprecatedCount ?? 1),
        type: (ev.type as string) ?? "",
        reason: (ev.reason as string) ?? "",
        kind: (regarding.kind as string) ?? "",
        objectName: (regarding.name as string) ?? "",
        fieldPath: (regarding.fieldPath as string) ?? "",
        source: [ev.reportingController, ev.reportingInstance].filter(Boolean).join(", "),
        message: (ev.note as string) ?? "",
      },
      now,
    );
  },
  fieldSelectors: {
    ...fields("regarding.kind", "regarding.namespace", "regarding.name", "regarding.uid", "reason", "type"),
    reportingController: (ev) => (ev.reportingController as string) ?? "",
  },
};
