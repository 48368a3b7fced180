import { describe, expect, it } from "vitest";
import { parseQuantity } from "../reconcile/placement/resources.ts";
import { node, pod } from "../reconcile/testing/fixtures.ts";
import { feasibleNodesToFind, schedule } from "./schedule.ts";

const placed = (decisions: ReturnType<typeof schedule>) =>
  Object.fromEntries(
    decisions.map((d) => [d.pod.metadata.name, d.node ?? ("message" in d ? d.message : "")]),
  );

describe("parseQuantity", () => {
  it("reads decimal, binary and exponent suffixes", () => {
    expect(parseQuantity("100m")).toBeCloseTo(0.1);
    expect(parseQuantity("2")).toBe(2);
    expect(parseQuantity("128Mi")).toBe(128 * 2 ** 20);
    expect(parseQuantity("1G")).toBe(1e9);
    expect(parseQuantity("1e3")).toBe(1000);
    expect(parseQuantity("bogus")).toBeNaN();
  });
});

describe("schedule", () => {
  it("fits pods by cpu, accounting for pods already bound and pods assumed this pass", () => {
    const nodes = [node("a", { cpu: "1" }), node("b", { cpu: "1" })];
    const bound = [
      {
        ...pod("old", { cpu: "600m" }),
        spec: { ...pod("old").spec, nodeName: "a", containers: pod("old", { cpu: "600m" }).spec.containers },
      },
    ];
    const decisions = schedule(
      [pod("p1", { cpu: "500m" }), pod("p2", { cpu: "500m" }), pod("p3", { cpu: "500m" })],
      nodes,
      bound,
    );
    const result = placed(decisions);
    expect(result.p1).toBe("b");
    expect(result.p2).toBe("b");
    expect(result.p3).toBe("0/2 nodes are available: 2 Insufficient cpu.");
  });

  it("explains failures with kube-scheduler's wording, most common reason first", () => {
    const nodes = [
      node("a", { cpu: "1" }),
      node("b", { cpu: "1" }),
      node("c", { taints: [{ key: "key", value: "value", effect: "NoSchedule" }] }),
    ];
    const [d] = schedule([pod("big", { cpu: "2" })], nodes, []);
    expect(d.node).toBeUndefined();
    expect("message" in d && d.message).toBe(
      "0/3 nodes are available: 2 Insufficient cpu, 1 node(s) had untolerated taint {key: value}.",
    );
  });

  it("honours tolerations, nodeSelector, nodeName, unschedulable and readiness", () => {
    const nodes = [
      node("tainted", {
        taints: [{ key: "gpu", value: "yes", effect: "NoExecute" }],
        labels: { disk: "ssd" },
      }),
      node("cordoned", { unschedulable: true, labels: { disk: "ssd" } }),
      node("down", { ready: false, labels: { disk: "ssd" } }),
      node("plain"),
    ];
    const tolerant = pod("tol", {
      spec: { nodeSelector: { disk: "ssd" }, tolerations: [{ key: "gpu", operator: "Exists" }] },
    });
    const picky = pod("picky", { spec: { nodeSelector: { disk: "hdd" } } });
    const named = pod("named", {
      spec: {
        nodeName: "",
        affinity: {
          nodeAffinity: {
            requiredDuringSchedulingIgnoredDuringExecution: {
              nodeSelectorTerms: [
                { matchFields: [{ key: "metadata.name", operator: "In", values: ["plain"] }] },
              ],
            },
          },
        },
      },
    });
    const result = placed(schedule([tolerant, picky, named], nodes, []));
    expect(result.tol).toBe("tainted");
    expect(result.picky).toBe(
      "0/4 nodes are available: 1 node(s) didn't match Pod's node affinity/selector, 1 node(s) had untolerated taint {gpu: yes}, 1 node(s) were not ready, 1 node(s) were unschedulable.",
    );
    expect(result.named).toBe("plain");
  });

  it("supports every required node affinity operator", () => {
    const nodes = [
      node("n1", { labels: { zone: "a", gen: "3" } }),
      node("n2", { labels: { zone: "b", gen: "5", spot: "" } }),
    ];
    const withTerm = (name: string, expr: object) =>
      pod(name, {
        spec: {
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [{ matchExpressions: [expr as never] }],
              },
            },
          },
        },
      });
    const result = placed(
      schedule(
        [
          withTerm("in", { key: "zone", operator: "In", values: ["b"] }),
          withTerm("notin", { key: "zone", operator: "NotIn", values: ["b"] }),
          withTerm("exists", { key: "spot", operator: "Exists" }),
          withTerm("dne", { key: "spot", operator: "DoesNotExist" }),
          withTerm("gt", { key: "gen", operator: "Gt", values: ["4"] }),
          withTerm("lt", { key: "gen", operator: "Lt", values: ["4"] }),
        ],
        nodes,
        [],
      ),
    );
    expect(result).toEqual({ in: "n2", notin: "n1", exists: "n2", dne: "n1", gt: "n2", lt: "n1" });
  });

  it("refuses a second pod wanting the same host port on the same node, and counts max pods", () => {
    const withPort = (name: string) =>
      pod(name, { spec: { containers: [{ name: "c", ports: [{ containerPort: 80, hostPort: 8080 }] }] } });
    const result = placed(schedule([withPort("p1"), withPort("p2")], [node("only")], []));
    expect(result.p1).toBe("only");
    expect(result.p2).toBe(
      "0/1 nodes are available: 1 node(s) didn't have free ports for the requested pod ports.",
    );
    const full = placed(schedule([pod("x"), pod("y")], [node("tiny", { pods: "1" })], []));
    expect(full.y).toBe("0/1 nodes are available: 1 Too many pods.");
  });

  it("applies a RuntimeClass's nodeSelector and tolerations", () => {
    const nodes = [
      node("containers"),
      node("wasm", {
        labels: { "edgeplane.dev/wasm": "true" },
        taints: [{ key: "edgeplane.dev/wasm-only", effect: "NoSchedule" }],
      }),
    ];
    const runtimeClasses = new Map([
      [
        "wasm",
        {
          metadata: { name: "wasm" },
          handler: "wasm",
          scheduling: {
            nodeSelector: { "edgeplane.dev/wasm": "true" },
            tolerations: [{ key: "edgeplane.dev/wasm-only", operator: "Exists" as const }],
          },
        },
      ],
    ]);
    const result = placed(
      schedule(
        [
          pod("w", { spec: { runtimeClassName: "wasm" } }),
          pod("c"),
          pod("missing", { spec: { runtimeClassName: "nope" } }),
        ],
        nodes,
        [],
        { runtimeClasses },
      ),
    );
    expect(result.w).toBe("wasm");
    expect(result.c).toBe("containers");
    expect(result.missing).toBe('0/2 nodes are available: runtimeclass "nope" not found.');
  });

  it("spreads replicas of one owner and prefers the least allocated node", () => {
    const nodes = [node("a"), node("b"), node("c")];
    const pods = ["1", "2", "3"].map((n) => pod(`r${n}`, { owner: "rs1", cpu: "100m" }));
    const result = placed(schedule(pods, nodes, []));
    expect(new Set(Object.values(result)).size).toBe(3);
    const busy = [node("busy"), node("idle")];
    const bound = [
      { ...pod("hog", { cpu: "3" }), spec: { ...pod("hog", { cpu: "3" }).spec, nodeName: "busy" } },
    ];
    expect(placed(schedule([pod("new", { cpu: "100m" })], busy, bound)).new).toBe("idle");
  });

  it("prefers nodes matching preferred node affinity", () => {
    const nodes = [node("a"), node("b", { labels: { fast: "yes" } })];
    const p = pod("p", {
      spec: {
        affinity: {
          nodeAffinity: {
            preferredDuringSchedulingIgnoredDuringExecution: [
              {
                weight: 50,
                preference: { matchExpressions: [{ key: "fast", operator: "In", values: ["yes"] }] },
              },
            ],
          },
        },
      },
    });
    expect(placed(schedule([p], nodes, [])).p).toBe("b");
  });

  it("orders by priority, then age", () => {
    const nodes = [node("one", { pods: "1" })];
    const old = pod("old", { created: "2026-01-01T00:00:00Z" });
    const young = pod("young", { created: "2026-01-02T00:00:00Z" });
    const vip = pod("vip", { created: "2026-01-03T00:00:00Z", spec: { priority: 100 } });
    const result = placed(schedule([young, old, vip], nodes, []));
    expect(result.vip).toBe("one");
    expect(result.old).toMatch(/Too many pods/);
  });

  it("scores only an adaptive share of a large cluster", () => {
    expect(feasibleNodesToFind(50)).toBe(50);
    expect(feasibleNodesToFind(1000)).toBe(420);
    expect(feasibleNodesToFind(5000)).toBe(500);
  });
});
