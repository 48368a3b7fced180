/** client-go's event correlation: repeats become a PATCH of one object, similar messages combine, a flood is cut. */
import { describe, expect, it } from "vitest";
import type { CoreEvent } from "../../../workers/client/types.ts";
import { EventCorrelator } from "./correlator.ts";

let serial = 0;
function event(
  message = "Back-off restarting failed container app in pod p_default(u1)",
  at = "2026-01-01T00:00:00Z",
): CoreEvent {
  serial++;
  return {
    metadata: { name: `p.${serial}`, namespace: "default" },
    involvedObject: {
      kind: "Pod",
      namespace: "default",
      name: "p",
      uid: "u1",
      apiVersion: "v1",
      fieldPath: "spec.containers{app}",
    },
    reason: "BackOff",
    message,
    type: "Warning",
    source: { component: "kubelet", host: "n1" },
    firstTimestamp: at,
    lastTimestamp: at,
    count: 1,
  };
}

describe("EventCorrelator", () => {
  it("creates an event once, then patches the same object with count + 1 and the new lastTimestamp", () => {
    const c = new EventCorrelator();
    const first = c.observe(event(), 0);
    expect(first).toMatchObject({ action: "create", event: { count: 1 } });
    const name = first.action === "create" ? first.event.metadata?.name : "";
    const second = c.observe(event(undefined, "2026-01-01T00:00:10Z"), 10_000);
    expect(second).toMatchObject({
      action: "patch",
      event: { metadata: { name }, count: 2, firstTimestamp: "2026-01-01T00:00:00Z" },
      patch: { count: 2, lastTimestamp: "2026-01-01T00:00:10Z" },
    });
    expect(c.observe(event(), 20_000)).toMatchObject({ action: "patch", patch: { count: 3 } });
  });

  it("keeps other reasons, messages and containers apart", () => {
    const c = new EventCorrelator();
    c.observe(event(), 0);
    expect(c.observe({ ...event(), reason: "Started", message: "Started container app" }, 0).action).toBe(
      "create",
    );
    const other = event();
    other.involvedObject = { ...other.involvedObject, fieldPath: "spec.containers{side}" };
    expect(c.observe(other, 0).action).toBe("create");
  });

  it("combines the 10th distinct message for one object and reason into one patched event", () => {
    const c = new EventCorrelator();
    for (let i = 1; i < 10; i++) expect(c.observe(event(`probe failed ${i}`), i).action).toBe("create");
    const tenth = c.observe(event("probe failed 10"), 10);
    expect(tenth).toMatchObject({
      action: "create",
      event: { message: "(combined from similar events): probe failed 10" },
    });
    expect(c.observe(event("probe failed 11"), 11)).toMatchObject({
      action: "patch",
      patch: { count: 2, message: "(combined from similar events): probe failed 11" },
    });
  });

  it("lets a burst of 25 events per object through, then one per 5 minutes", () => {
    const c = new EventCorrelator();
    const actions = Array.from({ length: 40 }, () => c.observe(event(), 1000).action);
    expect(actions.filter((a) => a !== "drop")).toHaveLength(25);
    expect(c.observe(event(), 1000 + 299_000).action).toBe("drop");
    expect(c.observe(event(), 1000 + 300_000)).toMatchObject({ action: "patch", patch: { count: 26 } });
  });
});
