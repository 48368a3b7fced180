/**
 * The README's container example as a user runs it, with no internet: `npm
 * start` (temp state dir, free ports) serves containers and WASM by default,
 * `busybox` comes from the offline image in the built-in registry through the
 * docker.io mirror, `kubectl run ... echo hi` logs hi, the httpd
 * Deployment answers, and exposed as a Service it answers another pod by
 * name (the agents' service proxy and DNS are on by default). Stopping leaves nothing behind (no process, no pod
 * network namespace), whether SIGTERM reaches only the npm process (a process
 * manager) or SIGINT the whole process group (Ctrl-C).
 */
import { execFile, execFileSync } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { privateNetwork, wasmPodNetns, wasmPoolNetns } from "../../node-agent/src/testing/agent-process.ts";
import { containerRuntimeProblem } from "../../scripts/local/host.ts";
import { type Launched, launchNpmStart, repoPath } from "../../scripts/local/launch.ts";
import { type ProcessInfo, processesMentioning, survivors } from "../../scripts/local/process-tree.ts";

// Pod IPs are real: this cluster's pods get a bridge and /24 no parallel test file or leftover pod holds.
const network = privateNetwork();
const NETWORK_ENV = { EDGEPLANE_POD_NETWORK: network.podCidr, EDGEPLANE_CNI_BRIDGE: network.bridge };

let stateDir: string;
let running: Launched | undefined;

function kubectl(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = [
    "--kubeconfig",
    join(stateDir, "kubeconfig"),
    "--cache-dir",
    join(stateDir, "kube-cache"),
    ...args,
  ];
  return new Promise((res) =>
    execFile("kubectl", full, { timeout: 120_000 }, (error, stdout, stderr) =>
      res({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    ),
  );
}

async function kubectlOk(args: string[]): Promise<string> {
  const r = await kubectl(args);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** Poll `check` until it holds (bounded): a condition, never a fixed sleep. */
async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 120_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** The named network namespaces on this host (containerd's cni-<uuid>, WASM pods' edgeplane-<pod uid>). */
function allNetns(): string[] {
  return execFileSync("ip", ["netns", "list"], { encoding: "utf8" })
    .split("\n")
    .map((l) => l.split(" ")[0])
    .filter(Boolean);
}

function cniNetns(): string[] {
  return allNetns().filter((n) => n.startsWith("cni-"));
}

/** The WASM pods' namespaces of this cluster (named by their sandbox records) and its nodes' warm pools'. */
async function wasmNetns(): Promise<string[]> {
  const uids = (await kubectlOk(["get", "pods", "-A", "-o", "jsonpath={.items[*].metadata.uid}"])).split(" ");
  const nodes = await readdir(join(stateDir, "nodes")).catch(() => [] as string[]);
  const paths = nodes.flatMap((node) => {
    const data = join(stateDir, "nodes", node);
    return [...uids.map((uid) => (uid ? wasmPodNetns(data, uid) : undefined)), ...wasmPoolNetns(data)];
  });
  const names = paths.filter((p): p is string => p !== undefined).map((p) => p.slice("/run/netns/".length));
  return allNetns().filter((n) => names.includes(n));
}

let registry = "";

async function start(): Promise<Launched> {
  const launched = launchNpmStart(
    ["--state-dir", stateDir, "--port", "0", "--registry-port", "0", "--skip-setup"],
    NETWORK_ENV,
  );
  running = launched;
  const m = await launched.waitFor(
    /edgeplane: ready at https:\/\/\S+ .*registry (127\.0\.0\.1:\d+)/,
    300_000,
  );
  registry = m[1];
  return launched;
}

/** The namespaces of this cluster's pod sandboxes: the ones its containerd's state names. */
async function ourNetns(): Promise<string[]> {
  const dir = join(
    stateDir,
    "nodes",
    "node-1",
    "cri",
    "containerd",
    "state",
    "io.containerd.runtime.v2.task",
    "k8s.io",
  );
  const names: string[] = [];
  for (const ns of cniNetns()) {
    const found = await new Promise<boolean>((res) =>
      execFile("grep", ["-rlq", ns, dir], (error) => res(!error)),
    );
    if (found) names.push(ns);
  }
  return names;
}

/** Stop as `how` says and check nothing of the cluster is left: processes, pods' processes, their netns. */
/**
 * GET a path from a pod's port inside its own network namespace (the pod's
 * loopback): other local clusters on this host share the bridge and the
 * 10.244.0.0/24 range, so a pod IP from the host may reach another cluster's pod.
 */
async function fetchInPod(podIP: string, port: number, path: string): Promise<string> {
  for (const ns of await ourNetns()) {
    const addr = execFileSync("ip", ["-n", ns, "-4", "-br", "addr"], { encoding: "utf8" });
    if (!addr.includes(`${podIP}/`)) continue;
    return execFileSync(
      "ip",
      ["netns", "exec", ns, "busybox", "wget", "-qO-", `http://127.0.0.1:${port}${path}`],
      {
        encoding: "utf8",
        timeout: 10_000,
      },
    );
  }
  throw new Error(`no network namespace of this cluster holds ${podIP}`);
}

async function stopAndCheck(launched: Launched, how: "npm SIGTERM" | "group SIGINT"): Promise<void> {
  const before: ProcessInfo[] = launched.tree();
  const netns = await ourNetns();
  expect(netns.length).toBeGreaterThan(0);
  const wasm = await wasmNetns();
  expect(wasm.length).toBeGreaterThan(0);
  if (how === "npm SIGTERM") await launched.signalNpm("SIGTERM", 120_000);
  else await launched.interrupt("SIGINT", 120_000);
  running = undefined;
  // npm may exit before the launcher it signalled has finished stopping everything: wait for that.
  await until("the launcher to finish stopping", () => survivors(before).length === 0, 60_000);
  expect(launched.output()).toMatch(/edgeplane: stopped/);
  expect(launched.output()).not.toMatch(/forced stop/);
  expect(launched.output()).toMatch(/removed \d+ container pod sandbox/);
  expect(processesMentioning(stateDir).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
  expect(cniNetns().filter((n) => netns.includes(n))).toEqual([]);
  expect(allNetns().filter((n) => wasm.includes(n))).toEqual([]);
}

beforeAll(async () => {
  // This file is about containers: a host that cannot run them fails here, with the reason.
  expect(containerRuntimeProblem()).toBeUndefined();
  stateDir = await mkdtemp(join(tmpdir(), "edgeplane-local-containers-"));
});

afterAll(async () => {
  // A failed test leaves the cluster up: stop it the graceful way (pods and their netns too), kill only if stuck.
  if (running) await running.interrupt("SIGINT", 120_000).catch(() => running?.interrupt("SIGKILL", 10_000));
  await rm(stateDir, { recursive: true, force: true });
}, 180_000);

it("runs busybox with no internet by default, and stops cleanly on SIGTERM to npm alone", async () => {
  const launched = await start();
  expect(launched.output()).toMatch(/with 1 node\(s\) \(runtimes cri, wasm\)/);
  expect(launched.output()).toMatch(
    /offline images in the built-in registry: library\/busybox:latest, library\/busybox:\d+\.\d+\.\d+/,
  );
  await until("node-1 Ready", async () =>
    (await kubectl(["get", "node", "node-1"])).stdout.includes(" Ready "),
  );

  // docker.io is mirrored to the registry endpoint, then upstream.
  const hosts = await readFile(
    join(stateDir, "nodes/node-1/cri/containerd/certs.d/docker.io/hosts.toml"),
    "utf8",
  );
  expect(hosts).toMatch(
    /server = "https:\/\/registry-1\.docker\.io"[\s\S]*\[host\."http:\/\/127\.0\.0\.1:\d+"\]/,
  );

  // A WASM pod beside them, so stopping is checked for both runtimes.
  await kubectlOk(["apply", "-f", repoPath("examples/00-runtimeclass-wasm.yaml")]);
  await kubectlOk(["create", "deployment", "tick", `--image=${registry}/samples/ticker:v1`]);
  await kubectlOk([
    "patch",
    "deployment",
    "tick",
    "-p",
    '{"spec":{"template":{"spec":{"runtimeClassName":"wasm"}}}}',
  ]);

  // The README's commands.
  await kubectlOk(["run", "bb", "--image=busybox", "--restart=Never", "--", "echo", "hi"]);
  await kubectlOk(["create", "deployment", "web", "--image=busybox", "--", "httpd", "-f", "-p", "8080"]);
  await until(
    "bb Succeeded",
    async () =>
      (await kubectl(["get", "pod", "bb", "-o", "jsonpath={.status.phase}"])).stdout === "Succeeded",
  );
  expect(await kubectlOk(["logs", "bb"])).toBe("hi\n");
  await kubectlOk(["rollout", "status", "deployment/web", "--timeout=120s"]);
  await kubectlOk(["rollout", "status", "deployment/tick", "--timeout=120s"]);
  const ip = await kubectlOk(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].status.podIP}"]);
  expect(await fetchInPod(ip, 8080, "/www/index.html")).toBe("hello from edgeplane busybox\n");

  // The README's Service: web exposed, reached by name from another pod through the node's proxy and DNS.
  expect(launched.output()).not.toMatch(/Services carry no traffic/);
  await kubectlOk(["expose", "deployment", "web", "--port", "80", "--target-port", "8080"]);
  await kubectlOk([
    ...["run", "client", "--image=busybox", "--restart=Never", "--"],
    // Retried in the pod until the new Service's rules are in (about a second): DNS answers from the same
    // informer at once, and a connection made before the rules heads for the default route and hangs (busybox's
    // own wget -T crashes, hence timeout).
    ...[
      "sh",
      "-c",
      "for i in $(seq 30); do timeout 5 wget -qO- http://web/www/index.html && exit 0; sleep 1; done; exit 1",
    ],
  ]);
  await until("client done", async () =>
    ["Succeeded", "Failed"].includes(
      (await kubectl(["get", "pod", "client", "-o", "jsonpath={.status.phase}"])).stdout,
    ),
  );
  expect(await kubectlOk(["logs", "client"])).toContain("hello from edgeplane busybox");
  expect(await kubectlOk(["get", "service", "kubernetes", "-o", "jsonpath={.spec.clusterIP}"])).toBe(
    "10.96.0.1",
  );
  const table = `edgeplane-${network.bridge}`;
  expect(execFileSync("nft", ["list", "tables"], { encoding: "utf8" })).toContain(table);

  await stopAndCheck(launched, "npm SIGTERM");
  // A stopped cluster leaves no service rules behind.
  expect(execFileSync("nft", ["list", "tables"], { encoding: "utf8" })).not.toContain(`${table}\n`);
}, 600_000);

it("after a restart the Deployment runs again, and Ctrl-C (SIGINT to the group) stops it all", async () => {
  const launched = await start();
  await until("web's pod running again", async () => {
    const ip = (await kubectl(["get", "pods", "-l", "app=web", "-o", "jsonpath={.items[0].status.podIP}"]))
      .stdout;
    if (!ip) return false;
    return fetchInPod(ip, 8080, "/www/index.html").then(
      (text) => text.includes("hello from edgeplane busybox"),
      () => false,
    );
  });
  await kubectlOk(["rollout", "status", "deployment/tick", "--timeout=120s"]);
  await stopAndCheck(launched, "group SIGINT");
}, 600_000);
