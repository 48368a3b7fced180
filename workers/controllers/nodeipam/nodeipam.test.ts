import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { ALL_KEYS, defaultConfig } from "../../reconcile/types.ts";
import { runPass } from "../loop.ts";
import { blockCidr, blockIndex, cidrSet } from "./cidr.ts";
import { nodeIpamController } from "./index.ts";

const node = (name: string, podCIDR?: string): KubeObject => ({
  apiVersion: "v1",
  kind: "Node",
  metadata: { name },
  spec: podCIDR ? { podCIDR, podCIDRs: [podCIDR] } : {},
});

/** One pass over every node through the manager's pass runner (its cache sees the pass's own writes). */
async function pass(client: FakeClient, config = {}): Promise<void> {
  const report = await runPass({
    controllers: [nodeIpamController],
    client,
    now: () => new Date("2026-01-01T00:00:00Z"),
    config: { ...defaultConfig, ...config },
    recorder: () => client.recorder,
  });
  expect([...report.failed.keys()]).toEqual([]);
}

const cidrs = (client: FakeClient) =>
  Object.fromEntries(
    client.all(R.nodes).map((n) => [n.metadata?.name, (n.spec as { podCIDR?: string }).podCIDR]),
  );

describe("node IPAM controller", () => {
  it("gives every node a distinct /24 of the cluster CIDR, podCIDR and podCIDRs alike, once", async () => {
    const client = new FakeClient([{ ref: R.nodes, objects: [node("a"), node("b"), node("c")] }]);
    await pass(client);
    expect(cidrs(client)).toEqual({ a: "10.244.0.0/24", b: "10.244.1.0/24", c: "10.244.2.0/24" });
    expect(client.writes[0]?.body).toMatchObject({
      spec: { podCIDR: "10.244.0.0/24", podCIDRs: ["10.244.0.0/24"] },
    });
    const writes = client.writes.length;
    await pass(client);
    expect(client.writes).toHaveLength(writes);
  });

  it("gives 200 nodes arriving together 200 distinct blocks in one pass (the per-list memo never hands out a taken block)", async () => {
    const names = Array.from({ length: 200 }, (_, i) => `n${i}`);
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("held", "10.244.7.0/24"), ...names.map((n) => node(n))] },
    ]);
    await pass(client);
    const given = Object.values(cidrs(client));
    expect(given.every((c) => typeof c === "string")).toBe(true);
    expect(new Set(given).size).toBe(201);
  });

  it("rebuilds its map from the nodes after a restart and reuses a deleted node's block", async () => {
    // A fresh controller (no memory) over nodes that already hold blocks 0 and 2: the gap is used first.
    const client = new FakeClient([
      { ref: R.nodes, objects: [node("a", "10.244.0.0/24"), node("c", "10.244.2.0/24"), node("d")] },
    ]);
    await pass(client);
    expect(cidrs(client).d).toBe("10.244.1.0/24");
    await client.delete(R.nodes, undefined, "a");
    await client.create(R.nodes, undefined, node("e"));
    await pass(client);
    expect(cidrs(client).e).toBe("10.244.0.0/24");
    expect(new Set(Object.values(cidrs(client))).size).toBe(3);
  });

  it("marks a node it cannot serve with CIDRNotAvailable and serves it once a block is freed", async () => {
    const config = { clusterCIDR: "10.10.0.0/23", nodeCIDRMaskSize: 24 };
    const client = new FakeClient([{ ref: R.nodes, objects: [node("a"), node("b"), node("c")] }]);
    await pass(client, config);
    expect(cidrs(client)).toEqual({ a: "10.10.0.0/24", b: "10.10.1.0/24", c: undefined });
    expect(client.events).toEqual([
      expect.objectContaining({ reason: "CIDRNotAvailable", type: "Warning", object: "undefined/c" }),
    ]);
    // Deleting a node wakes every key, so the waiting node is looked at again.
    expect(nodeIpamController.keysFor?.({ resource: "/nodes", type: "DELETED", object: node("a") })).toEqual([
      ALL_KEYS,
    ]);
    await client.delete(R.nodes, undefined, "a");
    await pass(client, config);
    expect(cidrs(client).c).toBe("10.10.0.0/24");
  });

  it("ignores blocks outside the cluster CIDR or of another size and rejects a mask that does not fit", () => {
    const set = cidrSet("10.244.0.0/16", 24);
    expect(set.count).toBe(256);
    expect(blockCidr(set, 255)).toBe("10.244.255.0/24");
    expect(blockIndex(set, "10.245.0.0/24")).toBeUndefined();
    expect(blockIndex(set, "10.244.0.0/25")).toBeUndefined();
    expect(blockIndex(set, "10.244.7.0/24")).toBe(7);
    expect(() => cidrSet("10.244.0.0/16", 8)).toThrow(/does not fit/);
    expect(() => cidrSet("fd00::/48", 64)).toThrow(/not an IPv4 CIDR/);
  });
});
