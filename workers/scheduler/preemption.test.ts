/** Preemption: which victims on which node (pure), and the writes the scheduler makes for it. */
import { describe, expect, it } from "vitest";
import { R } from "../client/resources.ts";
import type { Pod } from "../reconcile/k8s.ts";
import { testDeps } from "../reconcile/testing/deps.ts";
import { FakeClient } from "../reconcile/testing/fake-client.ts";
import { node, pod } from "../reconcile/testing/fixtures.ts";
import { schedulePending } from "./index.ts";
import type { PodDisruptionBudget } from "./preemption.ts";
import { Scheduler } from "./schedule.ts";

/** A running pod on a node with a priority. */
function running(
  name: string,
  nodeName: string,
  priority: number,
  opts: { cpu?: string; app?: string; started?: string } = {},
): Pod {
  const p = pod(name, {
    cpu: opts.cpu ?? "1",
    labels: opts.app ? { app: opts.app } : undefined,
    spec: { nodeName, priority },
  });
  p.status = { phase: "Running", startTime: opts.started ?? "2026-01-01T00:00:00Z" };
  return p;
}
const pending = (name: string, priority: number, cpu = "1", extra: Partial<Pod["spec"]> = {}) =>
  pod(name, { cpu, spec: { priority, ...extra } });
const budget = (name: string, app: string, allowed: number): PodDisruptionBudget => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name, namespace: "default" },
  spec: { selector: { matchLabels: { app } } },
  status: { disruptionsAllowed: allowed },
});
const names = (pods: Pod[] | undefined) => pods?.map((p) => p.metadata.name);

describe("choosing victims", () => {
  it("takes the fewest, lowest-priority pods, never equal or higher ones", () => {
    const nodes = [node("n1", { cpu: "4" })];
    const bound = [
      running("a", "n1", 10),
      running("b", "n1", 5),
      running("c", "n1", 1),
      running("d", "n1", 100),
    ];
    const s = new Scheduler(nodes, bound);
    const high = pending("high", 50, "2");
    expect(s.scheduleOne(high).node).toBeUndefined();
    const found = s.preempt(high, []);
    expect(found?.node).toBe("n1");
    // Two cpus must go: c (1) and b (5) are cheapest; a (10) is reprieved; d (100) is never a candidate.
    expect(names(found?.victims)).toEqual(["b", "c"]);
    // Their room is promised to "high": another pod of the same priority finds nothing left to take.
    expect(s.preempt(pending("other", 50, "1"), [])).toBeUndefined();
  });

  it("prefers the node whose victims matter least, and spares pods a budget protects", () => {
    const nodes = [node("n1", { cpu: "1" }), node("n2", { cpu: "1" })];
    const lowOnN1 = running("p1", "n1", 1, { app: "guarded" });
    const lowOnN2 = running("p2", "n2", 2, { app: "free" });
    // Without budgets: n1's victim has the lower priority.
    expect(new Scheduler(nodes, [lowOnN1, lowOnN2]).preempt(pending("h", 100), [])?.node).toBe("n1");
    // With a budget allowing no disruption of p1, n2 is chosen instead.
    const found = new Scheduler(nodes, [lowOnN1, lowOnN2]).preempt(pending("h", 100), [
      budget("g", "guarded", 0),
    ]);
    expect(found).toMatchObject({ node: "n2", pdbViolations: 0 });
    expect(names(found?.victims)).toEqual(["p2"]);
  });

  it("cannot help when removing every lower pod is not enough, or the node is excluded by a selector", () => {
    const nodes = [node("n1", { cpu: "2", labels: { zone: "a" } })];
    const bound = [running("big", "n1", 100, { cpu: "2" })];
    expect(new Scheduler(nodes, bound).preempt(pending("h", 50), [])).toBeUndefined();
    const low = [running("low", "n1", 0, { cpu: "2" })];
    expect(
      new Scheduler(nodes, low).preempt(pending("h", 50, "1", { nodeSelector: { zone: "b" } }), []),
    ).toBeUndefined();
  });

  it("keeps a nominated pod's room from lower-priority pods", () => {
    const nodes = [node("n1", { cpu: "2" })];
    const nominated = pending("nominated", 100, "2");
    nominated.status = { phase: "Pending", nominatedNodeName: "n1" };
    const s = new Scheduler(nodes, [nominated]);
    expect(s.scheduleOne(pending("low", 1, "1")).node).toBeUndefined();
    expect(s.scheduleOne(nominated).node).toBe("n1");
  });
});

describe("the scheduler's preemption writes", () => {
  it("marks, evicts and reports the victim, nominates the preemptor, and binds it once the victim is gone", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1", { cpu: "2" })] },
      {
        ref: R.pods,
        objects: [
          running("low-a", "n1", 0),
          running("low-b", "n1", 0, { started: "2026-01-01T00:00:05Z" }),
          pending("high", 1000),
        ],
      },
    ]);
    await schedulePending(testDeps(client));
    const writes = client.writes.map(
      (w) => `${w.verb} ${w.resource}${w.subresource ? `/${w.subresource}` : ""} ${w.name}`,
    );
    // The victim is the one started last (kube's MoreImportantPod keeps the older).
    expect(writes).toEqual(["patch pods/status low-b", "delete pods low-b", "update pods/status high"]);
    expect(client.writes[0].body).toEqual({
      status: {
        conditions: [
          {
            type: "DisruptionTarget",
            status: "True",
            reason: "PreemptionByScheduler",
            message: "default-scheduler: preempting to accommodate a higher priority pod",
            lastTransitionTime: "2026-01-01T00:00:00Z",
          },
        ],
      },
    });
    expect(client.writes[1].body).toEqual({ preconditions: { uid: "pod-low-b" } });
    const high = client.all<Pod>(R.pods).find((p) => p.metadata.name === "high");
    expect(high?.status?.nominatedNodeName).toBe("n1");
    expect(client.events.map((e) => `${e.reason} ${e.object}: ${e.message}`)).toEqual([
      "Preempted default/low-b: Preempted by pod pod-high on node n1",
      "FailedScheduling default/high: 0/1 nodes are available: 1 Insufficient cpu.",
    ]);
    // The fake deletes at once; the next pass binds the preemptor to its nominated node.
    await schedulePending(testDeps(client));
    expect(client.all<Pod>(R.pods).find((p) => p.metadata.name === "high")?.spec.nodeName).toBe("n1");
  });

  it("does not preempt for a pod with preemptionPolicy Never, nor for an equal priority", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1", { cpu: "1" })] },
      {
        ref: R.pods,
        objects: [
          running("low", "n1", 0),
          pending("polite", 1000, "1", { preemptionPolicy: "Never" }),
          pending("peer", 0),
        ],
      },
    ]);
    await schedulePending(testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.name}`)).toEqual(["update polite", "update peer"]);
  });

  it("respects a PodDisruptionBudget when another node can be used", async () => {
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("n1", { cpu: "1" }), node("n2", { cpu: "1" })] },
      {
        ref: R.pods,
        objects: [
          running("guarded", "n1", 0, { app: "db" }),
          running("free", "n2", 0, { app: "web" }),
          pending("high", 10),
        ],
      },
      { ref: R.poddisruptionbudgets, objects: [budget("db", "db", 0)] },
    ]);
    await schedulePending(testDeps(client));
    expect(client.writes.filter((w) => w.verb === "delete").map((w) => w.name)).toEqual(["free"]);
  });
});
