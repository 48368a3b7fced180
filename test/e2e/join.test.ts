/**
 * End-to-end: joining a host in one command (docs/deploy.md, Joining a node).
 * The real control plane (workerd via Miniflare, HTTPS with a private CA,
 * serving join.sh, the agent bundle and its CA), the real `edgeplane` CLI,
 * and a second "host" on this machine: its own network namespace (a veth
 * on a host bridge; small TCP forwarders carry its 127.0.0.1:<port> to the
 * control plane and the test registry on the machine's loopback, as in
 * multinode.test.ts), its own prefix and data dir, the agent run by join.sh
 * in the foreground (no systemd here). The printed join command runs as
 * printed, with the test's host flags appended. The refusals run on the
 * machine itself, where a recording front can watch what the server sees.
 */
import { type ChildProcess, execFile, execFileSync, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { writeFile } from "node:fs/promises";
import { createServer, type Server } from "node:https";
import { createConnection, createServer as createTcpServer, type Server as TcpServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch as undiciFetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImages,
  claimSubnet,
  startLocalRegistry,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { privateNetwork, sample, until } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { buildAgentBundle } from "../../scripts/edgeplane/agent-bundle.ts";
import { writeKubeconfig } from "../../scripts/lib/kubeconfig.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { ensureComponents } from "../../wasm/build-components.mjs";
import { EDGEPLANE_VERSION } from "../../workers/client/version.ts";
import { type ControlPlane, ROOT, startControlPlane } from "./harness.ts";

const NODE = "joined-1";
let cp: ControlPlane;
let pki: LocalPki;
let registry: TestRegistry;
let dir: string;
let kubeconfig: string;
let bundleBytes = 0;
const network = privateNetwork();

/** The `edgeplane` CLI as a user runs it. */
function edgeplane(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [join(ROOT, "scripts/edgeplane.mjs"), ...args, "--kubeconfig", kubeconfig],
      { encoding: "utf8" },
      (error, stdout, stderr) =>
        resolve({ code: error ? Number(error.code ?? 1) : 0, stdout: stdout.trim(), stderr }),
    );
  });
}

/** A host's flags: its own prefix and data dir, foreground (no systemd), and the test's pod network. */
function hostFlags(host: string, nodeIP = "127.0.0.1", runtimes = "wasm"): string {
  return [
    `--prefix ${join(host, "opt")}`,
    `--data-dir ${join(host, "var")}`,
    `--unit-dir ${join(host, "systemd")}`,
    `--runtimes ${runtimes}`,
    "--foreground",
    `-- --node-ip ${nodeIP} --cni-bridge ${network.bridge} --pod-cidr ${network.podCidr}`,
  ].join(" ");
}

const ID = randomBytes(2).toString("hex");
const HOST_BRIDGE = `epj${ID}`;
const HOST_NS = `ep-join-${ID}`;

/** In-namespace forwarder: 127.0.0.1:<port> → <host>:<port> for each port (argv: host port...). */
const FORWARDER = `const net = require("node:net");
const [host, ...ports] = process.argv.slice(1);
for (const p of ports) net.createServer((c) => { const u = net.connect(Number(p), host); c.pipe(u).pipe(c);
  u.on("error", () => c.destroy()); c.on("error", () => u.destroy()); }).listen(Number(p), "127.0.0.1");
console.log("forwarding");`;

/** The joining host's network: a namespace on a host bridge, reaching the machine's loopback ports. */
interface HostNetwork {
  ns: string;
  ip: string;
  close(): Promise<void>;
}

/** Forward <listenHost>:<port> to 127.0.0.1:<port> on the machine. */
function forwardToLoopback(listenHost: string, port: number): Promise<TcpServer> {
  const server = createTcpServer((c) => {
    const u = createConnection(port, "127.0.0.1");
    c.pipe(u).pipe(c);
    u.on("error", () => c.destroy());
    c.on("error", () => u.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, listenHost, () => resolve(server));
  });
}

/** Make the namespace, its veth on a fresh bridge, and the forwarders for `ports`. */
async function hostNetwork(ports: number[]): Promise<HostNetwork> {
  const subnet = claimSubnet();
  const third = Number(subnet.cidr.split(".")[2]);
  const gateway = `172.30.${third}.1`;
  const ip = `172.30.${third}.10`;
  const run = (args: string[]) => execFileSync("ip", args, { stdio: "ignore" });
  const servers: TcpServer[] = [];
  let forwarder: ChildProcess | undefined;
  const close = async () => {
    forwarder?.kill("SIGKILL");
    for (const server of servers) server.close();
    for (const args of [
      ["netns", "del", HOST_NS],
      ["link", "del", HOST_BRIDGE],
    ])
      try {
        run(args);
      } catch {
        // already gone
      }
    subnet.release();
  };
  try {
    run(["link", "add", HOST_BRIDGE, "type", "bridge"]);
    run(["addr", "add", `${gateway}/24`, "dev", HOST_BRIDGE]);
    run(["link", "set", HOST_BRIDGE, "up"]);
    for (const port of ports) servers.push(await forwardToLoopback(gateway, port));
    run(["netns", "add", HOST_NS]);
    run(["link", "add", `epjv${ID}`, "type", "veth", "peer", "name", "eth0", "netns", HOST_NS]);
    run(["link", "set", `epjv${ID}`, "master", HOST_BRIDGE, "up"]);
    run(["-n", HOST_NS, "addr", "add", `${ip}/24`, "dev", "eth0"]);
    run(["-n", HOST_NS, "link", "set", "eth0", "up"]);
    run(["-n", HOST_NS, "link", "set", "lo", "up"]);
    const fwd = spawn(
      "nsenter",
      [`--net=/run/netns/${HOST_NS}`, "--", process.execPath, "-e", FORWARDER, gateway, ...ports.map(String)],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    forwarder = fwd;
    let out = "";
    fwd.stdout?.on("data", (c) => {
      out += c;
    });
    await until(async () => out.includes("forwarding"), 10_000, "the host's forwarder");
  } catch (error) {
    await close();
    throw error;
  }
  return { ns: HOST_NS, ip, close };
}

/** Run a shell command line to its end. */
function sh(command: string): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    const child = spawn("sh", ["-c", command], { stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    child.stdout.on("data", (c) => {
      output += c;
    });
    child.stderr.on("data", (c) => {
      output += c;
    });
    child.on("exit", (code) => resolve({ code: code ?? -1, output }));
  });
}

const exited = (child: ChildProcess) => child.exitCode !== null || child.signalCode !== null;

/** Run a pasted join command from its script file (in network namespace `ns`), in its own process group; collects its output. */
function runPasted(file: string, ns?: string) {
  const argv = ns ? ["nsenter", `--net=/run/netns/${ns}`, "--", "sh", file] : ["sh", file];
  const child = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"], detached: true });
  let out = "";
  child.stdout?.on("data", (c) => {
    out += c;
  });
  child.stderr?.on("data", (c) => {
    out += c;
  });
  return {
    child,
    output: () => out,
    waitFor: (pattern: RegExp, timeoutMs: number) =>
      until(
        async () => pattern.test(out) || (exited(child) && Promise.reject(new Error(out))),
        timeoutMs,
        `${pattern}`,
      ),
  };
}

/** Processes whose command line mentions `text` (the agent runs from the host's prefix). */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, "utf8").includes(text)) pids.push(Number(entry));
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

async function nodeJson(name: string) {
  const response = await cp.fetch(`/api/v1/nodes/${name}`);
  if (response.status === 404) return undefined;
  return (await response.json()) as {
    status?: {
      conditions?: { type: string; status: string }[];
      nodeInfo?: { kubeletVersion?: string };
      addresses?: { type: string; address: string }[];
    };
  };
}

const isReady = (node: Awaited<ReturnType<typeof nodeJson>>) =>
  node?.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True") ?? false;

/**
 * An HTTPS front for the control plane with the same certificate, recording
 * every request's path and Authorization header: what "the server" saw.
 */
async function recordingFront(): Promise<{
  url: string;
  seen: { path: string; auth: string }[];
  server: Server;
}> {
  const seen: { path: string; auth: string }[] = [];
  const dispatcher = new Agent({ connect: { ca: readFileSync(pki.caCert, "utf8") } });
  const server = createServer(
    { cert: readFileSync(pki.serverCert), key: readFileSync(pki.serverKey) },
    async (req, res) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization ?? "" });
      const upstream = await undiciFetch(cp.url + req.url, {
        method: req.method,
        headers: req.headers.authorization ? { authorization: req.headers.authorization } : {},
        dispatcher,
      });
      res.writeHead(upstream.status, { "content-type": upstream.headers.get("content-type") ?? "" });
      res.end(Buffer.from(await upstream.arrayBuffer()));
    },
  );
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  return { url: `https://127.0.0.1:${port}`, seen, server };
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "join-e2e-"));
  pki = await ensurePki(join(dir, "pki"));
  // As `wrangler deploy` does ([build]): the bundle is a static asset of this very control plane.
  bundleBytes = (await buildAgentBundle(ROOT)).bytes;
  [cp, registry] = await Promise.all([
    startControlPlane({
      tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
      env: { CLUSTER_CA: readFileSync(pki.caCert, "utf8") },
    }),
    startTestRegistry(),
  ]);
  kubeconfig = join(dir, "kubeconfig");
  await writeKubeconfig(kubeconfig, "join", {
    server: cp.url,
    token: cp.token,
    ca: readFileSync(pki.caCert, "utf8"),
  });
  const rc = await cp.kubectl(["apply", "-f", "-"], {
    input: `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
`,
  });
  expect(rc.stderr).toBe("");
}, 180_000);

afterAll(async () => {
  await cp?.stop();
  await registry?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe("join a host in one command", () => {
  it("refuses a wrong CA hash before any token reaches the server", async () => {
    const created = await edgeplane(["token", "create", "--node", "wrong-ca", "--print-join-command"]);
    expect(created.code, created.stderr).toBe(0);
    const token = /--token ([a-z0-9]{6}\.[a-z0-9]{16})/.exec(created.stdout)?.[1] ?? "";
    expect(token).not.toBe("");
    const front = await recordingFront();
    try {
      const host = join(dir, "host-wrong-ca");
      const command = created.stdout
        .replaceAll(cp.url, front.url)
        .replace(/--ca-hash sha256:[0-9a-f]{64}/, `--ca-hash sha256:${"0".repeat(64)}`);
      const run = await sh(`${command} ${hostFlags(host)}`);
      expect(run.code).not.toBe(0);
      expect(run.output).toContain("CA hash mismatch");
      expect(run.output).toContain("refusing to send the token");
      // The server was asked for join.sh and its CA, never shown the token, and nothing was installed.
      expect(front.seen.map((s) => s.path)).toEqual(["/join.sh", "/edgeplane/v1/join/ca.crt"]);
      expect(front.seen.every((s) => !s.auth.includes(token.split(".")[1]))).toBe(true);
      expect(existsSync(join(host, "opt", "etc", "token"))).toBe(false);
    } finally {
      front.server.close();
    }
  });

  it("refuses an expired token with a clear message", async () => {
    const created = await edgeplane([
      "token",
      "create",
      "--node",
      "late",
      "--ttl",
      "1s",
      "--print-join-command",
    ]);
    expect(created.code, created.stderr).toBe(0);
    const id = /--token ([a-z0-9]{6})\./.exec(created.stdout)?.[1];
    await until(
      async () =>
        (await edgeplane(["token", "list"])).stdout
          .split("\n")
          .find((l) => l.startsWith(`${id} `) && l.includes("<expired>")),
      10_000,
      "token expired",
    );
    const run = await sh(`${created.stdout} ${hostFlags(join(dir, "host-late"))}`);
    expect(run.code).not.toBe(0);
    expect(run.output).toContain("the token was refused (401 Unauthorized): it is wrong, expired or revoked");
  });

  it("trusts a server whose certificate verifies with the system roots without --ca-hash, and only then", async () => {
    const created = await edgeplane(["token", "create", "--node", "public-1"]);
    expect(created.code, created.stderr).toBe(0);
    const id = created.stdout.split(".")[0];
    // A revoked token: the run stops at the token check, after the trust decision.
    expect((await edgeplane(["token", "delete", id])).stdout).toBe(`bootstrap token "${id}" deleted`);
    const script = join(ROOT, "workers/join/assets/join.sh");
    const command = `sh ${script} --server ${cp.url} --name public-1 --token ${created.stdout} ${hostFlags(join(dir, "host-public"))}`;
    // NODE_EXTRA_CA_CERTS puts the CA among Node's roots: as a public certificate is, for a host.
    const trusted = await sh(`NODE_EXTRA_CA_CERTS=${pki.caCert} ${command}`);
    expect(trusted.output).toContain("the server's certificate verifies with this host's system roots");
    expect(trusted.output).toContain("the token was refused (401 Unauthorized)");
    const untrusted = await sh(command);
    expect(untrusted.code).not.toBe(0);
    expect(untrusted.output).toContain("is not signed by a CA this host trusts: give --ca-hash");
  });

  it("--uninstall takes the agent and its running pods off a host; node remove then needs --force", async () => {
    const host = join(dir, "host-gone");
    // Containers too: the agent's private containerd pulls busybox.
    const images = await startLocalRegistry(join(dir, "cri-registry"));
    const busybox = await images.push(join(await buildTestImages(), "oci"), "busybox", "edgeplane/busybox:1");
    const ports = [
      Number(new URL(cp.url).port),
      Number(registry.host.split(":")[1]),
      Number(images.host.split(":")[1]),
    ];
    const net = await hostNetwork(ports);
    const created = await edgeplane(["token", "create", "--node", "gone-1", "--print-join-command"]);
    expect(created.code, created.stderr).toBe(0);
    const pasted = join(dir, "pasted-gone.sh");
    await writeFile(pasted, `${created.stdout} ${hostFlags(host, net.ip, "wasm,cri")}\n`);
    const run = runPasted(pasted, net.ns);
    const marker = `${7000 + Math.floor(Math.random() * 999)}`;
    try {
      await until(async () => isReady(await nodeJson("gone-1")), 120_000, "gone-1 Ready").catch((error) => {
        throw new Error(`${error.message}\n${run.output()}`);
      });
      const image = registry.push("samples/ticker", "v1", [
        { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
      ]).image;
      const applied = await cp.kubectl(["apply", "-f", "-"], {
        input: `apiVersion: v1
kind: Pod
metadata:
  name: stranded
spec:
  nodeName: gone-1
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 30
  containers:
  - name: main
    image: ${image}
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: runc
handler: runc
---
apiVersion: v1
kind: Pod
metadata:
  name: stranded-box
spec:
  nodeName: gone-1
  runtimeClassName: runc
  terminationGracePeriodSeconds: 30
  containers:
  - name: main
    image: ${busybox}
    command: ["sh", "-c", "echo started; exec sleep ${marker}"]
`,
      });
      expect(applied.code, applied.stderr).toBe(0);
      const pods = ["stranded", "stranded-box"];
      await until(
        async () => {
          for (const name of pods) {
            const pod = (await (await cp.fetch(`/api/v1/namespaces/default/pods/${name}`)).json()) as {
              status?: { phase?: string };
            };
            if (pod.status?.phase !== "Running") return false;
          }
          return true;
        },
        120_000,
        "the pods Running",
      );
      await until(
        async () => (await cp.kubectl(["logs", "stranded-box"])).stdout.includes("started"),
        60_000,
        "the container's output",
      );
      expect(processesMentioning(`sleep\0${marker}`).length).toBe(1);
      // The pod's processes: each WASM container's shim, recorded in its state.json.
      const containers = join(host, "var", "wasm", "containers");
      const shims = readdirSync(containers).map(
        (id) =>
          (JSON.parse(readFileSync(join(containers, id, "state.json"), "utf8")) as { shimPid: number })
            .shimPid,
      );
      expect(shims.length).toBeGreaterThan(0);
      // Alive: present and not a zombie (an exited shim whose new parent has not reaped it yet).
      const alive = (pid: number) => {
        try {
          return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, "utf8"));
        } catch {
          return false;
        }
      };
      expect(shims.every(alive)).toBe(true);

      // The host is decommissioned first: the agent stops, and its pods go with it.
      const uninstall = await sh(
        `nsenter --net=/run/netns/${net.ns} -- sh ${join(ROOT, "workers/join/assets/join.sh")} --uninstall --prefix ${join(host, "opt")} --data-dir ${join(host, "var")} --unit-dir ${join(host, "systemd")}`,
      );
      expect(uninstall.code, uninstall.output).toBe(0);
      expect(uninstall.output).toContain(`removed ${pods.length} pod(s) of node gone-1`);
      await until(async () => exited(run.child), 30_000, "the agent exited");
      expect(processesMentioning(host)).toEqual([]);
      await until(async () => shims.filter(alive).length === 0, 15_000, "the pod's shims gone");
      expect(processesMentioning(`sleep\0${marker}`)).toEqual([]);
      expect(existsSync(host)).toBe(true);
      expect(readdirSync(host).sort()).toEqual([]);
    } finally {
      if (!exited(run.child) && run.child.pid) process.kill(-run.child.pid, "SIGTERM");
      await until(async () => exited(run.child), 30_000, "the host's agent exited");
      await net.close();
      await images?.stop();
    }

    // No agent will ever confirm the eviction: without --force the removal stops and says why.
    const stuck = await edgeplane(["node", "remove", "gone-1", "--timeout", "2s"]);
    expect(stuck.code).toBe(1);
    expect(stuck.stderr).toMatch(
      /still terminating \(stranded(, stranded-box)?\); is its agent running\? re-run with --force/,
    );
    expect(await nodeJson("gone-1")).toBeDefined();
    const forced = await edgeplane(["node", "remove", "gone-1", "--timeout", "2s", "--force"]);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.stdout).toMatch(/pod\(s\) deleted without waiting for node\/gone-1: stranded/);
    expect(await nodeJson("gone-1")).toBeUndefined();
    expect((await cp.fetch("/api/v1/namespaces/default/pods/stranded")).status).toBe(404);
    expect((await cp.fetch("/api/v1/namespaces/default/pods/stranded-box")).status).toBe(404);
    expect((await edgeplane(["token", "list"])).stdout).not.toContain(" gone-1 ");
  }, 240_000);

  it("joins with the printed command, runs a pod, and leaves with node remove and --uninstall", async () => {
    const host = join(dir, "host-1");
    // The host's own network: the control plane and the registry only through its forwarders.
    const net = await hostNetwork([Number(new URL(cp.url).port), Number(registry.host.split(":")[1])]);
    const started = Date.now();
    const created = await edgeplane(["token", "create", "--node", NODE, "--print-join-command"]);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stdout).toContain("--ca-hash sha256:");
    // The join command as a user pastes it into a shell (a script file: no command line carries it).
    const pasted = join(dir, "pasted.sh");
    await writeFile(pasted, `${created.stdout} ${hostFlags(host, net.ip)}\n`);
    const first = runPasted(pasted, net.ns);
    let current = first;
    const output = () => current.output();
    try {
      const node = await until(
        async () => {
          const n = await nodeJson(NODE);
          return isReady(n) && n;
        },
        90_000,
        `node ${NODE} Ready`,
      ).catch((error) => {
        throw new Error(`${error.message}\n${output()}`);
      });
      console.log(
        `join: token create → node Ready in ${Date.now() - started} ms; agent bundle ${(bundleBytes / 1024).toFixed(1)} KiB`,
      );
      expect(node.status?.nodeInfo?.kubeletVersion).toBe(EDGEPLANE_VERSION);
      expect(node.status?.addresses).toContainEqual({ type: "InternalIP", address: net.ip });
      expect(output()).toContain("the server's CA matches sha256:");
      // The token sits in a root-only file, never on the agent's command line.
      expect(statSync(join(host, "opt", "etc", "token")).mode & 0o777).toBe(0o600);
      const token = /--token ([a-z0-9]{6}\.[a-z0-9]{16})/.exec(created.stdout)?.[1] ?? "";
      // join.sh became the agent (exec): no process holds the token on its command line.
      const agentLines = processesMentioning(join(host, "opt", "current", "agent.mjs")).map((pid) => {
        try {
          return `${pid}: ${readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ")}`;
        } catch {
          return `${pid}: (exited)`;
        }
      });
      expect(agentLines, agentLines.join("\n")).toHaveLength(1);
      expect(processesMentioning(token)).toEqual([]);
      // The join token was traded for the node's lasting credential: used once, then gone.
      const rows = (await edgeplane(["token", "list"])).stdout
        .split("\n")
        .filter((l) => l.includes(` ${NODE} `));
      expect(rows).toHaveLength(1);
      expect(rows[0].split(/\s+/)[0]).not.toBe(token.split(".")[0]);
      expect(rows[0]).toContain("<forever>");
      expect(readFileSync(join(host, "opt", "etc", "token"), "utf8")).not.toContain(token);
      const again = await undiciFetch(`${cp.url}/edgeplane/v1/join/credential`, {
        method: "POST",
        headers: { Authorization: `Bearer ${token}` },
        dispatcher: new Agent({ connect: { ca: readFileSync(pki.caCert, "utf8") } }),
      });
      // 401 once the authenticator's 10 s cache has dropped it, 409 "already used" before: never a second credential.
      expect([401, 409]).toContain(again.status);
      expect(((await again.json()) as { kind: string }).kind).toBe("Status");
      expect(
        (await edgeplane(["token", "list"])).stdout.split("\n").filter((l) => l.includes(` ${NODE} `)),
      ).toEqual(rows);

      const image = registry.push("samples/ticker", "v1", [
        { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
      ]).image;
      // A static pod too: the API cannot remove it, so only --uninstall takes it off the host.
      await writeFile(
        join(host, "var", "manifests", "static-ticker.yaml"),
        `apiVersion: v1
kind: Pod
metadata:
  name: static-ticker
spec:
  runtimeClassName: wasm
  containers:
  - name: main
    image: ${image}
`,
      );
      const applied = await cp.kubectl(["apply", "-f", "-"], {
        input: `apiVersion: v1
kind: Pod
metadata:
  name: ticker
spec:
  nodeName: ${NODE}
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${image}
`,
      });
      expect(applied.code, applied.stderr).toBe(0);
      await until(
        async () => {
          const pod = (await (await cp.fetch("/api/v1/namespaces/default/pods/ticker")).json()) as {
            status?: { phase?: string };
          };
          return pod.status?.phase === "Running";
        },
        60_000,
        "pod Running",
      );
      // Running for real: the module's output comes back through the node's tunnel.
      await until(
        async () => (await cp.kubectl(["logs", "ticker"])).stdout.includes("tick"),
        60_000,
        "the ticker's output",
      );
      // A wasi:http component too: the bundle carries jco's transpiler and the preview2 host, so the joined
      // host transpiles it at pull time and serves it on its pod IP (the agent's own httpGet probe says Ready).
      const { httpHello } = await ensureComponents();
      const web = registry.push("samples/http-hello", "v1", [
        {
          mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
          bytes: new Uint8Array(readFileSync(httpHello)),
        },
      ]).image;
      const webApplied = await cp.kubectl(["apply", "-f", "-"], {
        input: `apiVersion: v1
kind: Pod
metadata:
  name: web
spec:
  nodeName: ${NODE}
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${web}
    ports:
    - containerPort: 8080
    readinessProbe:
      httpGet: { path: /healthz, port: 8080 }
      periodSeconds: 1
`,
      });
      expect(webApplied.code, webApplied.stderr).toBe(0);
      const webIP = await until(
        async () => {
          const pod = (await (await cp.fetch("/api/v1/namespaces/default/pods/web")).json()) as {
            status?: { podIP?: string; conditions?: { type: string; status: string }[] };
          };
          const ready = pod.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True");
          return ready && pod.status?.podIP;
        },
        90_000,
        "the wasi:http pod Ready",
      ).catch((error) => {
        throw new Error(`${error.message}\n${output()}`);
      });
      const served = await sh(
        `nsenter --net=/run/netns/${net.ns} -- curl -sS --max-time 10 http://${webIP}:8080/joined`,
      );
      expect(served.output).toBe("hello from a wasi:http component, path /joined\n");
      await until(
        async () => {
          const response = await cp.fetch(`/api/v1/namespaces/default/pods/static-ticker-${NODE}`);
          return (
            response.ok &&
            ((await response.json()) as { status?: { phase?: string } }).status?.phase === "Running"
          );
        },
        60_000,
        "static pod Running",
      );

      // Re-running the join command upgrades in place: the running agent is replaced, the pod stays.
      const agentMjs = join(host, "opt", "current", "agent.mjs");
      const [before] = processesMentioning(agentMjs);
      current = runPasted(pasted, net.ns);
      await until(async () => exited(first.child), 60_000, "the first agent stopped");
      await until(
        async () => {
          const now = processesMentioning(agentMjs);
          return now.length === 1 && now[0] !== before;
        },
        60_000,
        "the new agent running",
      );
      await current.waitFor(/tunnel connected/, 60_000);
      expect(isReady(await nodeJson(NODE))).toBe(true);

      // node remove drains through the new agent: it deletes the pod it took over.
      const removed = await edgeplane(["node", "remove", NODE]);
      expect(removed.code, removed.stderr).toBe(0);
      expect(removed.stdout).toContain(`node/${NODE} drained`);
      expect(await nodeJson(NODE)).toBeUndefined();
      expect((await cp.fetch("/api/v1/namespaces/default/pods/ticker")).status).toBe(404);
      const tokens = await edgeplane(["token", "list"]);
      expect(tokens.stdout).not.toMatch(new RegExp(`\\s${NODE}\\s`));

      // The static pod outlived the agent's credential: still running on the host.
      expect(processesMentioning(join(host, "var")).length).toBeGreaterThan(0);
      const uninstall = await sh(
        `nsenter --net=/run/netns/${net.ns} -- sh ${join(ROOT, "workers/join/assets/join.sh")} --uninstall --prefix ${join(host, "opt")} --data-dir ${join(host, "var")} --unit-dir ${join(host, "systemd")}`,
      );
      expect(uninstall.code, uninstall.output).toBe(0);
      await until(async () => exited(current.child), 30_000, "the agent exited");
      expect(processesMentioning(host)).toEqual([]);
      expect(existsSync(join(host, "opt"))).toBe(false);
      expect(existsSync(join(host, "var"))).toBe(false);
    } finally {
      for (const run of [first, current])
        if (!exited(run.child) && run.child.pid) process.kill(-run.child.pid, "SIGTERM");
      await until(
        async () => exited(first.child) && exited(current.child),
        30_000,
        "the host's agents exited",
      );
      await net.close();
    }
  }, 240_000);
});

it("serves join.sh and the agent bundle without authentication, with a Status for what is missing", async () => {
  const anonymous = new Agent({ connect: { ca: readFileSync(pki.caCert, "utf8") } });
  try {
    const get = (path: string, method = "GET") =>
      undiciFetch(cp.url + path, { method, dispatcher: anonymous }) as unknown as Promise<Response>;
    const script = await get("/join.sh");
    expect(script.status).toBe(200);
    expect(await script.text()).toBe(readFileSync(join(ROOT, "workers/join/assets/join.sh"), "utf8"));
    const bundle = await get("/edgeplane/v1/join/agent.tar.gz");
    expect(bundle.status).toBe(200);
    expect(bundle.headers.get("x-edgeplane-version")).toBe(EDGEPLANE_VERSION);
    expect((await bundle.arrayBuffer()).byteLength).toBe(bundleBytes);
    const missing = await get("/edgeplane/v1/join/nope");
    expect(missing.status).toBe(404);
    expect(((await missing.json()) as { kind: string }).kind).toBe("Status");
    const post = await get("/join.sh", "POST");
    expect(post.status).toBe(405);
    expect(((await post.json()) as { reason: string }).reason).toBe("MethodNotAllowed");
  } finally {
    await anonymous.close();
  }
});
