/**
 * Two nodes that really cross a network, on the real kernel: each node agent
 * (with its own managed containerd, pod bridge and routes) runs in its own
 * network namespace joined to a host bridge by a veth, as kind puts nodes in
 * containers. Node IPAM gives each Node its own half of a private /24 (one
 * half first held by a placeholder Node, so one agent gets its CIDR only after
 * it started, and only once the placeholder is deleted); a
 * busybox pod on node-1 fetches a busybox httpd on node-2 by pod IP over the
 * host-gw routes the agents install; the host reaches a pod on each node.
 *
 * The agents reach the control plane and the test registry (both on the host's
 * 127.0.0.1) through small TCP forwarders: one on the host bridge's address,
 * and one on each namespace's own loopback.
 */
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { createConnection, createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { startContainerd } from "../../node-agent/src/runtime/cri/containerd.ts";
import { CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import {
  buildTestImages,
  claimSubnet,
  criUnavailableReason,
  type LocalRegistry,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, ROOT, startControlPlane } from "./harness.ts";

const unavailable = criUnavailableReason();
if (unavailable) console.warn(`multinode tests SKIPPED: ${unavailable}`);

const BIN = resolve(ROOT, "node-agent/bin/node-agent.mjs");
const ID = randomBytes(2).toString("hex");
const HOST_BRIDGE = `epn${ID}`;
const NODES = ["node-1", "node-2"].map((name, i) => ({ name, ns: `ep-${ID}-${name}`, index: i + 1 }));

/** In-namespace forwarder: 127.0.0.1:<port> → <host>:<port> for each port (argv: host port...). */
const FORWARDER = `const net = require("node:net");
const [host, ...ports] = process.argv.slice(1);
for (const p of ports) net.createServer((c) => { const u = net.connect(Number(p), host); c.pipe(u).pipe(c);
  u.on("error", () => c.destroy()); c.on("error", () => u.destroy()); }).listen(Number(p), "127.0.0.1");
console.log("forwarding");`;

const sh = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: "utf8" });
const quiet = (cmd: string, args: string[]) => {
  try {
    execFileSync(cmd, args, { stdio: "ignore" });
  } catch {
    // already gone
  }
};

/** Forward <listenHost>:<port> to 127.0.0.1:<port> on the host. */
function forwardToLoopback(listenHost: string, port: number): Promise<Server> {
  const server = createServer((c) => {
    const u = createConnection(port, "127.0.0.1");
    c.pipe(u).pipe(c);
    u.on("error", () => c.destroy());
    c.on("error", () => u.destroy());
  });
  return new Promise((res, rej) => {
    server.once("error", rej);
    server.listen(port, listenHost, () => res(server));
  });
}

/**
 * Run `args` inside network namespace `ns`; output collected. nsenter, not `ip netns exec`: the latter
 * also remounts /sys in a new mount namespace, which hides the cgroup mounts runc needs.
 */
function inNetns(ns: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn("nsenter", [`--net=/run/netns/${ns}`, "--", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, NODE_NO_WARNINGS: "1", ...env },
  });
  let out = "";
  child.stdout?.on("data", (d) => {
    out += d;
  });
  child.stderr?.on("data", (d) => {
    out += d;
  });
  return { child, output: () => out };
}

describe.skipIf(unavailable)("two nodes in two network namespaces", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let busybox: string;
  let dir: string;
  let subnet: { cidr: string; release(): void };
  let third: number;
  const servers: Server[] = [];
  const children: { child: ChildProcess; output: () => string }[] = [];
  const agents = new Map<string, { child: ChildProcess; output: () => string }>();
  const hostRoutes: string[] = [];
  const nodeIP = (i: number) => `172.31.${third}.${10 + i}`;
  const hostIP = () => `172.31.${third}.1`;

  const kubectl = async (args: string[], input?: string) => {
    const r = await cp.kubectl(args, { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-multinode-"));
    subnet = claimSubnet();
    // claimSubnet's 10.245.<n>.0/24 also names this run's node network 172.31.<n>.0/24.
    third = Number(subnet.cidr.split(".")[2]);
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    [cp, registry] = await Promise.all([
      startControlPlane({
        tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
        env: { CLUSTER_CIDR: subnet.cidr, NODE_CIDR_MASK_SIZE: "25" },
      }),
      startLocalRegistry(join(dir, "registry")),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const cpPort = Number(new URL(cp.url).port);
    const regPort = Number(registry.host.split(":")[1]);

    // A placeholder Node holds one of the two blocks, so one agent starts without a pod CIDR and gets it
    // only when the placeholder goes (the CIDR arrives after the agent started).
    await kubectl(["apply", "-f", "-"], "apiVersion: v1\nkind: Node\nmetadata: { name: holder }\n");
    await waitFor(
      async () => (await kubectl(["get", "node", "holder", "-o", "jsonpath={.spec.podCIDR}"])) || undefined,
      30_000,
      "the placeholder's pod CIDR",
    );

    sh("ip", ["link", "add", HOST_BRIDGE, "type", "bridge"]);
    sh("ip", ["addr", "add", `${hostIP()}/24`, "dev", HOST_BRIDGE]);
    sh("ip", ["link", "set", HOST_BRIDGE, "up"]);
    for (const port of [cpPort, regPort]) servers.push(await forwardToLoopback(hostIP(), port));
    for (const n of NODES) {
      sh("ip", ["netns", "add", n.ns]);
      const veth = `epv${ID}${n.index}`;
      sh("ip", ["link", "add", veth, "type", "veth", "peer", "name", "eth0", "netns", n.ns]);
      sh("ip", ["link", "set", veth, "master", HOST_BRIDGE, "up"]);
      sh("ip", ["-n", n.ns, "addr", "add", `${nodeIP(n.index)}/24`, "dev", "eth0"]);
      sh("ip", ["-n", n.ns, "link", "set", "eth0", "up"]);
      sh("ip", ["-n", n.ns, "link", "set", "lo", "up"]);
      sh("ip", ["netns", "exec", n.ns, "sysctl", "-qw", "net.ipv4.ip_forward=1"]);
      const fwd = inNetns(n.ns, [
        process.execPath,
        "-e",
        FORWARDER,
        hostIP(),
        String(cpPort),
        String(regPort),
      ]);
      children.push(fwd);
      await waitFor(() => fwd.output().includes("forwarding"), 10_000, `${n.ns} forwarder`);
      const agent = inNetns(
        n.ns,
        [
          process.execPath,
          BIN,
          "--server",
          `https://127.0.0.1:${cpPort}`,
          "--ca-file",
          pki.caCert,
          "--name",
          n.name,
          "--data-dir",
          join(dir, n.name),
          "--node-ip",
          nodeIP(n.index),
          "--runtimes",
          "cri",
          "--containerd",
          "managed",
        ],
        { EDGEPLANE_TOKEN: cp.token },
      );
      agents.set(n.name, agent);
    }
    for (const n of NODES)
      await waitFor(
        () => /tunnel connected/.test(agents.get(n.name)?.output() ?? ""),
        120_000,
        `${n.name} up`,
      );
  }, 240_000);

  afterAll(async () => {
    if (cp)
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
    for (const [name, agent] of agents) {
      agent.child.kill("SIGTERM");
      await new Promise((r) => (agent.child.exitCode !== null ? r(null) : agent.child.once("exit", r)));
      const containerdDir = join(dir, name, "cri", "containerd");
      if (existsSync(join(containerdDir, "config.toml"))) {
        const containerd = await startContainerd({ dataDir: containerdDir }).catch(() => undefined);
        if (containerd) {
          const rt = new CriRuntime({ endpoint: containerd.socket });
          await rt.removeOrphans(new Set()).catch(() => []);
          await rt.close();
          await containerd.stop();
        }
      }
    }
    for (const c of children) c.child.kill("SIGTERM");
    for (const s of servers) s.close();
    for (const r of hostRoutes) quiet("ip", ["route", "del", r]);
    for (const n of NODES) quiet("ip", ["netns", "del", n.ns]);
    quiet("ip", ["link", "del", HOST_BRIDGE]);
    await Promise.all([registry?.stop(), cp?.stop()]);
    subnet?.release();
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  const podIP = (name: string) =>
    waitFor(
      async () => {
        const out = await kubectl(["get", "pod", name, "-o", "jsonpath={.status.phase} {.status.podIP}"]);
        const [phase, ip] = out.split(" ");
        return phase === "Running" && ip ? ip : undefined;
      },
      120_000,
      `${name} running with an IP`,
    );

  const server = (name: string, node: string) => `apiVersion: v1
kind: Pod
metadata: { name: ${name} }
spec:
  nodeName: ${node}
  containers:
  - name: httpd
    image: ${busybox}
    command: ["sh", "-c", "echo hello from ${node} > /tmp/index.html && exec httpd -f -p 8080 -h /tmp"]
`;

  it("gives each node a distinct pod CIDR, routes pods across nodes, and lets the host reach both", async () => {
    onTestFailed(async () => {
      console.log((await cp.kubectl(["get", "pods,events", "-o", "wide"])).stdout);
      for (const [name, a] of agents) console.log(`--- ${name}\n${a.output().slice(-3000)}`);
      for (const n of NODES) console.log(n.ns, sh("ip", ["-n", n.ns, "route"]));
    });
    // The range is full for the second node: it waits with a CIDRNotAvailable event until a block is freed.
    const waiting = await waitFor(
      async () =>
        (
          await kubectl([
            "get",
            "events",
            "-A",
            "--field-selector",
            "reason=CIDRNotAvailable",
            "-o",
            "jsonpath={.items[0].involvedObject.name}",
          ])
        ).trim() || undefined,
      30_000,
      "a CIDRNotAvailable event",
    );
    expect(["node-1", "node-2"]).toContain(waiting);
    expect(await kubectl(["get", "node", waiting, "-o", "jsonpath={.spec.podCIDR}"])).toBe("");
    await kubectl(["delete", "node", "holder"]);
    const cidrs = await waitFor(
      async () => {
        const out = await kubectl([
          "get",
          "nodes",
          "node-1",
          "node-2",
          "-o",
          "jsonpath={range .items[*]}{.spec.podCIDR} {end}",
        ]);
        const list = out.trim().split(" ").filter(Boolean);
        return list.length === 2 ? list : undefined;
      },
      30_000,
      "both nodes' pod CIDRs",
    );
    const prefix = subnet.cidr.replace(/0\/24$/, "");
    expect(new Set(cidrs)).toEqual(new Set([`${prefix}0/25`, `${prefix}128/25`]));

    await kubectl(["apply", "-f", "-"], `${server("web-1", "node-1")}---\n${server("web-2", "node-2")}`);
    const [ip1, ip2] = await Promise.all([podIP("web-1"), podIP("web-2")]);
    const cidrOf = async (node: string) => kubectl(["get", "node", node, "-o", "jsonpath={.spec.podCIDR}"]);
    // The waiting agent learnt its CIDR from the Node watch, after it started.
    expect(agents.get(waiting)?.output()).toContain(`node ${waiting}: pod CIDR ${await cidrOf(waiting)}`);
    // Pods got addresses from their own node's CIDR (IPAM's, which the agent learnt after it started).
    const inCidr = (ip: string, cidr: string) => {
      const last = Number(ip.split(".")[3]);
      const base = Number(cidr.split("/")[0].split(".")[3]);
      return ip.startsWith(prefix) && last >= base && last < base + 128;
    };
    expect(inCidr(ip1, await cidrOf("node-1"))).toBe(true);
    expect(inCidr(ip2, await cidrOf("node-2"))).toBe(true);

    // Each agent routed the other's pod CIDR via the other's node address (host-gw).
    const routes1 = sh("ip", ["-n", NODES[0].ns, "route", "show", "proto", "77"]);
    expect(routes1).toContain(`${await cidrOf("node-2")} via ${nodeIP(2)}`);

    // Pod on node-1 → pod on node-2, by pod IP, across the two namespaces.
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  nodeName: node-1
  restartPolicy: Never
  containers:
  - name: wget
    image: ${busybox}
    command: ["sh", "-c", "printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 ${ip2} 8080"]
`,
    );
    const logs = await waitFor(
      async () => {
        const phase = await kubectl(["get", "pod", "client", "-o", "jsonpath={.status.phase}"]);
        return phase === "Succeeded" || phase === "Failed"
          ? `${phase}: ${await kubectl(["logs", "client"])}`
          : undefined;
      },
      120_000,
      "client pod to finish",
    );
    expect(logs).toMatch(/^Succeeded: HTTP\/1\.[01] 200 OK[\s\S]*hello from node-2\n$/);

    // The host reaches a pod on each node through routes to the nodes' pod CIDRs (as npm start sets them).
    for (const [i, node] of ["node-1", "node-2"].entries()) {
      const cidr = await cidrOf(node);
      sh("ip", ["route", "replace", cidr, "via", nodeIP(i + 1)]);
      hostRoutes.push(cidr);
    }
    for (const [ip, node] of [
      [ip1, "node-1"],
      [ip2, "node-2"],
    ]) {
      const body = await (await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(10_000) })).text();
      expect(body).toContain(`hello from ${node}`);
    }
  }, 300_000);
});
