/**
 * The node network's plan (names from the state dir, addresses from the CIDR,
 * bad CIDRs refused), and the server certificate naming the host's address
 * on it: an existing certificate without that address is issued again by the
 * same CA. A node network another interface already uses is refused (root:
 * it makes a bridge to hold the address).
 */
import { execFileSync } from "node:child_process";
import { X509Certificate } from "node:crypto";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { claimSubnet } from "../../node-agent/src/runtime/cri/testing.ts";
import { nodeCidrMask, parseStartArgs } from "./args.ts";
import { natTable, planNodeNetwork, removeNodeNetwork } from "./netns.ts";
import { chooseNodeNetwork } from "./netns-start.ts";
import { ensurePki } from "./pki.ts";

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeplane-netns-"));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

it("plans one namespace, veth and address per node, named after the state dir", () => {
  const plan = planNodeNetwork("/state/a", "172.30.0.0/24", ["node-1", "node-2"]);
  expect(plan.bridge).toMatch(/^epn[0-9a-f]{6}$/);
  expect(plan.hostIP).toBe("172.30.0.1");
  expect(plan.cidr).toBe("172.30.0.0/24");
  expect(plan.nodes.map((n) => [n.name, n.ip, n.ns, n.veth])).toEqual([
    ["node-1", "172.30.0.11", `ep-${plan.id}-node-1`, `epv${plan.id}1`],
    ["node-2", "172.30.0.12", `ep-${plan.id}-node-2`, `epv${plan.id}2`],
  ]);
  for (const n of plan.nodes) expect(n.veth.length).toBeLessThanOrEqual(15);
  // Another state dir, other names: two clusters on one host do not collide.
  expect(planNodeNetwork("/state/b", "172.30.0.0/24", ["node-1"]).bridge).not.toBe(plan.bridge);
  // A host address inside the network is taken to mean the network.
  expect(planNodeNetwork("/s", "10.1.2.77/24", ["node-1"]).nodes[0].ip).toBe("10.1.2.11");
  for (const bad of ["172.30.0.0", "300.1.1.0/24", "10.0.0.0/30", "fd00::/64"])
    expect(() => planNodeNetwork("/s", bad, ["node-1"])).toThrow(/--node-network/);
  expect(() => planNodeNetwork("/s", "10.0.0.0/28", ["a", "b", "c", "d", "e"])).toThrow(/no room for 5/);
});

it("parses --node-netns, --no-node-netns and --node-network, and cuts a small pod network per node", () => {
  const parse = (args: string[], env = {}) => parseStartArgs(args, "/root", env);
  expect(parse([]).nodeNetns).toBeUndefined();
  expect(parse(["--node-netns"]).nodeNetns).toBe(true);
  expect(parse(["--no-node-netns"]).nodeNetns).toBe(false);
  expect(parse([]).nodeNetwork).toBe("172.30.0.0/24");
  expect(parse([], { EDGEPLANE_NODE_NETWORK: "172.31.5.0/24" }).nodeNetwork).toBe("172.31.5.0/24");
  expect(nodeCidrMask("10.244.0.0/16", 3)).toBe(24);
  expect(nodeCidrMask("10.245.7.0/24", 1)).toBe(24);
  expect(nodeCidrMask("10.245.7.0/24", 2)).toBe(25);
  expect(parse(["--nodes", "2", "--pod-network", "10.245.7.0/24"]).nodes).toBe(2);
  expect(() => parse(["--nodes", "5", "--pod-network", "10.245.7.0/24"])).toThrow(/room for 4 node/);
});

it("names the host's node-network address in the server certificate, re-issued by the same CA", async () => {
  const sans = async (file: string) => new X509Certificate(await readFile(file)).subjectAltName;
  const first = await ensurePki(dir);
  expect(await sans(first.serverCert)).not.toContain("172.30.0.1");
  const ca = await readFile(first.caCert, "utf8");
  const again = await ensurePki(dir, ["172.30.0.1"]);
  expect(again.created).toBe(false);
  expect(await sans(again.serverCert)).toContain("IP Address:172.30.0.1");
  expect(await sans(again.serverCert)).toContain("IP Address:127.0.0.1");
  expect(await readFile(again.caCert, "utf8")).toBe(ca);
  const cert = new X509Certificate(await readFile(again.serverCert));
  expect(cert.verify(new X509Certificate(ca).publicKey)).toBe(true);
  expect(cert.checkIP("172.30.0.1")).toBe("172.30.0.1");
});

it("refuses a node network that a host interface already uses (another cluster's bridge), before starting", async () => {
  const subnet = claimSubnet();
  const third = subnet.cidr.split(".")[2];
  const other = `epd${process.pid % 100000}`;
  const say: string[] = [];
  const options = parseStartArgs(
    ["--nodes", "2", "--state-dir", dir, "--node-network", `172.31.${third}.128/25`],
    "/root",
    {},
  );
  try {
    // Free: planned as asked.
    expect((await chooseNodeNetwork(options, (m) => say.push(m)))?.hostIP).toBe(`172.31.${third}.129`);
    execFileSync("ip", ["link", "add", other, "type", "bridge"]);
    execFileSync("ip", ["addr", "add", `172.31.${third}.7/24`, "dev", other]);
    await expect(chooseNodeNetwork(options, (m) => say.push(m))).rejects.toThrow(
      `--node-network 172.31.${third}.128/25 is already in use on ${other} (172.31.${third}.7/24) (another cluster?)`,
    );
    // One node, no --node-netns: the host network as before, nothing checked.
    expect(await chooseNodeNetwork({ ...options, nodes: 1 }, (m) => say.push(m))).toBeUndefined();
    expect(say).toEqual([]);
  } finally {
    try {
      execFileSync("ip", ["link", "del", other], { stdio: "ignore" });
    } catch {
      // never made
    }
    subnet.release();
  }
});

it("removes what a killed start left, also the namespace of a node it no longer has", async () => {
  const plan = planNodeNetwork(dir, "172.31.0.0/24", ["node-1", "node-2"]);
  const [ns, veth] = [`ep-${plan.id}-node-3`, `epv${plan.id}3`];
  execFileSync("ip", ["netns", "add", ns]);
  execFileSync("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  execFileSync("ip", ["link", "add", plan.bridge, "type", "bridge"]);
  execFileSync("nft", ["add", "table", "ip", natTable(plan)]);
  try {
    await removeNodeNetwork(plan);
    expect(execFileSync("ip", ["netns", "list"], { encoding: "utf8" })).not.toContain(plan.id);
    expect(execFileSync("ip", ["-o", "link"], { encoding: "utf8" })).not.toContain(plan.id);
    expect(execFileSync("nft", ["list", "tables"], { encoding: "utf8" })).not.toContain(plan.id);
  } finally {
    for (const [cmd, ...args] of [
      ["ip", "link", "del", veth],
      ["ip", "netns", "del", ns],
      ["ip", "link", "del", plan.bridge],
      ["nft", "delete", "table", "ip", natTable(plan)],
    ])
      try {
        execFileSync(cmd, args, { stdio: "ignore" });
      } catch {
        // removed, as it should be
      }
  }
});
