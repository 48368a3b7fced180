import { describe, expect, it } from "vitest";
import type { Node, Pod } from "../reconcile/k8s.ts";
import { ClusterState } from "./cluster-state.ts";

/** A small deterministic PRNG (mulberry32), so a failure replays exactly. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const node = (name: string, cpu = "4"): Node => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name, labels: { zone: name } },
  spec: {},
  status: {
    allocatable: { cpu, memory: "8Gi", pods: "110" },
    conditions: [{ type: "Ready", status: "True" }],
  },
});

const pod = (i: number, nodeName?: string, extra: Partial<Pod["spec"]> = {}): Pod => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: {
    name: `p${i}`,
    namespace: "ns",
    uid: `u${i}`,
    ownerReferences: [
      { apiVersion: "apps/v1", kind: "ReplicaSet", name: "rs", uid: `rs${i % 3}`, controller: true },
    ],
  },
  spec: {
    ...(nodeName ? { nodeName } : {}),
    containers: [
      {
        name: "c",
        image: "x",
        resources: { requests: { cpu: `${100 + (i % 4) * 50}m`, memory: `${64 * (1 + (i % 3))}Mi` } },
        ...(i % 5 === 0 ? { ports: [{ containerPort: 80, hostPort: 8000 + (i % 2) }] } : {}),
      },
    ],
    ...extra,
  },
});

/** Everything a pass reads from the state, in a comparable form. */
function view(state: ClusterState, nodeNames: string[]) {
  return {
    nodes: state.nodes.map((n) => n.summary()),
    pods: nodeNames.map((n) =>
      state
        .podsOn(n)
        .map((p) => p.metadata.name)
        .sort(),
    ),
  };
}

describe("ClusterState", () => {
  it("kept up incrementally through adds, bindings, finishes, deletions and node changes, equals a fresh count", () => {
    const next = random(20);
    const pick = <T>(xs: T[]) => xs[Math.floor(next() * xs.length)];
    const names = ["a", "b", "c", "d", "e"];
    let nodes = names.map((n) => node(n));
    let pods: Pod[] = [];
    let serial = 0;
    const state = new ClusterState();
    for (let step = 0; step < 400; step++) {
      const roll = next();
      if (roll < 0.3) pods = [...pods, pod(serial++, next() < 0.5 ? pick(names) : undefined)];
      else if (roll < 0.5 && pods.length) {
        // Bound by a binding (a new object for the same pod).
        const i = Math.floor(next() * pods.length);
        pods = pods.map((p, j) => (j === i ? { ...p, spec: { ...p.spec, nodeName: pick(names) } } : p));
      } else if (roll < 0.6 && pods.length) {
        const i = Math.floor(next() * pods.length);
        pods = pods.map((p, j) => (j === i ? { ...p, status: { phase: "Succeeded" } } : p));
      } else if (roll < 0.75 && pods.length) {
        const i = Math.floor(next() * pods.length);
        pods = pods.filter((_, j) => j !== i);
      } else if (roll < 0.85) {
        // A node changes (new allocatable), or goes away, or comes back.
        const name = pick(names);
        const listed = nodes.some((n) => n.metadata.name === name);
        if (listed && next() < 0.5) nodes = nodes.filter((n) => n.metadata.name !== name);
        else if (listed) nodes = nodes.map((n) => (n.metadata.name === name ? node(name, `${2 + step}`) : n));
        else nodes = [...nodes, node(name)];
      } else if (pods.length) {
        // A pass assumes a pending pod onto a node; half the time its binding then fails.
        const pending = pods.filter((p) => !p.spec.nodeName);
        if (pending.length) {
          const p = pick(pending);
          state.update(nodes, pods);
          state.assume(p, pick(names));
          if (next() < 0.5) state.forget(p);
          else pods = pods.map((q) => (q === p ? { ...p, spec: { ...p.spec, nodeName: "a" } } : q));
        }
      }
      state.update(nodes, pods);
      const fresh = new ClusterState();
      fresh.update(nodes, pods);
      expect(view(state, names), `step ${step}`).toEqual(view(fresh, names));
    }
    // The run exercised the interesting cases (not just adds).
    expect(pods.filter((p) => p.spec.nodeName).length).toBeGreaterThan(5);
  });

  it("keeps counting an assumed pod while the list still shows it pending, and frees it when forgotten", () => {
    const nodes = [node("a")];
    const p = pod(1);
    const state = new ClusterState();
    state.update(nodes, [p]);
    state.assume(p, "a");
    // A newer list in which the binding has not shown up yet (another pod changed).
    state.update(nodes, [{ ...p, metadata: { ...p.metadata, labels: { x: "y" } } }, pod(2)]);
    expect(state.podsOn("a").map((q) => q.metadata.name)).toEqual(["p1"]);
    expect(state.info("a")?.podCount).toBe(1);
    state.forget(p);
    expect(state.info("a")?.podCount).toBe(0);
    expect(state.podsOn("a")).toEqual([]);
  });
});
