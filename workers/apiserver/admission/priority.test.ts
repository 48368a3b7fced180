/** PriorityClass (scheduling.k8s.io/v1) and the Priority admission plugin, through the whole Worker. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { findResource, RESOURCES } from "../kinds/index.ts";
import { Registry } from "../registry/registry.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { priorityAdmission } from "./priority.ts";

const info = findResource("scheduling.k8s.io", "priorityclasses")!;
const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };
const PCS = "https://edgeplane.test/apis/scheduling.k8s.io/v1/priorityclasses";
const pods = (ns: string) => `https://edgeplane.test/api/v1/namespaces/${ns}/pods`;

type Answer = Record<string, unknown> & {
  message?: string;
  reason?: string;
  code?: number;
  spec?: { priority?: number; preemptionPolicy?: string; priorityClassName?: string };
  items?: { metadata: { name: string } }[];
};
async function call(method: string, url: string, body?: object) {
  const response = await SELF.fetch(url, { method, headers: ADMIN, body: body && JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Answer };
}
const pc = (name: string, value: number, extra: object = {}) => ({
  apiVersion: "scheduling.k8s.io/v1",
  kind: "PriorityClass",
  metadata: { name },
  value,
  ...extra,
});
const pod = (name: string, spec: object = {}) => ({
  metadata: { name },
  spec: { containers: [{ name: "c", image: "registry.example/app:v1" }], ...spec },
});

runRegistryTester(
  info,
  {
    valid: [pc("high", 1000, { description: "for the important", preemptionPolicy: "Never" }), pc("low", -5)],
    invalid: [
      { object: pc("too-high", 1_000_000_001), fields: ["value"] },
      { object: pc("system-mine", 5), fields: ["metadata.name"] },
      { object: pc("bad-policy", 5, { preemptionPolicy: "Sometimes" }), fields: ["preemptionPolicy"] },
      { object: { kind: "PriorityClass", metadata: { name: "novalue" } }, fields: ["value"] },
    ],
  },
  RESOURCES,
);

describe("PriorityClass", () => {
  it("has the two system classes from start-up, and they cannot be deleted", async () => {
    const list = await call("GET", PCS);
    const names = list.body.items?.map((i) => i.metadata.name);
    expect(names).toEqual(expect.arrayContaining(["system-cluster-critical", "system-node-critical"]));
    const node = await call("GET", `${PCS}/system-node-critical`);
    expect(node.body).toMatchObject({
      value: 2000001000,
      globalDefault: false,
      preemptionPolicy: "PreemptLowerPriority",
    });
    const del = await call("DELETE", `${PCS}/system-cluster-critical`);
    expect(del.status).toBe(403);
    expect(del.body.message).toBe(
      'priorityclasses.scheduling.k8s.io "system-cluster-critical" is forbidden: this is a system priority class and cannot be deleted',
    );
  });

  it("keeps value immutable and allows only one globalDefault", async () => {
    expect((await call("POST", PCS, pc("imm", 10))).status).toBe(201);
    const got = await call("GET", `${PCS}/imm`);
    const changed = await call("PUT", `${PCS}/imm`, { ...got.body, value: 11 });
    expect(changed.status).toBe(422);
    expect(changed.body.message).toContain("value: Forbidden: may not be changed in an update.");
    expect((await call("POST", PCS, pc("default-a", 7, { globalDefault: true }))).status).toBe(201);
    const second = await call("POST", PCS, pc("default-b", 8, { globalDefault: true }));
    expect(second.status).toBe(403);
    expect(second.body.message).toBe(
      'priorityclasses.scheduling.k8s.io "default-b" is forbidden: PriorityClass default-a is already marked as default. Only one default can exist',
    );
    // A pod naming no class gets the default class.
    const p = await call("POST", pods("default"), pod("defaulted"));
    expect(p.status).toBe(201);
    expect(p.body.spec).toMatchObject({
      priorityClassName: "default-a",
      priority: 7,
      preemptionPolicy: "PreemptLowerPriority",
    });
    expect((await call("DELETE", `${PCS}/default-a`)).status).toBe(200);
  });
});

describe("Priority admission", () => {
  it("resolves priorityClassName to priority and preemptionPolicy; no class means 0", async () => {
    expect((await call("POST", PCS, pc("calm", 500, { preemptionPolicy: "Never" }))).status).toBe(201);
    const p = await call("POST", pods("default"), pod("calm-pod", { priorityClassName: "calm" }));
    expect(p.status).toBe(201);
    expect(p.body.spec).toMatchObject({ priority: 500, preemptionPolicy: "Never" });
    const plain = await call("POST", pods("default"), pod("plain-pod"));
    expect(plain.body.spec).toMatchObject({ priority: 0, preemptionPolicy: "PreemptLowerPriority" });
  });

  it("refuses a missing class, a disagreeing priority or policy, with kube's messages", async () => {
    const missing = await call("POST", pods("default"), pod("lost", { priorityClassName: "nope" }));
    expect(missing.status).toBe(403);
    expect(missing.body).toMatchObject({
      reason: "Forbidden",
      message: 'pods "lost" is forbidden: no PriorityClass with name nope was found',
    });
    expect((await call("POST", PCS, pc("mid", 100))).status).toBe(201);
    const wrong = await call(
      "POST",
      pods("default"),
      pod("wrong", { priorityClassName: "mid", priority: 5 }),
    );
    expect(wrong.status).toBe(403);
    expect(wrong.body.message).toBe(
      'pods "wrong" is forbidden: the integer value of priority (5) must not be provided in pod spec; priority admission controller computed 100 from the given PriorityClass name',
    );
    const policy = await call(
      "POST",
      pods("default"),
      pod("policy", { priorityClassName: "mid", preemptionPolicy: "Never" }),
    );
    expect(policy.status).toBe(403);
    expect(policy.body.message).toContain(
      "the string value of PreemptionPolicy (Never) must not be provided in pod spec; priority admission controller computed PreemptLowerPriority",
    );
    const same = await call(
      "POST",
      pods("default"),
      pod("same", { priorityClassName: "mid", priority: 100 }),
    );
    expect(same.status).toBe(201);
  });

  it("allows the critical classes in kube-system only", async () => {
    const outside = await call(
      "POST",
      pods("default"),
      pod("crit", { priorityClassName: "system-node-critical" }),
    );
    expect(outside.status).toBe(403);
    expect(outside.body.message).toBe(
      'pods "crit" is forbidden: insufficient quota to match these scopes: [{PriorityClass In [system-node-critical system-cluster-critical]}]',
    );
    const inside = await call(
      "POST",
      pods("kube-system"),
      pod("crit", { priorityClassName: "system-node-critical" }),
    );
    expect(inside.status).toBe(201);
    expect(inside.body.spec?.priority).toBe(2000001000);
  });
});

describe("system classes repair", () => {
  it("puts a missing system class back when a pod names it", async () => {
    // A registry whose store never saw the start-up bootstrap (as after a store restored without them).
    const registry = new Registry({
      store: new MemoryStore(),
      resources: RESOURCES,
      now: () => new Date(0),
      admission: [priorityAdmission],
    });
    const ctx = { user: "system:admin", groups: ["system:masters"], now: new Date(0), dryRun: false };
    const pcs = findResource("scheduling.k8s.io", "priorityclasses")!;
    expect((await registry.list(pcs, undefined)).items).toEqual([]);
    const created = await registry.create(
      findResource("", "pods")!,
      "kube-system",
      pod("critical", { priorityClassName: "system-cluster-critical" }),
      ctx,
      { manager: "test" },
    );
    expect((created.spec as Answer["spec"])?.priority).toBe(2000000000);
    const names = (await registry.list(pcs, undefined)).items.map((o) => o.metadata?.name).sort();
    expect(names).toEqual(["system-cluster-critical", "system-node-critical"]);
  });
});
