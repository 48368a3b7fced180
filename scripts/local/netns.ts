/**
 * Local nodes in their own network namespaces, as kind puts nodes in
 * containers, so traffic between nodes really crosses a network: a host
 * bridge with the host's address on it, and per node a named netns joined to
 * it by a veth, with its own address (the Node's InternalIP), forwarding on,
 * and (made by its agent) its own pod bridge, nftables and routes.
 *
 * The host is the nodes' default gateway and masquerades what leaves past it.
 * The control plane and the registry endpoint stay on the host's loopback.
 * The agents reach the API at the host bridge address (a forwarder there; the
 * server certificate names that address), and the registry endpoint at their
 * own namespace's 127.0.0.1 (one small forwarder per namespace), because pods
 * name images `127.0.0.1:<port>/...` and pullers speak plain HTTP only to
 * loopback. Everything is named after the state dir, so a start can remove
 * what a crashed one left, and two clusters on one host do not collide.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { readFile } from "node:fs/promises";
import { createConnection, createServer, type Socket } from "node:net";
import { promisify } from "node:util";

const run = promisify(execFile);

/** One node's place on the node network. */
export interface NodePlace {
  name: string;
  /** Named network namespace (/run/netns/<ns>). */
  ns: string;
  /** Host side of the node's veth (the namespace side is eth0). */
  veth: string;
  /** The node's address: its InternalIP (--node-ip). */
  ip: string;
}

/** Names and addresses of one local cluster's node network, fixed by its state dir and CIDR. */
export interface NodeNetworkPlan {
  /** Short hash of the state dir that every name below carries. */
  id: string;
  /** The host bridge the nodes' veths attach to. */
  bridge: string;
  cidr: string;
  prefix: number;
  /** The host's address on the bridge: the agents' way to the API and registry. */
  hostIP: string;
  nodes: NodePlace[];
}

/** The id that names a state dir's bridge, namespaces and veths. */
export function nodeNetworkId(stateDir: string): string {
  return createHash("sha256").update(stateDir).digest("hex").slice(0, 6);
}

const ipToInt = (ip: string) => ip.split(".").reduce((n, o) => n * 256 + Number(o), 0);
const intToIp = (n: number) => [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join(".");

/** Node i (from 1) gets .10+i of the network, the host .1; throws when `cidr` is malformed or too small. */
export function planNodeNetwork(stateDir: string, cidr: string, names: string[]): NodeNetworkPlan {
  const m = /^(\d{1,3}(?:\.\d{1,3}){3})\/(\d{1,2})$/.exec(cidr);
  const prefix = Number(m?.[2]);
  if (!m || m[1].split(".").some((o) => Number(o) > 255) || prefix < 8 || prefix > 28)
    throw new Error(`--node-network must be an IPv4 CIDR of /8 to /28, not "${cidr}"`);
  const base = ipToInt(m[1]) - (ipToInt(m[1]) % 2 ** (32 - prefix));
  if (10 + names.length >= 2 ** (32 - prefix) - 1)
    throw new Error(`--node-network ${cidr} has no room for ${names.length} node(s) (they take .11 up)`);
  const id = nodeNetworkId(stateDir);
  return {
    id,
    bridge: `epn${id}`,
    cidr: `${intToIp(base)}/${prefix}`,
    prefix,
    hostIP: intToIp(base + 1),
    nodes: names.map((name, i) => ({
      name,
      ns: `ep-${id}-${name}`,
      veth: `epv${id}${i + 1}`,
      ip: intToIp(base + 11 + i),
    })),
  };
}

/** Why nodes cannot get namespaces here (root, ip, nsenter), or undefined when they can. */
export async function nodeNetnsProblem(): Promise<string | undefined> {
  if (process.getuid?.() !== 0) return "network namespaces need root";
  for (const cmd of ["ip", "nsenter", "nft"]) {
    const found = await run("sh", ["-c", `command -v ${cmd}`]).then(
      () => true,
      () => false,
    );
    if (!found) return `${cmd} is missing (scripts/setup-host.sh installs it)`;
  }
  return undefined;
}

/** argv prefix that runs a command in namespace `ns`'s network only. */
export function inNetns(ns: string): string[] {
  // Not `ip netns exec`: that also remounts /sys in a new mount namespace, which hides the cgroup mounts runc needs.
  return ["nsenter", `--net=/run/netns/${ns}`, "--"];
}

/** A node network that exists; stop() removes all of it. */
export interface NodeNetwork {
  plan: NodeNetworkPlan;
  /** The place of node `name`, or undefined when it has none. */
  node(name: string): NodePlace | undefined;
  /** Route pod CIDR `cidr` from the host via `nodeIP`, so the host reaches that node's pods. */
  routePodCidr(cidr: string, nodeIP: string): Promise<void>;
  /** Forwarders, routes, namespaces (with their veths), the bridge and the NAT table go. */
  stop(): Promise<void>;
}

/**
 * Build the network of `plan`, after removing whatever a crashed start of the same state dir left. `ports`
 * are the host-loopback ports the agents need: the API's is forwarded at the host bridge address, each is
 * also forwarded at every namespace's own loopback (`marker` is put on those forwarders' command lines so
 * that a sweep for processes mentioning it finds them).
 */
export async function createNodeNetwork(
  plan: NodeNetworkPlan,
  ports: number[],
  marker: string,
): Promise<NodeNetwork> {
  await removeNodeNetwork(plan);
  const servers: Forwarder[] = [];
  const forwarders: ChildProcess[] = [];
  const routes = new Set<string>();
  const network: NodeNetwork = {
    plan,
    node: (name) => plan.nodes.find((n) => n.name === name),
    routePodCidr: async (cidr, nodeIP) => {
      // add, not replace: a route that exists belongs to someone else (another cluster on the same pod network).
      await ip("route", "add", cidr, "via", nodeIP, "dev", plan.bridge).catch((error) => {
        throw new Error(`${error.message} (another cluster on the same --pod-network?)`);
      });
      routes.add(cidr);
    },
    stop: async () => {
      for (const f of forwarders) killGroup(f);
      for (const s of servers) s.close();
      for (const cidr of routes) await quiet("ip", ["route", "del", cidr, "dev", plan.bridge]);
      await removeNodeNetwork(plan);
    },
  };
  try {
    await ip("link", "add", plan.bridge, "type", "bridge");
    await ip("addr", "add", `${plan.hostIP}/${plan.prefix}`, "dev", plan.bridge);
    await ip("link", "set", plan.bridge, "up");
    // The way out, as a router's NAT: what the nodes and their pods send past the host leaves with the host's
    // address (off-host peers have no route back to the node or pod networks). Needs the host's forwarding on.
    await nft(
      `table ip ${natTable(plan)} { chain postrouting { type nat hook postrouting priority srcnat; policy accept; ` +
        `iifname "${plan.bridge}" oifname != "${plan.bridge}" masquerade; }; }`,
    );
    for (const port of ports) servers.push(await forwardToLoopback(plan.hostIP, port));
    for (const n of plan.nodes) {
      await ip("netns", "add", n.ns);
      await ip("link", "add", n.veth, "type", "veth", "peer", "name", "eth0", "netns", n.ns);
      await ip("link", "set", n.veth, "master", plan.bridge, "up");
      await ip("-n", n.ns, "addr", "add", `${n.ip}/${plan.prefix}`, "dev", "eth0");
      await ip("-n", n.ns, "link", "set", "eth0", "up");
      await ip("-n", n.ns, "link", "set", "lo", "up");
      // A node has a default gateway: without a route, its own processes' connections to a ClusterIP fail
      // before the nat output hook can DNAT them.
      await ip("-n", n.ns, "route", "add", "default", "via", plan.hostIP);
      // The node routes for its pods (host to pod, pod to other nodes' pods, NodePorts to other nodes).
      await run("ip", ["netns", "exec", n.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      forwarders.push(await startForwarder(n.ns, plan.hostIP, ports, marker));
    }
  } catch (error) {
    await network.stop();
    throw error;
  }
  return network;
}

/**
 * The host interface (other than `plan`'s own bridge) that already has an address in `plan`'s network, e.g.
 * another local cluster's node bridge: two bridges on one network leave the host unable to tell them apart.
 */
export async function nodeNetworkUser(plan: NodeNetworkPlan): Promise<string | undefined> {
  const { stdout } = await run("ip", ["-j", "-4", "addr", "show"]);
  const links = JSON.parse(stdout) as {
    ifname: string;
    addr_info?: { local: string; prefixlen: number }[];
  }[];
  const size = 2 ** (32 - plan.prefix);
  const base = ipToInt(plan.cidr.split("/")[0]);
  for (const link of links) {
    if (link.ifname === plan.bridge) continue;
    for (const a of link.addr_info ?? []) {
      // Overlap of the two networks: either one holds the other's first address.
      const theirs = ipToInt(a.local) - (ipToInt(a.local) % 2 ** (32 - a.prefixlen));
      const theirSize = 2 ** (32 - a.prefixlen);
      if ((theirs >= base && theirs < base + size) || (base >= theirs && base < theirs + theirSize))
        return `${link.ifname} (${a.local}/${a.prefixlen})`;
    }
  }
  return undefined;
}

/**
 * Remove the namespaces, veths, bridge and NAT table of `plan`'s id if they exist (routes through the bridge go
 * with it), also those of nodes a start with more of them left.
 */
export async function removeNodeNetwork(plan: NodeNetworkPlan): Promise<void> {
  const lines = async (args: string[]) =>
    (await run("ip", args).catch(() => ({ stdout: "" }))).stdout.split("\n");
  const veths = (await lines(["-o", "link", "show", "type", "veth"]))
    .map((l) => /^\d+: ([^:@]+)/.exec(l)?.[1] ?? "")
    .filter((name) => name.startsWith(`epv${plan.id}`));
  // The veth first: a namespace that some process still holds would otherwise keep its end, and so the pair.
  for (const veth of veths) await quiet("ip", ["link", "del", veth]);
  const namespaces = (await lines(["netns", "list"]))
    .map((l) => l.split(" ")[0])
    .filter((ns) => ns.startsWith(`ep-${plan.id}-`));
  for (const ns of namespaces) await quiet("ip", ["netns", "del", ns]);
  await quiet("ip", ["link", "del", plan.bridge]);
  await quiet("nft", ["delete", "table", "ip", natTable(plan)]);
}

/** The host's nftables table holding the node network's masquerade rule. */
export function natTable(plan: NodeNetworkPlan): string {
  return `edgeplane-nodes-${plan.id}`;
}

/** Whether the host forwards IPv4 (without it the nodes reach nothing past the host). */
export async function hostForwards(): Promise<boolean> {
  return (await readFile("/proc/sys/net/ipv4/ip_forward", "utf8").catch(() => "0")).trim() === "1";
}

async function nft(script: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const child = execFile("nft", ["-f", "-"], (error, _out, stderr) =>
      error ? reject(new Error(`nft: ${stderr.trim() || error.message}`)) : resolve(),
    );
    child.stdin?.end(script);
  });
}

async function ip(...args: string[]): Promise<void> {
  try {
    await run("ip", args);
  } catch (error) {
    throw new Error(`ip ${args.join(" ")}: ${(error as { stderr?: string }).stderr?.trim() || error}`);
  }
}

async function quiet(cmd: string, args: string[]): Promise<void> {
  await run(cmd, args).catch(() => {});
}

/** Pipe two sockets both ways; an error on either end closes both. */
function splice(a: NodeJS.ReadWriteStream & { destroy(): void }, b: typeof a): void {
  a.pipe(b).pipe(a);
  a.on("error", () => b.destroy());
  b.on("error", () => a.destroy());
}

/** A listener that forwards; close() ends it and every connection it carries. */
interface Forwarder {
  close(): void;
}

/** Listen on <listenHost>:<port> and forward each connection to the host's 127.0.0.1:<port>. */
function forwardToLoopback(listenHost: string, port: number): Promise<Forwarder> {
  const sockets = new Set<Socket>();
  const server = createServer((c) => {
    const u = createConnection(port, "127.0.0.1");
    for (const s of [c, u]) {
      sockets.add(s);
      s.once("close", () => sockets.delete(s));
    }
    splice(c, u);
  });
  const close = () => {
    server.close();
    // An open connection (an agent's tunnel) would keep the listener's close pending for ever.
    for (const s of sockets) s.destroy();
  };
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, listenHost, () => resolve({ close }));
  });
}

/** The in-namespace forwarder: 127.0.0.1:<port> → <host>:<port> for each port (argv: host marker port...). */
const FORWARDER = `const net = require("node:net");
const [host, , ...ports] = process.argv.slice(1);
let left = ports.length;
for (const p of ports)
  net.createServer((c) => { const u = net.connect(Number(p), host);
    c.pipe(u).pipe(c); u.on("error", () => c.destroy()); c.on("error", () => u.destroy()); })
    .listen(Number(p), "127.0.0.1", () => { if (--left === 0) console.log("forwarding"); });`;

/** Start the forwarder inside `ns` (its own process group) and wait until it listens. */
async function startForwarder(ns: string, host: string, ports: number[], marker: string) {
  const [cmd, ...pre] = inNetns(ns);
  const child = spawn(cmd, [...pre, process.execPath, "-e", FORWARDER, host, marker, ...ports.map(String)], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => fail(new Error(`forwarder in ${ns} did not start: ${out}`)), 15_000);
    const fail = (error: Error) => {
      clearTimeout(timer);
      killGroup(child);
      reject(error);
    };
    const onData = (d: Buffer) => {
      out += d;
      if (out.includes("forwarding")) {
        clearTimeout(timer);
        resolve();
      }
    };
    child.stdout?.on("data", onData);
    child.stderr?.on("data", onData);
    child.once("exit", (code) => fail(new Error(`forwarder in ${ns} exited (${code}): ${out}`)));
  });
  child.removeAllListeners("exit");
  child.stdout?.destroy();
  child.stderr?.destroy();
  child.unref();
  return child;
}

function killGroup(child: ChildProcess): void {
  try {
    if (child.pid) process.kill(-child.pid, "SIGKILL");
  } catch {
    // gone
  }
}

/**
 * Route node `name`'s pod CIDR from the host once node IPAM has given it one (`podCidr` reads it), so the
 * host reaches that node's pods; polls every second for up to `timeoutMs` or until `stopped()`.
 */
export async function routeWhenAssigned(
  network: NodeNetwork,
  name: string,
  podCidr: () => Promise<string | undefined>,
  stopped: () => boolean,
  timeoutMs = 180_000,
): Promise<string | undefined> {
  const place = network.node(name);
  const deadline = Date.now() + timeoutMs;
  while (place && !stopped() && Date.now() < deadline) {
    const cidr = await podCidr().catch(() => undefined);
    if (cidr) {
      await network.routePodCidr(cidr, place.ip);
      return cidr;
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
  return undefined;
}
