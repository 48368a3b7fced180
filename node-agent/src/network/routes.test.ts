/** Node routes on the real kernel, in a private network namespace (needs root and iproute2). */
import { execFileSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ipRouteTable, NodeRoutes, peerRoutes } from "./routes.ts";

const NS = `ep-routes-${randomBytes(3).toString("hex")}`;
const ip = (...args: string[]) => execFileSync("ip", ["-n", NS, ...args], { encoding: "utf8" });

const node = (name: string, address?: string, podCIDR?: string) => ({
  metadata: { name },
  spec: podCIDR ? { podCIDR } : {},
  status: { addresses: address ? [{ type: "InternalIP", address }] : [] },
});

beforeAll(() => {
  execFileSync("ip", ["netns", "add", NS]);
  // A veth inside the namespace stands for the node network 172.30.77.0/24 (this node is .1).
  ip("link", "add", "n0", "type", "veth", "peer", "name", "n1");
  ip("addr", "add", "172.30.77.1/24", "dev", "n0");
  ip("link", "set", "n0", "up");
  ip("link", "set", "n1", "up");
});
afterAll(() => {
  execFileSync("ip", ["netns", "del", NS]);
});

describe("node routes (host-gw)", () => {
  it("routes other nodes' pod CIDRs via their InternalIP, follows changes, prunes stale ones, reports its own CIDR", async () => {
    const table = ipRouteTable(NS);
    // A route of ours left by an earlier run for a node that no longer exists: pruned on the first sync.
    ip("route", "add", "10.244.9.0/24", "via", "172.30.77.9", "proto", "77");
    // Someone else's route is never touched.
    ip("route", "add", "10.250.0.0/24", "via", "172.30.77.50");
    const logs: string[] = [];
    const own: string[] = [];
    const routes = new NodeRoutes(
      table,
      { name: "n1", ip: "172.30.77.1" },
      (m) => logs.push(m),
      (c) => {
        own.push(c);
      },
    );
    await routes.synced([
      node("n1", "172.30.77.1", "10.244.0.0/24"),
      node("n2", "172.30.77.2", "10.244.1.0/24"),
      node("n3", "172.30.77.3"),
    ]);
    expect(own).toEqual(["10.244.0.0/24"]);
    expect(Object.fromEntries(await table.list())).toEqual({ "10.244.1.0/24": "172.30.77.2" });
    // n3 gets its CIDR later; n2 moves to another address.
    await routes.upsert(node("n3", "172.30.77.3", "10.244.2.0/24"));
    await routes.upsert(node("n2", "172.30.77.22", "10.244.1.0/24"));
    expect(Object.fromEntries(await table.list())).toEqual({
      "10.244.1.0/24": "172.30.77.22",
      "10.244.2.0/24": "172.30.77.3",
    });
    await routes.remove(node("n2"));
    expect(Object.fromEntries(await table.list())).toEqual({ "10.244.2.0/24": "172.30.77.3" });
    expect(ip("route", "show", "10.250.0.0/24")).toContain("via 172.30.77.50");
    // A node on another network cannot be reached by host-gw: logged with the way out, nothing installed.
    await routes.upsert(node("far", "192.0.2.10", "10.244.5.0/24"));
    expect(Object.fromEntries(await table.list())).toEqual({ "10.244.2.0/24": "172.30.77.3" });
    expect(logs.join("\n")).toMatch(/cannot route 10\.244\.5\.0\/24 via node far .*VXLAN or WireGuard/);
    expect(own).toEqual(["10.244.0.0/24"]);
  });

  it("skips nodes sharing this node's address (same host) and nodes without a CIDR or address", () => {
    expect(
      peerRoutes(
        [
          node("a", "10.0.0.1", "10.244.0.0/24"),
          node("b", "10.0.0.1", "10.244.1.0/24"),
          node("c"),
          node("d", "10.0.0.4", "10.244.3.0/24"),
        ],
        "a",
        "10.0.0.1",
      ),
    ).toEqual([{ cidr: "10.244.3.0/24", via: "10.0.0.4", node: "d" }]);
  });
});
