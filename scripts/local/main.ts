/**
 * `npm start`: a local Edgeplane cluster in one command. Checks the host,
 * makes a CA, server certificate and admin token on first start, runs the
 * control plane on workerd over HTTPS with state on disk, fires its crons,
 * pushes the sample workloads into the built-in registry, starts the node
 * agents, writes a kubeconfig and says how to use it. Ctrl-C stops all of it.
 */
import { existsSync, readFileSync, unlinkSync, writeFileSync } from "node:fs";
import { chmod } from "node:fs/promises";
import { createServer } from "node:net";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildAgentBundle } from "../edgeplane/agent-bundle.ts";
import { buildDashboard } from "../edgeplane/dashboard-build.ts";
import { type ClusterFetch, clusterFetch } from "../lib/client.ts";
import { writeKubeconfig } from "../lib/kubeconfig.ts";
import {
  type AgentOptions,
  findAgentEntry,
  killGroup,
  type LocalAgent,
  startAgent,
  stopAgent,
} from "./agents.ts";
import { nodeCidrMask, parseStartArgs, type StartOptions, USAGE } from "./args.ts";
import { nodeCriSocket, removeContainerPods, removeWasmSandboxes, whileFrozen } from "./container-pods.ts";
import { type LocalControlPlane, startControlPlane } from "./controlplane.ts";
import { containerRuntimeProblem, hasCommand, missingPackages, runSetupHost } from "./host.ts";
import { pushOfflineImages } from "./images.ts";
import { startIngressPort } from "./ingress-port.ts";
import type { NodeNetwork } from "./netns.ts";
import { chooseNodeNetwork, routeToPods, startNodeNetwork } from "./netns-start.ts";
import { ensureEncryptionKeys, ensurePki, ensureSigningKey } from "./pki.ts";
import { privateDir, restrictTree } from "./private.ts";
import { stopProcessesMentioning } from "./process-tree.ts";
import { type RegistryProxy, startRegistryProxy } from "./registry-proxy.ts";
import { pushSamples } from "./samples.ts";
import { removeServiceRules, serviceProxyFor } from "./services.ts";
import { formatDuration, Supervisor, startWatchdog } from "./supervise.ts";
import { ensureBootstrapToken } from "./tokens.ts";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

function say(message: string): void {
  console.log(`edgeplane: ${message}`);
}

/** A failure the user can act on: printed without a stack. */
class StartError extends Error {}

async function main(): Promise<void> {
  let options: StartOptions;
  try {
    options = parseStartArgs(process.argv.slice(2), ROOT, process.env);
  } catch (error) {
    throw new StartError(`${(error as Error).message}\n${USAGE}`);
  }
  if (options.help) {
    console.log(USAGE);
    return;
  }
  checkHost(options);
  const { stateDir } = options;
  const logs = join(stateDir, "logs");
  // Owner-only, whatever the umask: the state dir holds the CA key, tokens, encryption keys and the cluster's data.
  await privateDir(stateDir);
  await privateDir(logs);
  claimStateDir(stateDir);

  const plan = await chooseNodeNetwork(options, say).catch((error) => {
    throw new StartError(error.message);
  });
  const pki = await ensurePki(join(stateDir, "pki"), plan ? [plan.hostIP] : []);
  const encryptionKeys = await ensureEncryptionKeys(join(stateDir, "pki", "encryption-keys"));
  const signingKey = await ensureSigningKey(join(stateDir, "pki", "service-account.key"));
  await privateDir(join(stateDir, "state"));
  await restrictTree(join(stateDir, "state"));
  say(
    pki.created
      ? `made a local CA, server certificate and admin token in ${show(stateDir)}/pki`
      : `using ${show(stateDir)}`,
  );
  if (options.port !== 0) await checkPortFree(options.port, "--port");
  if (options.registryPort !== 0) await checkPortFree(options.registryPort, "--registry-port");
  if (options.ingressPort !== 0) await checkPortFree(options.ingressPort, "--ingress-port");

  // The agent bundle join.sh installs is a static asset of the Worker, as `wrangler deploy` builds it.
  await buildAgentBundle(ROOT);
  await buildDashboard(ROOT);
  say("starting the control plane (workerd)...");
  const cp = await startControlPlane({
    root: ROOT,
    stateDir,
    port: options.port,
    tls: { certPath: pki.serverCert, keyPath: pki.serverKey, caPath: pki.caCert },
    secrets: {
      ADMIN_TOKEN: pki.token,
      ENCRYPTION_KEYS: encryptionKeys,
      // ServiceAccount and user tokens (pods trust the API through CLUSTER_CA_CERT below).
      SERVICE_ACCOUNT_SIGNING_KEY: signingKey,
      // Served at /edgeplane/v1/join/ca.crt for join.sh's --ca-hash check.
      CLUSTER_CA: readFileSync(pki.caCert, "utf8"),
      // Node IPAM cuts --pod-network into one /24 per node (node-1 gets the first, as before IPAM).
      CLUSTER_CIDR: options.podNetwork,
      NODE_CIDR_MASK_SIZE: String(nodeCidrMask(options.podNetwork, options.nodes)),
      // The cluster CA pods trust (published to them as the kube-root-ca.crt ConfigMap).
      CLUSTER_CA_CERT: readFileSync(pki.caCert, "utf8"),
      // What Ingresses show as ADDRESS: the ingress port is on loopback.
      INGRESS_ADDRESS: "127.0.0.1",
    },
    logFile: join(logs, "control-plane.log"),
    onCron: (cron, error) => {
      // While workerd is down the supervisor has said so already.
      if (error && !workerdDown) say(`cron "${cron}" failed: ${(error as Error).message ?? error}`);
    },
    onExit: (pid) => {
      if (shuttingDown) return;
      workerdDown = true;
      void workerd?.exited(pid ? `pid ${pid}` : "its output closed");
    },
  });
  running.cp = cp;
  const workerd = new Supervisor({
    name: "workerd",
    keeps: "on the same state directory, port and certificates",
    restart: async () => {
      await cp.restart();
      workerdDown = false;
    },
    restarted: () => `workerd restarted (pid ${cp.pid() ?? "?"}); the control plane serves ${cp.url} again`,
    say,
  });
  running.supervisors.push(workerd);
  const agents = running.agents;
  const ca = readFileSync(pki.caCert, "utf8");
  const fetcher = clusterFetch({ server: cp.url, token: pki.token, ca });
  running.fetcher = fetcher;
  // workerd can hang without exiting (a promise loop that never yields: even /version gets no answer, as a
  // full disk once caused); then kill it, and the supervisor restarts it. EDGEPLANE_WATCHDOG="<ms between checks>,<failures>".
  const [checkMs, failures] = (process.env.EDGEPLANE_WATCHDOG ?? "10000,3").split(",").map(Number);
  running.closers.push(
    asyncStop(
      startWatchdog({
        intervalMs: checkMs,
        failures,
        paused: () => workerdDown || shuttingDown,
        probe: async () => {
          const res = await fetcher("/version", { signal: AbortSignal.timeout(checkMs) });
          await res.arrayBuffer();
          return res.ok;
        },
        onHung: (n) => {
          const pid = cp.pid();
          say(
            `workerd${pid ? ` (pid ${pid})` : ""} answered nothing for ${formatDuration(n * checkMs)}; killing it so it restarts`,
          );
          if (pid) process.kill(pid, "SIGKILL");
        },
      }),
    ),
  );

  await waitServing(fetcher);
  say(
    `control plane serving ${cp.url} (state in ${show(join(stateDir, "state"))}, crons ${cp.crons.join(", ")})`,
  );
  const ingress = await startIngressPort({
    port: options.ingressPort,
    upstream: cp.ingressUrl,
    pki: { caCert: pki.caCert, caKey: pki.caKey, dir: join(stateDir, "pki") },
    fallback: { cert: pki.serverCert, key: pki.serverKey },
  });
  running.closers.push(() => ingress.stop());
  const kubeconfig = join(stateDir, "kubeconfig");
  await writeKubeconfig(kubeconfig, "edgeplane-local", { server: cp.url, token: pki.token, ca });
  await chmod(kubeconfig, 0o600);

  // The pods' registry endpoint holds no credential of its own: it forwards the puller's (a node's token).
  const pullFetcher = clusterFetch({ server: cp.url, token: "", ca });
  running.closers.push(() => pullFetcher.close());
  const registry = await startRegistryProxy(options.registryPort, pullFetcher, (why) => {
    if (!shuttingDown) void registrySupervisor.exited(why);
  });
  const registrySupervisor = new Supervisor({
    name: "the registry endpoint",
    keeps: `on ${registry.host}`,
    restart: () => registry.restart(),
    restarted: () => `the registry endpoint listens on ${registry.host} again`,
    say,
  });
  running.supervisors.push(registrySupervisor);
  running.registry = registry;
  say(`registry for pods: ${registry.host} (pull-only, loopback; push with scripts/edgeplane.mjs push)`);
  for (const p of await pushSamples(ROOT, stateDir, fetcher, say)) {
    say(`pushed ${p.repository}:${p.tag} (${p.digest.slice(0, 19)}) to the built-in registry`);
  }
  const runtimes = chooseRuntimes(options);
  if (runtimes.includes("cri")) {
    try {
      const refs = await pushOfflineImages(ROOT, stateDir, fetcher);
      say(
        `offline images in the built-in registry: ${refs.join(", ")} (docker.io is mirrored to ${registry.host})`,
      );
    } catch (error) {
      say(
        `could not build the offline busybox image (${(error as Error).message}); images come from Docker Hub`,
      );
    }
  }
  // One resync now, so a restarted cluster converges without waiting for the minute.
  cp.fireCron(cp.crons[0] ?? "* * * * *").catch((error) => {
    if (!shuttingDown) say(`first resync failed: ${error.message}`);
  });

  const ports = { api: Number(new URL(cp.url).port), registry: Number(registry.host.split(":")[1]) };
  const network =
    plan &&
    (await startNodeNetwork(plan, stateDir, ports, say).catch((error) => {
      throw new StartError(`cannot build the node network: ${error.message}`);
    }));
  running.network = network;
  const services = await serviceProxyFor(options, pki, say);
  if (services) running.serviceBridge = options.cniBridge;
  if (options.nodes > 0)
    await startAgents(
      options,
      runtimes,
      cp.url,
      pki.caCert,
      fetcher,
      agents,
      registry.host,
      services,
      network,
    );

  const kc = show(kubeconfig);
  console.log(
    [
      "",
      `edgeplane: ready at ${cp.url} with ${agents.length} node(s) (runtimes ${runtimes.join(", ")}), registry ${registry.host}`,
      "",
      `  export KUBECONFIG=${kc}`,
      "  kubectl get nodes",
      "  kubectl apply -f examples/",
      "  kubectl get pods -w",
      "",
      `Dashboard: ${cp.url}/ui (sign in with the admin token in ${show(stateDir)}/pki/admin-token, or any user's token)`,
      `Ingress: https://127.0.0.1:${ingress.port} by Host (certificates from ${show(pki.caCert)}), e.g.`,
      `  curl --cacert ${show(pki.caCert)} --resolve HOST:${ingress.port}:127.0.0.1 https://HOST:${ingress.port}/`,
      "",
      `Logs: ${show(logs)}/. Ctrl-C stops the cluster; state is kept for the next start.`,
      "",
    ].join("\n"),
  );
  for (const agent of agents) void reportNodeReady(fetcher, agent.name);
  if (network) for (const a of agents) void routeToPods(fetcher, network, a.name, stopping, say);
}

/** --runtimes, else containers and WASM when containerd can run here (else WASM only, and one line saying why). */
function chooseRuntimes(options: StartOptions): string[] {
  if (options.runtimes) return options.runtimes;
  const problem = containerRuntimeProblem();
  if (!problem) return ["cri", "wasm"];
  if (options.nodes > 0)
    say(`container pods are off: ${problem}; nodes run WASM pods only (--runtimes to choose)`);
  return ["wasm"];
}

/** openssl is required; missing Debian packages are installed (as root) or listed. */
function checkHost(options: StartOptions): void {
  if (!hasCommand("openssl")) {
    throw new StartError("openssl is missing: install it (apt-get install openssl) and run npm start again");
  }
  const missing = missingPackages(ROOT);
  if (missing.length > 0 && !options.skipSetup && process.getuid?.() === 0) {
    say(`installing missing Debian packages: ${missing.join(" ")}`);
    if (!runSetupHost(ROOT)) say("scripts/setup-host.sh failed; carrying on (container pods may not run)");
  } else if (missing.length > 0) {
    say(
      `missing Debian packages: ${missing.join(" ")} (run: sudo bash scripts/setup-host.sh); container pods need them`,
    );
  }
  if (!hasCommand("kubectl")) say("kubectl is not on PATH: install it to use the cluster");
}

/** One `npm start` per state dir: a second one would fight over the same files and port. */
function claimStateDir(stateDir: string): void {
  const pidFile = join(stateDir, "start.pid");
  if (existsSync(pidFile)) {
    const pid = Number(readFileSync(pidFile, "utf8"));
    if (pid && pid !== process.pid && alive(pid)) {
      throw new StartError(
        `already running for ${show(stateDir)} (pid ${pid}); stop it first or use --state-dir`,
      );
    }
  }
  writeFileSync(pidFile, String(process.pid));
  running.pidFile = pidFile;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Fail clearly when the port is taken, before workerd fails obscurely. */
async function checkPortFree(port: number, flag: string): Promise<void> {
  await new Promise<void>((resolveFree, reject) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) =>
      reject(
        new StartError(
          error.code === "EADDRINUSE"
            ? `port ${port} on 127.0.0.1 is already in use (another cluster?); pick one with ${flag} N, or ${flag} 0 for any free port`
            : `cannot listen on 127.0.0.1:${port}: ${error.message}`,
        ),
      ),
    );
    server.listen(port, "127.0.0.1", () => server.close(() => resolveFree()));
  });
}

/** Wait (bounded) until the Worker answers an authenticated request. */
async function waitServing(fetcher: ClusterFetch): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = "";
  while (Date.now() < deadline) {
    try {
      const res = await fetcher("/v2/");
      await res.arrayBuffer();
      if (res.status === 200) return;
      last = `HTTP ${res.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new StartError(
    `the control plane did not start serving within 60s (${last}); see logs/control-plane.log`,
  );
}

async function startAgents(
  options: StartOptions,
  runtimes: string[],
  server: string,
  caFile: string,
  fetcher: ClusterFetch,
  agents: LocalAgent[],
  registryHost: string,
  serviceProxy: AgentOptions["serviceProxy"],
  network?: NodeNetwork,
): Promise<void> {
  const entry = findAgentEntry(ROOT);
  running.nodesDir = join(options.stateDir, "nodes");
  if (!entry) {
    say("no node agent in this tree yet (node-agent/src/main.ts): running the control plane only");
    return;
  }
  for (let i = 1; i <= options.nodes; i++) {
    const name = `node-${i}`;
    const tokenFile = join(options.stateDir, "pki", `${name}.token`);
    await ensureBootstrapToken(fetcher, tokenFile, {
      nodeName: name,
      description: `npm start: local node ${name}`,
    });
    // A node in its own namespace reaches the API at the host's address on the node network.
    const place = network?.node(name);
    const agent = await startAgent({
      root: ROOT,
      entry,
      name,
      server: place ? `https://${network?.plan.hostIP}:${new URL(server).port}` : server,
      netns: place?.ns,
      // Its own address (and below, its own service proxy: rules and NodePorts in its namespace only).
      // Nodes sharing the host's loopback take the agent metrics port after node-1's (10255, kubelet's old one).
      extraArgs: place ? ["--node-ip", place.ip] : ["--metrics-bind-address", `127.0.0.1:${10254 + i}`],
      // Each local node joins as a remote one does: with its own bootstrap token (docs/deploy.md).
      tokenFile,
      caFile,
      registryLogin: registryHost,
      runtimes,
      dockerHubMirror: runtimes.includes("cri") ? registryHost : undefined,
      bridge: options.cniBridge,
      // Nodes sharing the host's network namespace and pod bridge share one table, so one agent programs it and
      // the others point their pods at its DNS; a node in its own namespace has its own.
      serviceProxy: place || i === 1 ? serviceProxy : undefined,
      clusterDns: !place && i > 1 && serviceProxy ? "10.96.0.10" : undefined,
      dataDir: join(running.nodesDir, name),
      logFile: join(options.stateDir, "logs", `${name}.log`),
    });
    agents.push(agent);
    say(`started node agent ${name} (pid ${agent.pid}, log ${show(agent.logFile)})`);
    agent.exited.then((how) => {
      if (!shuttingDown) say(`node agent ${name} exited (${how}); see ${show(agent.logFile)}`);
    });
  }
}

/** Say when a node's Ready condition turns True (best effort, bounded). */
async function reportNodeReady(fetcher: ClusterFetch, name: string): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (Date.now() < deadline && !shuttingDown) {
    try {
      const res = await fetcher(`/api/v1/nodes/${name}`);
      if (res.ok) {
        const node = (await res.json()) as { status?: { conditions?: { type: string; status: string }[] } };
        if (node.status?.conditions?.some((c) => c.type === "Ready" && c.status === "True")) {
          say(`node ${name} is Ready`);
          return;
        }
      } else await res.arrayBuffer();
    } catch {
      // not serving nodes yet
    }
    await new Promise((r) => setTimeout(r, 1000));
  }
}

let shuttingDown = false;
/** workerd died and its supervisor has not brought it back yet. */
let workerdDown = false;
const stopping = () => shuttingDown;

/** What is running, so one teardown can stop it on a signal or a failed start. */
const running: {
  cp?: LocalControlPlane;
  agents: LocalAgent[];
  registry?: RegistryProxy;
  network?: NodeNetwork;
  /** Parent of the node agents' data dirs: their pods' processes mention it. */
  nodesDir?: string;
  fetcher?: { close(): Promise<void> };
  /** Restarters of crashed parts, stopped first on teardown. */
  supervisors: Supervisor[];
  closers: (() => Promise<void>)[];
  pidFile?: string;
  /** The pod bridge whose service proxy table the agents programmed. */
  serviceBridge?: string;
} = { agents: [], supervisors: [], closers: [] };

/** Stop the agents (their whole process groups), then workerd. */
async function teardown(): Promise<void> {
  shuttingDown = true;
  for (const s of running.supervisors) s.stop();
  // Container pods first, through CRI while containerd still runs, so their netns, veths and IPs go too.
  const nodesDir = running.nodesDir;
  if (nodesDir) {
    const counts = await Promise.all(
      running.agents.map((a) =>
        whileFrozen(a.pid, () => removeContainerPods(nodeCriSocket(join(nodesDir, a.name)))).catch(
          (error) => {
            say(`removing ${a.name}'s container pods: ${(error as Error).message}`);
            return 0;
          },
        ),
      ),
    );
    const removed = counts.reduce((a, b) => a + b, 0);
    if (removed > 0) say(`removed ${removed} container pod sandbox(es)`);
  }
  await Promise.all(running.agents.map((a) => stopAgent(a)));
  // Pods outlive their agent by design (a restarted agent adopts them); a stopped local cluster must not.
  if (running.nodesDir) {
    const pods = await stopProcessesMentioning(`${running.nodesDir}/`);
    if (pods > 0) say(`stopped ${pods} pod process(es)`);
    // WASM pods' network namespaces outlive their processes: release them too.
    const nodes = running.nodesDir;
    const counts = await Promise.all(
      running.agents.map((a) => removeWasmSandboxes(join(nodes, a.name)).catch(() => 0)),
    );
    const sandboxes = counts.reduce((a, b) => a + b, 0);
    if (sandboxes > 0) say(`removed ${sandboxes} WASM pod sandbox(es)`);
  }
  if (running.network) {
    await running.network.stop();
    say(`removed the node network (bridge ${running.network.plan.bridge} and its namespaces)`);
  }
  // Agents leave their rules when they stop (kube-proxy does too); a stopped local cluster takes them away.
  if (running.serviceBridge) await removeServiceRules(running.serviceBridge);
  await running.registry?.stop();
  for (const close of running.closers) await close().catch(() => {});
  await running.fetcher?.close().catch(() => {});
  await running.cp?.stop().catch((error) => say(`stopping workerd: ${error.message}`));
  if (running.pidFile) {
    try {
      unlinkSync(running.pidFile);
    } catch {
      // already gone
    }
  }
}

/** How long after a signal the same keypress may still arrive again through npm. */
const DUPLICATE_SIGNAL_MS = 1000;

/** Ctrl-C / SIGTERM stop everything; a second signal forces. */
function installSignals(): void {
  let firstSignalAt = 0;
  const onSignal = async (signal: string) => {
    if (shuttingDown) {
      // Ctrl-C reaches npm and us at once, and npm forwards it again: one keypress is two signals. Only a later
      // one is a second Ctrl-C asking to force.
      if (Date.now() - firstSignalAt < DUPLICATE_SIGNAL_MS) return;
      say("forced stop");
      for (const a of running.agents) killGroup(a.pid, "SIGKILL");
      process.exit(130);
    }
    firstSignalAt = Date.now();
    say(`${signal}: stopping ${running.agents.length} node agent(s) and the control plane...`);
    await teardown();
    say("stopped");
    process.exit(0);
  };
  process.on("SIGINT", () => void onSignal("SIGINT"));
  process.on("SIGTERM", () => void onSignal("SIGTERM"));
  // The terminal went away: stop as for Ctrl-C rather than die and leave the cluster running.
  process.on("SIGHUP", () => void onSignal("SIGHUP"));
  // A closed output pipe (that terminal, or a process manager's log) must not abort a teardown half-way.
  for (const stream of [process.stdout, process.stderr]) stream.on("error", () => {});
  // Last resort if we die another way: never leave agents behind.
  process.on("exit", () => {
    for (const a of running.agents) killGroup(a.pid, "SIGKILL");
  });
}

/** A synchronous stop as a teardown closer. */
function asyncStop(stop: () => void): () => Promise<void> {
  return async () => stop();
}

function show(path: string): string {
  const rel = relative(process.cwd(), path);
  return rel && !rel.startsWith("..") ? rel : path;
}

installSignals();
main().catch(async (error) => {
  if (error instanceof StartError) console.error(`edgeplane: ${error.message}`);
  else console.error("edgeplane: failed to start:", error);
  await teardown();
  process.exit(1);
});
