/**
 * `npm start -- --nodes 2` as a user runs it, on the real kernel: each node in
 * its own network namespace (scripts/local/netns.ts), with its own address,
 * pod bridge, nftables service proxy and host-gw routes. Node IPAM gives the
 * nodes distinct halves of the pod network; a busybox pod on node-1 reaches a
 * pod on node-2 by pod IP and through a ClusterIP whose only endpoint is on
 * node-2; the host reaches a NodePort on each node's address; a busybox pod
 * reaches the wasi:http example component (a WASM pod on node-2) by its
 * Service's name through cluster DNS. Ctrl-C leaves no namespace, link, route
 * or process behind.
 */
import { execFile, execFileSync, spawn } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it, onTestFailed } from "vitest";
import { claimSubnet } from "../../node-agent/src/runtime/cri/testing.ts";
import { type Launched, launchNpmStart, repoPath } from "../../scripts/local/launch.ts";
import { nodeNetworkId } from "../../scripts/local/netns.ts";
import { type ProcessInfo, processesMentioning, survivors } from "../../scripts/local/process-tree.ts";

let stateDir: string;
let running: Launched | undefined;
let subnet: { cidr: string; release(): void };
let third: number;
let registry = "";
const nodeIP = (i: number) => `172.31.${third}.${10 + i}`;

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = ["--kubeconfig", join(stateDir, "kubeconfig"), "--cache-dir", join(stateDir, "kube-cache")];
  return new Promise((res) => {
    const child = execFile("kubectl", [...full, ...args], { timeout: 120_000 }, (error, stdout, stderr) =>
      res({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Poll `check` until it returns a value (bounded): a condition, never a fixed sleep. */
async function until<T>(
  what: string,
  check: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 120_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const v = await check();
    if (v !== undefined && v !== false) return v;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

const ipOut = (args: string[]) => execFileSync("ip", args, { encoding: "utf8" });

/** What the cluster made on the host: its namespaces, links and routes (by the state dir's id). */
function leftovers(id: string, podNetwork: string): string[] {
  const prefix = podNetwork.replace(/0\/24$/, "");
  return [
    ...ipOut(["netns", "list"])
      .split("\n")
      .filter((l) => l.includes(`ep-${id}-`)),
    ...ipOut(["-o", "link"])
      .split("\n")
      .filter((l) => l.includes(`epn${id}`) || l.includes(`epv${id}`)),
    ...execFileSync("nft", ["list", "tables"], { encoding: "utf8" })
      .split("\n")
      .filter((l) => l.includes(`edgeplane-nodes-${id}`)),
    ...ipOut(["-4", "route"])
      .split("\n")
      .filter((l) => l.startsWith(prefix) || l.includes(`172.31.${third}.`)),
  ];
}

const pod = (name: string, node: string, command: string, extra = "") => `apiVersion: v1
kind: Pod
metadata: { name: ${name}, labels: { app: ${name} } }
spec:
  nodeName: ${node}
${extra}  containers:
  - name: main
    image: busybox
    command: ["sh", "-c", ${JSON.stringify(command)}]
`;

const httpd = (name: string, node: string) =>
  pod(name, node, `echo hello from ${node} > /tmp/index.html && exec httpd -f -p 8080 -h /tmp`);

/** Run `command` in a busybox pod on `node` to completion; its phase and log. */
async function runPod(name: string, node: string, command: string): Promise<string> {
  await kubectlOk(["apply", "-f", "-"], pod(name, node, command, "  restartPolicy: Never\n"));
  return until(`${name} to finish`, async () => {
    const phase = (await kubectl(["get", "pod", name, "-o", "jsonpath={.status.phase}"])).stdout;
    return phase === "Succeeded" || phase === "Failed"
      ? `${phase}: ${(await kubectl(["logs", name])).stdout}`
      : undefined;
  });
}

const podIP = (name: string) =>
  until(`${name} running with an IP`, async () => {
    const out = (await kubectl(["get", "pod", name, "-o", "jsonpath={.status.phase} {.status.podIP}"]))
      .stdout;
    const [phase, ip] = out.split(" ");
    return phase === "Running" && ip ? ip : undefined;
  });

describe("npm start --nodes 2: nodes in their own network namespaces", () => {
  beforeAll(async () => {
    stateDir = await mkdtemp(join(tmpdir(), "edgeplane-multinode-"));
    // claimSubnet's 10.245.<n>.0/24 also names this run's node network 172.31.<n>.0/24.
    subnet = claimSubnet();
    third = Number(subnet.cidr.split(".")[2]);
  });

  afterAll(async () => {
    if (running)
      await running.interrupt("SIGINT", 120_000).catch(() => running?.interrupt("SIGKILL", 10_000));
    subnet?.release();
    await rm(stateDir, { recursive: true, force: true });
  }, 180_000);

  it("routes pods, ClusterIPs, NodePorts and a WASM Service across nodes, and leaves nothing after Ctrl-C", async () => {
    const launched = start();
    onTestFailed(async () => {
      console.log((await kubectl(["get", "pods,svc,events", "-A", "-o", "wide"])).stdout);
      for (const n of ["node-1", "node-2"]) {
        const log = await import("node:fs/promises").then((fs) =>
          fs.readFile(join(stateDir, "logs", `${n}.log`), "utf8").catch(() => ""),
        );
        console.log(`--- ${n}\n${log.slice(-4000)}`);
      }
    });
    const ready = await launched.waitFor(
      /edgeplane: ready at https:\/\/\S+ .*registry (127\.0\.0\.1:\d+)/,
      300_000,
    );
    registry = ready[1];
    const id = nodeNetworkId(stateDir);
    expect(launched.output()).toContain(
      `node network 172.31.${third}.0/24 on bridge epn${id}, host 172.31.${third}.1: node-1 ${nodeIP(1)} (netns ep-${id}-node-1)`,
    );
    await until("both nodes Ready", async () => {
      const out = (await kubectl(["get", "nodes", "node-1", "node-2", "--no-headers"])).stdout;
      return out.split("\n").filter((l) => / Ready /.test(l)).length === 2 || undefined;
    });

    // Each node's InternalIP is its own address on the node network.
    const internal = await kubectlOk([
      "get",
      "nodes",
      "-o",
      'jsonpath={range .items[*]}{.metadata.name}={.status.addresses[?(@.type=="InternalIP")].address} {end}',
    ]);
    expect(internal.trim().split(" ").sort()).toEqual([`node-1=${nodeIP(1)}`, `node-2=${nodeIP(2)}`]);

    // Distinct pod CIDRs: the two halves of the pod network, each routed from the host via its node.
    const prefix = subnet.cidr.replace(/0\/24$/, "");
    const cidrOf = (node: string) => kubectlOk(["get", "node", node, "-o", "jsonpath={.spec.podCIDR}"]);
    const [cidr1, cidr2] = [await cidrOf("node-1"), await cidrOf("node-2")];
    expect(new Set([cidr1, cidr2])).toEqual(new Set([`${prefix}0/25`, `${prefix}128/25`]));
    await launched.waitFor(new RegExp(`host routes node-2's pods \\(${cidr2.replace(/[./]/g, "\\$&")}\\)`));

    // The cluster DNS Service (nothing creates it in the Worker yet; apply is a no-op if something does).
    await kubectlOk(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
`,
    );

    // A busybox httpd on each node (busybox from the built-in registry, pulled through each node's forwarder).
    await kubectlOk(["apply", "-f", "-"], `${httpd("web-1", "node-1")}---\n${httpd("web-2", "node-2")}`);
    const [ip1, ip2] = await Promise.all([podIP("web-1"), podIP("web-2")]);
    expect(ip1.startsWith(cidr1.replace(/\d+\/25$/, ""))).toBe(true);
    const inHalf = (ip: string, cidr: string) =>
      Math.floor(Number(ip.split(".")[3]) / 128) === Math.floor(Number(cidr.split(/[./]/)[3]) / 128);
    expect(inHalf(ip1, cidr1) && inHalf(ip2, cidr2)).toBe(true);

    // Pod on node-1 → pod on node-2 by pod IP (host-gw routes between the namespaces).
    const byIP = await runPod(
      "by-ip",
      "node-1",
      `printf 'GET / HTTP/1.0\\r\\n\\r\\n' | nc -w 10 ${ip2} 8080`,
    );
    expect(byIP).toMatch(/^Succeeded: HTTP\/1\.[01] 200 OK[\s\S]*hello from node-2\n$/);

    // A ClusterIP (and NodePort) Service whose only endpoint is on node-2.
    await kubectlOk(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Service
metadata: { name: web-2 }
spec:
  type: NodePort
  selector: { app: web-2 }
  ports: [{ port: 80, targetPort: 8080 }]
`,
    );
    const [clusterIP, nodePort] = (
      await kubectlOk(["get", "svc", "web-2", "-o", "jsonpath={.spec.clusterIP} {.spec.ports[0].nodePort}"])
    ).split(" ");
    await until("web-2's endpoint", async () =>
      (await kubectlOk(["get", "endpoints", "web-2", "-o", "jsonpath={.subsets[*].addresses[*].ip}"])) === ip2
        ? true
        : undefined,
    );
    const viaService = await runPod(
      "by-service",
      "node-1",
      // The static busybox's wget crashes with -T: busybox timeout bounds each try.
      `for i in $(seq 10); do timeout 3 wget -qO- http://${clusterIP}/ && exit 0; sleep 1; done; exit 1`,
    );
    expect(viaService).toBe("Succeeded: hello from node-2\n");
    // The node's own processes too (its namespace has a default route, so the nat output hook gets the packet).
    const fromNode = execFileSync(
      "nsenter",
      [
        `--net=/run/netns/ep-${id}-node-1`,
        "--",
        process.execPath,
        "-e",
        `fetch("http://${clusterIP}/", { signal: AbortSignal.timeout(10000) }).then(async (r) => process.stdout.write(await r.text()))`,
      ],
      { encoding: "utf8", timeout: 20_000 },
    );
    expect(fromNode).toBe("hello from node-2\n");

    // The host reaches the NodePort on each node's address (node-1 forwards to the endpoint on node-2).
    for (const i of [1, 2]) {
      const body = await until(`NodePort on ${nodeIP(i)}`, () =>
        fetch(`http://${nodeIP(i)}:${nodePort}/`, {
          signal: AbortSignal.timeout(5000),
          headers: { Connection: "close" },
        }).then(
          (r) => r.text(),
          () => undefined,
        ),
      );
      expect(body).toBe("hello from node-2\n");
    }
    // And a pod on each node by pod IP, through the host's routes to the pod CIDRs.
    for (const [ip, node] of [
      [ip1, "node-1"],
      [ip2, "node-2"],
    ])
      expect(await (await fetch(`http://${ip}:8080/`, { signal: AbortSignal.timeout(10_000) })).text()).toBe(
        `hello from ${node}\n`,
      );

    // The wasi:http example component as a WASM pod on node-2, behind its Service, reached by name from node-1.
    await kubectlOk(["apply", "-f", repoPath("examples/00-runtimeclass-wasm.yaml")]);
    const example = (
      await import("node:fs/promises").then((fs) =>
        fs.readFile(repoPath("examples/40-http-hello.yaml"), "utf8"),
      )
    )
      .replace("127.0.0.1:6500", registry)
      .replace("      runtimeClassName: wasm", "      runtimeClassName: wasm\n      nodeName: node-2");
    await kubectlOk(["apply", "-f", "-"], example);
    await kubectlOk(["rollout", "status", "deployment/http-hello", "--timeout=120s"]);
    const wasmIP = await kubectlOk([
      "get",
      "pods",
      "-l",
      "app=http-hello",
      "-o",
      "jsonpath={.items[0].status.podIP}",
    ]);
    expect(inHalf(wasmIP, cidr2)).toBe(true);
    await until("http-hello's endpoint", async () =>
      (await kubectlOk([
        "get",
        "endpoints",
        "http-hello",
        "-o",
        "jsonpath={.subsets[*].addresses[*].ip}",
      ])) === wasmIP
        ? true
        : undefined,
    );
    const byName = await runPod(
      "by-name",
      "node-1",
      // The static busybox's wget cannot resolve names (glibc NSS in a static binary): nslookup, busybox's own
      // resolver, asks cluster DNS (search path, as for any pod), and wget goes to the address it answered.
      "ip=$(nslookup http-hello | awk '/^Name:/ { getline; print $2; exit }'); echo \"$ip\"; " +
        'for i in $(seq 10); do timeout 3 wget -qO- "http://$ip/hi" && exit 0; sleep 1; done; exit 1',
    );
    const httpHelloIP = await kubectlOk(["get", "svc", "http-hello", "-o", "jsonpath={.spec.clusterIP}"]);
    expect(byName).toMatch(/^Succeeded: (\S+)\nhello from a wasi:http component, path \/hi\n?$/);
    // The name resolved to the Service's ClusterIP: the request went through the node's service proxy.
    expect(byName.split("\n")[0]).toBe(`Succeeded: ${httpHelloIP}`);

    // A way out past the host: a peer that only knows the host (its own namespace on a veth, no route to the
    // node or pod networks) answers a pod, which reaches it with the host's address (the node network's NAT).
    const outside = await startOutside();
    try {
      const out = await runPod(
        "egress",
        "node-1",
        `for i in $(seq 10); do timeout 3 wget -qO- http://${outside.ip}:8080/ && exit 0; sleep 1; done; exit 1`,
      );
      expect(out).toBe(`Succeeded: you are ${outside.hostIP}\n`);
    } finally {
      outside.stop();
    }

    await stopAndCheck(launched, "group SIGINT");
  }, 900_000);

  it("starts again on the same state (pods back, NodePort answers), and SIGTERM to npm alone leaves nothing", async () => {
    const launched = start();
    await launched.waitFor(/edgeplane: ready at/, 300_000);
    // The server certificate already names the host's address: not issued again, and the agents trust it.
    expect(launched.output()).not.toMatch(/made a local CA/);
    await until("both nodes Ready", async () => {
      const out = (await kubectl(["get", "nodes", "node-1", "node-2", "--no-headers"])).stdout;
      return out.split("\n").filter((l) => / Ready /.test(l)).length === 2 || undefined;
    });
    const nodePort = await kubectlOk(["get", "svc", "web-2", "-o", "jsonpath={.spec.ports[0].nodePort}"]);
    const body = await until("web-2 through node-1's NodePort again", () =>
      fetch(`http://${nodeIP(1)}:${nodePort}/`, {
        signal: AbortSignal.timeout(5000),
        headers: { Connection: "close" },
      }).then(
        (r) => (r.ok ? r.text() : undefined),
        () => undefined,
      ),
    );
    expect(body).toBe("hello from node-2\n");
    await stopAndCheck(launched, "npm SIGTERM");
  }, 600_000);
});

/**
 * A host "outside" the cluster: a namespace on a veth from the host (198.18.<n>.0/30: the host .1, it .2)
 * with no other route, serving HTTP on :8080 that answers with the client's address.
 */
async function startOutside() {
  const ns = `ep-out-${third}`;
  const [hostIP, ip] = [`198.18.${third}.1`, `198.18.${third}.2`];
  const link = `epo${third}`;
  const cleanup = () => {
    for (const args of [
      ["link", "del", link],
      ["netns", "del", ns],
    ])
      try {
        execFileSync("ip", args, { stdio: "ignore" });
      } catch {
        // not made
      }
  };
  cleanup();
  ipOut(["netns", "add", ns]);
  ipOut(["link", "add", link, "type", "veth", "peer", "name", "eth0", "netns", ns]);
  ipOut(["addr", "add", `${hostIP}/30`, "dev", link]);
  ipOut(["link", "set", link, "up"]);
  ipOut(["-n", ns, "addr", "add", `${ip}/30`, "dev", "eth0"]);
  ipOut(["-n", ns, "link", "set", "eth0", "up"]);
  const server = spawn(
    "nsenter",
    [
      `--net=/run/netns/${ns}`,
      "--",
      process.execPath,
      "-e",
      `require("node:http").createServer((q, r) => r.end("you are " + q.socket.remoteAddress + "\\n"))
        .listen(8080, "${ip}", () => console.log("listening"));`,
    ],
    { stdio: ["ignore", "pipe", "inherit"] },
  );
  await new Promise<void>((res, rej) => {
    server.stdout.once("data", () => res());
    server.once("exit", (code) => rej(new Error(`outside server exited ${code}`)));
  });
  return {
    ip,
    hostIP,
    stop: () => {
      server.kill("SIGKILL");
      cleanup();
    },
  };
}

/** Start `npm start -- --nodes 2` on this run's private pod and node networks. */
function start(): Launched {
  const launched = launchNpmStart(
    ["--nodes", "2", "--state-dir", stateDir, "--port", "0", "--registry-port", "0", "--skip-setup"],
    { EDGEPLANE_POD_NETWORK: subnet.cidr, EDGEPLANE_NODE_NETWORK: `172.31.${third}.0/24` },
  );
  running = launched;
  onTestFailed(() => console.log(launched.output()));
  return launched;
}

/** Stop as `how` says; then no process, namespace, link or route of the cluster is left. */
async function stopAndCheck(launched: Launched, how: "group SIGINT" | "npm SIGTERM"): Promise<void> {
  const id = nodeNetworkId(stateDir);
  const before: ProcessInfo[] = launched.tree();
  expect(leftovers(id, subnet.cidr).length).toBeGreaterThan(0);
  if (how === "group SIGINT") await launched.interrupt("SIGINT", 120_000);
  else await launched.signalNpm("SIGTERM", 120_000);
  running = undefined;
  // npm may exit before the launcher it signalled has finished stopping everything: wait for that.
  await until("the launcher to finish stopping", () => survivors(before).length === 0 || undefined, 60_000);
  expect(launched.output()).toMatch(/removed the node network/);
  expect(launched.output()).toMatch(/edgeplane: stopped/);
  expect(launched.output()).not.toMatch(/forced stop/);
  expect(processesMentioning(stateDir).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
  // A namespace's veth goes when the kernel frees the namespace, just after its name is deleted.
  await until(
    "no namespace, link or route left",
    () => leftovers(id, subnet.cidr).length === 0 || undefined,
    30_000,
  ).catch(() => expect(leftovers(id, subnet.cidr)).toEqual([]));
}
