/**
 * Node spec.podCIDR(s) through the whole Worker: the node IPAM controller (run by the
 * controller manager in this Worker) sets them once, and no update may change them after.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const BASE = "https://edgeplane.test/api/v1/nodes";
const AUTH = { Authorization: "Bearer test-admin-token" };

const patch = (name: string, body: unknown) =>
  SELF.fetch(`${BASE}/${name}`, {
    method: "PATCH",
    headers: { ...AUTH, "Content-Type": "application/merge-patch+json" },
    body: JSON.stringify(body),
  });

type Node = { spec?: { podCIDR?: string; podCIDRs?: string[] } };

/** Poll (bounded) until the node has a pod CIDR. */
async function podCidrOf(name: string, timeoutMs = 20_000): Promise<Node["spec"]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const node = (await (await SELF.fetch(`${BASE}/${name}`, { headers: AUTH })).json()) as Node;
    if (node.spec?.podCIDR) return node.spec;
    if (Date.now() > deadline) throw new Error(`node ${name} got no podCIDR`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const create = (name: string) =>
  SELF.fetch(BASE, {
    method: "POST",
    headers: { ...AUTH, "Content-Type": "application/json" },
    body: JSON.stringify({ apiVersion: "v1", kind: "Node", metadata: { name } }),
  });

describe("node podCIDR", () => {
  it("is allocated by node IPAM, distinct per node, then immutable (422 Invalid on spec.podCIDRs)", async () => {
    expect((await create("cidr-a")).status).toBe(201);
    expect((await create("cidr-b")).status).toBe(201);
    const a = await podCidrOf("cidr-a");
    const b = await podCidrOf("cidr-b");
    expect(a?.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(a?.podCIDRs).toEqual([a?.podCIDR]);
    expect(b?.podCIDR).toMatch(/^10\.244\.\d+\.0\/24$/);
    expect(b?.podCIDR).not.toBe(a?.podCIDR);

    expect((await patch("cidr-a", { spec: { unschedulable: true } })).status).toBe(200);
    for (const spec of [
      { podCIDR: b?.podCIDR, podCIDRs: [b?.podCIDR] },
      { podCIDR: null, podCIDRs: null },
    ]) {
      const changed = await patch("cidr-a", { spec });
      expect(changed.status).toBe(422);
      const status = (await changed.json()) as {
        kind: string;
        reason: string;
        details: { causes: { field: string }[] };
      };
      expect(status.kind).toBe("Status");
      expect(status.reason).toBe("Invalid");
      expect(status.details.causes.map((c) => c.field)).toEqual(["spec.podCIDRs"]);
    }
  });
});
