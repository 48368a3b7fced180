/** core/v1 Event: what `kubectl describe` lists, selected by involvedObject.*. */
import type { KubeObject } from "../../client/kube.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { EVENT_COLUMNS, eventCells } from "./event-print.ts";
import { fields, obj } from "./util.ts";
import { invalid, tooLong } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";

function validateEvent(ev: KubeObject): FieldError[] {
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

function source(ev: KubeObject): string {
  const src = obj(ev.source);
  const component = (src.component as string) || (ev.reportingComponent as string) || "";
  const host = (src.host as string) || (ev.reportingInstance as string) || "";
  return host ? `${component}, ${host}` : component;
}

/** The core/v1 Event strategy. */
export const eventStrategy: Strategy = {
  validate: validateEvent,
  specChanged: () => false,
  columns: EVENT_COLUMNS,
  fullRow: true,
  row(ev, now) {
    const involved = obj(ev.involvedObject);
    return eventCells(
      {
        name: ev.metadata?.name ?? "",
        first: ev.firstTimestamp as string,
        last: ev.lastTimestamp as string,
        eventTime: ev.eventTime as string,
        seriesLast: obj(ev.series).lastObservedTime as string,
        count: Number(obj(ev.series).count ?? ev.count ?? 1),
        type: (ev.type as string) ?? "",
        reason: (ev.reason as string) ?? "",
        kind: (involved.kind as string) ?? "",
        objectName: (involved.name as string) ?? "",
        fieldPath: (involved.fieldPath as string) ?? "",
        source: source(ev),
        message: (ev.message as string) ?? "",
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
    reportingComponent: (ev) => (ev.reportingComponent as string) ?? "",
    source: (ev) => (obj(ev.source).component as string) || (ev.reportingComponent as string) || "",
  },
};
