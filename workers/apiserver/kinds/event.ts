/** core/v1 Event: what `kubectl describe` lists, selected by involvedObject.*. */

import type { CoreEvent } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { EVENT_COLUMNS, eventCells } from "./event-print.ts";
import { fields, obj } from "./util.ts";
import { invalid, tooLong } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";

function validateEvent(ev: CoreEvent): FieldError[] {
  const errs: FieldError[] = [];
  const involved = obj(ev.involvedObject);
  const ns = ev.metadata?.namespace;
  if (involved.namespace && ns && involved.namespace !== ns)
    errs.push(invalid("involvedObject.namespace", involved.namespace, "does not match event.namespace"));
  if (typeof ev.reason === "string" && ev.reason.length > 128) errs.push(tooLong("reason", 128));
  if (typeof ev.action === "string" && ev.action.length > 128) errs.push(tooLong("action", 128));
  if (ev.eventTime) errs.push(...oneOf(ev.type, ["Normal", "Warning"], "type"));
  return errs;
}

function source(ev: CoreEvent): string {
  const component = ev.source?.component || ev.reportingComponent || "";
  const host = ev.source?.host || ev.reportingInstance || "";
  return host ? `${component}, ${host}` : component;
}

/** The core/v1 Event strategy. */
export const eventStrategy: Strategy<CoreEvent> = {
  validate: validateEvent,
  specChanged: () => false,
  columns: EVENT_COLUMNS,
  fullRow: true,
  row(ev, now) {
    const involved = ev.involvedObject;
    return eventCells(
      {
        name: ev.metadata?.name ?? "",
        first: ev.firstTimestamp,
        last: ev.lastTimestamp,
        eventTime: ev.eventTime,
        seriesLast: ev.series?.lastObservedTime,
        count: Number(ev.series?.count ?? ev.count ?? 1),
        type: ev.type ?? "",
        reason: ev.reason ?? "",
        kind: involved?.kind ?? "",
        objectName: involved?.name ?? "",
        fieldPath: involved?.fieldPath ?? "",
        source: source(ev),
        message: ev.message ?? "",
      },
      now,
    );
  },
  fieldSelectors: {
    ...fields(
      "involvedObject.kind",
      "involvedObject.namespace",
      "involvedObject.name",
      "involvedObject.uid",
      "involvedObject.apiVersion",
      "involvedObject.resourceVersion",
      "involvedObject.fieldPath",
      "reason",
      "type",
    ),
    reportingComponent: (ev) => ev.reportingComponent ?? "",
    source: (ev) => ev.source?.component || ev.reportingComponent || "",
  },
};
