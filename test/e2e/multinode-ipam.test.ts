/**
 * Node IPAM across two nodes in their own network namespaces, with the
 * harness driving the same node-network code `npm start` uses
 * (scripts/local/netns.ts, agents.ts): a placeholder Node holds one of the two
 * blocks of a private /24, so one agent starts without a pod CIDR, waits with
 * a CIDRNotAvailable event, and learns its CIDR from the Node watch after the
 * placeholder is deleted; then a busybox pod on node-1 fetches a busybox httpd
 * on node-2 by pod IP over the host-gw routes the agents install.
 */
import { writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { findAgentEntry, type LocalAgent, startAgent, stopAgent } from "../../scripts/local/agents.ts";
import { nodeCriSocket, removeContainerPods, whileFrozen } from "../../scripts/local/container-pods.ts";
import { createNodeNetwork, type NodeNetwork, planNodeNetwork } from "../../scripts/local/netns.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { stopProcessesMentioning } from "../../scripts/local/process-tree.ts";
import { type ControlPlane, ROOT, startControlPlane } from "./harness.ts";

describe("node IPAM for two nodes in their own network namespaces", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let busybox: string;
  let dir: string;
  let subnet: { cidr: string; release(): void };
  let network: NodeNetwork | undefined;
  const agents: LocalAgent[] = [];

  const kubectl = async (args: string[], input?: string) => {
    const r = await cp.kubectl(args, { input });
    if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")}: ${r.stderr}`);
    return r.stdout;
  };
  const log = (name: string) => readFile(join(dir, `${name}.log`), "utf8").catch(() => "");

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), "ep-multinode-ipam-"));
    subnet = claimSubnet();
    // claimSubnet's 10.245.<n>.0/24 also names this run's node network 172.31.<n>.0/24.
    const third = subnet.cidr.split(".")[2];
    const plan = planNodeNetwork(dir, `172.31.${third}.0/24`, ["node-1", "node-2"]);
    const pki = await ensurePki(join(dir, "pki"), [plan.hostIP]);
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

    network = await createNodeNetwork(plan, [cpPort, regPort], join(dir, "netns-forwarder"));
    const tokenFile = join(dir, "token");
    writeFileSync(tokenFile, cp.token, { mode: 0o600 });
    const entry = findAgentEntry(ROOT) as string;
    for (const n of plan.nodes)
      agents.push(
        await startAgent({
          root: ROOT,
          entry,
          name: n.name,
          server: `https://${plan.hostIP}:${cpPort}`,
          tokenFile,
          caFile: pki.caCert,
          dataDir: join(dir, "nodes", n.name),
          logFile: join(dir, `${n.name}.log`),
          runtimes: ["cri"],
          netns: n.ns,
          extraArgs: ["--node-ip", n.ip],
        }),
      );
    for (const a of agents)
      await waitFor(async () => /tunnel connected/.test(await log(a.name)), 120_000, `${a.name} up`);
  }, 240_000);

  afterAll(async () => {
    // The launcher's teardown, in its order: pods through CRI, agents, pods' processes, the node network.
    for (const a of agents)
      await whileFrozen(a.pid, () => removeContainerPods(nodeCriSocket(join(dir, "nodes", a.name)))).catch(
        () => 0,
      );
    await Promise.all(agents.map((a) => stopAgent(a)));
    if (dir) await stopProcessesMentioning(`${join(dir, "nodes")}/`);
    await network?.stop();
    await Promise.all([registry?.stop(), cp?.stop()]);
    subnet?.release();
    if (dir) await rm(dir, { recursive: true, force: true });
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

  it("gives the waiting node its CIDR once one is free, and routes pods across nodes", async () => {
    onTestFailed(async () => {
      console.log((await cp.kubectl(["get", "pods,events", "-o", "wide"])).stdout);
      for (const a of agents) console.log(`--- ${a.name}\n${(await log(a.name)).slice(-3000)}`);
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
    const cidrOf = async (node: string) => kubectl(["get", "node", node, "-o", "jsonpath={.spec.podCIDR}"]);
    const cidrs = await waitFor(
      async () => {
        const list = [await cidrOf("node-1"), await cidrOf("node-2")];
        return list.every(Boolean) ? list : undefined;
      },
      30_000,
      "both nodes' pod CIDRs",
    );
    const prefix = subnet.cidr.replace(/0\/24$/, "");
    expect(new Set(cidrs)).toEqual(new Set([`${prefix}0/25`, `${prefix}128/25`]));
    // The waiting agent learnt its CIDR from the Node watch, after it started.
    await waitFor(
      async () => (await log(waiting)).includes(`node ${waiting}: pod CIDR ${await cidrOf(waiting)}`),
      30_000,
      `${waiting} to log its pod CIDR`,
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
    await kubectl(["apply", "-f", "-"], `${server("web-1", "node-1")}---\n${server("web-2", "node-2")}`);
    const ip2 = await podIP("web-2");
    const half = (ip: string) => Math.floor(Number(ip.split(".")[3]) / 128);
    expect(half(await podIP("web-1"))).toBe(half((await cidrOf("node-1")).split("/")[0]));
    expect(half(ip2)).toBe(half((await cidrOf("node-2")).split("/")[0]));

    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata: { name: client }
spec:
  nodeName: node-1
  restartPolicy: Never
  containers:
  - name: nc
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
  }, 300_000);
});
