/** policy/v1 PodDisruptionBudget: registry-tester examples, kube's columns, and the eviction subresource guarded by budgets. */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { testServer } from "../testing/fixture.ts";
import { findResource, RESOURCES } from "./index.ts";

const info = findResource("policy", "poddisruptionbudgets")!;
const pdb = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: "policy/v1",
  kind: "PodDisruptionBudget",
  metadata: { name },
  spec: { selector: { matchLabels: { app: "web" } }, ...spec },
});

runRegistryTester(
  info,
  {
    valid: [
      pdb("min-int", { minAvailable: 2 }),
      pdb("max-percent", { maxUnavailable: "25%", unhealthyPodEvictionPolicy: "AlwaysAllow" }),
    ],
    invalid: [
      {
        object: pdb("both", { minAvailable: 1, maxUnavailable: 1 }),
        fields: ["spec"],
      },
      {
        object: pdb("bad", {
          minAvailable: -1,
          selector: { matchExpressions: [{ key: "app", operator: "Near" }] },
          unhealthyPodEvictionPolicy: "Sometimes",
        }),
        fields: [
          "spec.minAvailable",
          "spec.selector.matchExpressions[0].operator",
          "spec.unhealthyPodEvictionPolicy",
        ],
      },
      {
        object: pdb("percent", { maxUnavailable: "150%" }),
        fields: ["spec.maxUnavailable"],
      },
      {
        object: pdb("word", { minAvailable: "half" }),
        fields: ["spec.minAvailable"],
      },
    ],
  },
  RESOURCES,
);

const PDBS = "/apis/policy/v1/namespaces/default/poddisruptionbudgets";
const PODS = "/api/v1/namespaces/default/pods";
type Call = ReturnType<typeof testServer>["call"];

describe("PodDisruptionBudget", () => {
  it("starts with a zero status, keeps status out of spec writes, and prints kube's columns", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const created = await call("POST", PDBS, {
      ...pdb("web", { minAvailable: 2 }),
      status: { disruptionsAllowed: 5 },
    });
    expect(created.status, created.text).toBe(201);
    expect(created.body.status).toEqual({
      disruptionsAllowed: 0,
      currentHealthy: 0,
      desiredHealthy: 0,
      expectedPods: 0,
    });
    const negative = await call("PUT", `${PDBS}/web/status`, {
      ...created.body,
      status: { disruptionsAllowed: -1 },
    });
    expect(negative.status).toBe(422);
    expect(negative.body.details).toMatchObject({ causes: [{ field: "status.disruptionsAllowed" }] });
    const table = await call("GET", PDBS, undefined, {
      Accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    const columns = (table.body.columnDefinitions as { name: string }[]).map((c) => c.name);
    expect(columns).toEqual(["Name", "Min Available", "Max Unavailable", "Allowed Disruptions", "Age"]);
    expect((table.body.rows as { cells: unknown[] }[])[0].cells.slice(0, 4)).toEqual(["web", "2", "N/A", 0]);
  });
});

/** A bound pod labelled app=web, Running, Ready or not. */
async function runningPod(call: Call, name: string, ready = true): Promise<void> {
  const created = await call("POST", PODS, {
    metadata: { name, labels: { app: "web" } },
    spec: { containers: [{ name: "c", image: "nginx" }] },
  });
  expect(created.status, created.text).toBe(201);
  const bound = await call("POST", `${PODS}/${name}/binding`, { target: { kind: "Node", name: "n1" } });
  expect(bound.status).toBe(201);
  const pod = (await call("GET", `${PODS}/${name}`)).body;
  const status = {
    phase: "Running",
    conditions: [{ type: "Ready", status: ready ? "True" : "False" }],
  };
  const put = await call("PUT", `${PODS}/${name}/status`, { ...pod, status });
  expect(put.status, put.text).toBe(200);
}

/** A budget whose status says what the disruption controller would have written. */
async function budget(call: Call, name: string, status: Record<string, unknown>): Promise<void> {
  const created = await call("POST", PDBS, pdb(name, { minAvailable: 1 }));
  expect(created.status, created.text).toBe(201);
  const put = await call("PUT", `${PDBS}/${name}/status`, {
    ...created.body,
    status: { currentHealthy: 2, desiredHealthy: 1, expectedPods: 2, observedGeneration: 1, ...status },
  });
  expect(put.status, put.text).toBe(200);
}

const evict = (call: Call, name: string) =>
  call("POST", `${PODS}/${name}/eviction`, { apiVersion: "policy/v1", kind: "Eviction", metadata: { name } });

describe("pods/eviction with disruption budgets", () => {
  it("spends the budget (recording the pod), then answers 429 with kube's message and cause", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await runningPod(call, "a");
    await runningPod(call, "b");
    await budget(call, "web", { disruptionsAllowed: 1 });

    const first = await evict(call, "a");
    expect(first.status, first.text).toBe(201);
    const evicted = (await call("GET", `${PODS}/a`)).body;
    expect(evicted.metadata?.deletionTimestamp).toBeTruthy();
    expect((evicted.status as { conditions: unknown[] }).conditions).toContainEqual(
      expect.objectContaining({
        type: "DisruptionTarget",
        status: "True",
        reason: "EvictionByEvictionAPI",
        message: "Eviction API: evicting",
      }),
    );
    const spent = (await call("GET", `${PDBS}/web`)).body.status as Record<string, unknown>;
    expect(spent.disruptionsAllowed).toBe(0);
    expect(spent.disruptedPods).toEqual({ a: "2026-01-01T00:00:00Z" });
    expect(spent.conditions).toMatchObject([
      { type: "DisruptionAllowed", status: "False", reason: "InsufficientPods" },
    ]);

    const second = await evict(call, "b");
    expect(second.status).toBe(429);
    expect(second.body).toMatchObject({
      reason: "TooManyRequests",
      message: "Cannot evict pod as it would violate the pod's disruption budget.",
      details: {
        causes: [
          {
            reason: "DisruptionBudget",
            message: "The disruption budget web needs 1 healthy pods and has 2 currently",
          },
        ],
      },
    });
    expect((await call("GET", `${PODS}/b`)).body.metadata?.deletionTimestamp).toBeUndefined();
  });

  it("lets only as many concurrent evictions through as the budget allows (compare-and-set on its status)", async () => {
    // Every eviction reads the budget before any of them writes it: only the compare-and-set keeps them honest.
    const store = new MemoryStore();
    const read = store.get.bind(store);
    let gate: (() => void)[] | undefined;
    store.get = async (key, revision) => {
      const waiting = gate;
      if (waiting && key.includes("/poddisruptionbudgets/"))
        await new Promise<void>((release) => {
          waiting.push(release);
          if (waiting.length < 5) return;
          gate = undefined;
          for (const r of waiting) r();
        });
      return read(key, revision);
    };
    const { call } = testServer({ resources: RESOURCES, store });
    const names = ["a", "b", "c", "d", "e"];
    for (const name of names) await runningPod(call, name);
    await budget(call, "web", {
      disruptionsAllowed: 2,
      currentHealthy: 5,
      desiredHealthy: 3,
      expectedPods: 5,
    });
    gate = [];
    const answers = await Promise.all(names.map((name) => evict(call, name)));
    expect(answers.map((a) => a.status).sort()).toEqual([201, 201, 429, 429, 429]);
    const status = (await call("GET", `${PDBS}/web`)).body.status as Record<string, unknown>;
    expect(status.disruptionsAllowed).toBe(0);
    expect(Object.keys(status.disruptedPods as object)).toHaveLength(2);
  });

  it("answers 429 with a retry hint while the controller has not seen the budget's generation", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await runningPod(call, "a");
    await budget(call, "web", { disruptionsAllowed: 1, observedGeneration: 0 });
    const refused = await evict(call, "a");
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("10");
    expect(refused.body.details).toMatchObject({
      causes: [{ message: "The disruption budget web is still being processed by the server." }],
    });
  });

  it("lets an unready pod go without spending a healthy budget, and refuses two budgets", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await runningPod(call, "sick", false);
    await budget(call, "web", { disruptionsAllowed: 0, currentHealthy: 1, desiredHealthy: 1 });
    const evicted = await evict(call, "sick");
    expect(evicted.status, evicted.text).toBe(201);
    expect(
      ((await call("GET", `${PDBS}/web`)).body.status as Record<string, unknown>).disruptedPods,
    ).toBeUndefined();

    await runningPod(call, "c");
    await budget(call, "other", { disruptionsAllowed: 3 });
    const two = await evict(call, "c");
    expect(two.status).toBe(403);
    expect(two.body.message).toBe(
      "This pod has more than one PodDisruptionBudget, which the eviction subresource does not support.",
    );
  });

  it("skips budgets for a Pending pod and refuses a body naming another pod", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await budget(call, "web", { disruptionsAllowed: 0 });
    const created = await call("POST", PODS, {
      metadata: { name: "p", labels: { app: "web" } },
      spec: { containers: [{ name: "c", image: "nginx" }] },
    });
    expect(created.status).toBe(201);
    const mismatch = await call("POST", `${PODS}/p/eviction`, { kind: "Eviction", metadata: { name: "q" } });
    expect(mismatch.status).toBe(400);
    const evicted = await evict(call, "p");
    expect(evicted.status, evicted.text).toBe(201);
    expect((await call("GET", `${PODS}/p`)).status).toBe(404);
  });
});
