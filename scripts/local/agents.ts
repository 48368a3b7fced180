/**
 * Local node agents: one child process per node, each in its own process
 * group (so stopping it also stops whatever it started), with its own name,
 * data dir and log file, joined to the local control plane over HTTPS.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { closeSync, existsSync, openSync, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { inNetns } from "./netns.ts";

/** How to run the node agent, found in the tree (its CLI is the node-agent area's). */
export function findAgentEntry(root: string): string | undefined {
  const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
    bin?: Record<string, string>;
  };
  const candidates = [
    pkg.bin?.["node-agent"],
    "node-agent/src/main.ts",
    "node-agent/src/cli.ts",
    "node-agent/bin/node-agent.mjs",
  ].filter((c): c is string => Boolean(c));
  return candidates.map((c) => join(root, c)).find((p) => existsSync(p));
}

/** One running agent. */
export interface LocalAgent {
  name: string;
  pid: number;
  logFile: string;
  /** Resolves with the exit code (or signal) when the process ends. */
  exited: Promise<string>;
  child: ChildProcess;
}

/** What an agent needs to join. */
export interface AgentOptions {
  root: string;
  entry: string;
  name: string;
  server: string;
  /** File holding the agent's token (not the token itself: argv is visible to every user in ps). */
  tokenFile: string;
  caFile: string;
  /** The loopback registry endpoint, which needs the node's token (--registry-login). */
  registryLogin?: string;
  dataDir: string;
  logFile: string;
  /** --runtimes (default: the agent's, wasm). */
  runtimes?: string[];
  /** --registry-mirror docker.io=<endpoint>: the agents' containerd pulls Docker Hub images from here first. */
  dockerHubMirror?: string;
  /** --cni-bridge: the host bridge for this node's pods (its pod CIDR comes from node IPAM). */
  bridge?: string;
  /** Run the agent (and so its containerd and pods) in this named network namespace (netns.ts). */
  netns?: string;
  /** More agent flags (e.g. --node-ip for a node in its own namespace). */
  extraArgs?: string[];
  /** --service-proxy with the cluster's pod network, and the API proxy's certificate (PEM files). */
  serviceProxy?: { clusterCidr: string; apiProxyCert: string; apiProxyKey: string };
  /** --cluster-dns for an agent whose pods use another agent's DNS (nodes sharing one network namespace). */
  clusterDns?: string;
}

/** Start one agent process (in its own process group). */
export async function startAgent(o: AgentOptions): Promise<LocalAgent> {
  await mkdir(o.dataDir, { recursive: true });
  const args = [
    "--server",
    o.server,
    "--token-file",
    o.tokenFile,
    "--ca-file",
    o.caFile,
    "--name",
    o.name,
    "--data-dir",
    o.dataDir,
    ...(o.registryLogin ? ["--registry-login", o.registryLogin] : []),
    ...(o.runtimes ? ["--runtimes", o.runtimes.join(",")] : []),
    ...(o.runtimes?.includes("cri") ? ["--containerd", "managed"] : []),
    ...(o.dockerHubMirror ? ["--registry-mirror", `docker.io=${o.dockerHubMirror}`] : []),
    ...(o.bridge ? ["--cni-bridge", o.bridge] : []),
    ...(o.extraArgs ?? []),
    ...(o.serviceProxy
      ? [
          ...["--service-proxy", "--cluster-cidr", o.serviceProxy.clusterCidr],
          ...["--api-proxy-cert", o.serviceProxy.apiProxyCert, "--api-proxy-key", o.serviceProxy.apiProxyKey],
        ]
      : []),
    ...(o.clusterDns ? ["--cluster-dns", o.clusterDns] : []),
  ];
  const node = [process.execPath, ...(o.entry.endsWith(".ts") ? ["--import", "tsx"] : []), o.entry, ...args];
  // nsenter execs the agent, so the pid (and process group) is the agent's.
  const [file, ...command] = o.netns ? [...inNetns(o.netns), ...node] : node;
  const fd = openSync(o.logFile, "a");
  const child = spawn(file, command, {
    cwd: o.root,
    detached: true,
    stdio: ["ignore", fd, fd],
    env: { ...process.env, NODE_NO_WARNINGS: "1" },
  });
  closeSync(fd);
  const exited = new Promise<string>((resolve) =>
    child.once("exit", (code, signal) => resolve(signal ?? `exit ${code}`)),
  );
  if (child.pid === undefined) throw new Error(`could not start node agent ${o.name}`);
  return { name: o.name, pid: child.pid, logFile: o.logFile, exited, child };
}

/** SIGTERM the agent's process group, wait up to `graceMs`, then SIGKILL what is left. */
export async function stopAgent(agent: LocalAgent, graceMs = 10_000): Promise<void> {
  if (agent.child.exitCode !== null || agent.child.signalCode !== null) {
    killGroup(agent.pid, "SIGKILL");
    return;
  }
  killGroup(agent.pid, "SIGTERM");
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<"timeout">((resolve) => {
    timer = setTimeout(() => resolve("timeout"), graceMs);
  });
  const result = await Promise.race([agent.exited, timedOut]);
  clearTimeout(timer);
  // The agent is gone (or hung): anything left in its group goes too.
  killGroup(agent.pid, "SIGKILL");
  if (result === "timeout") await agent.exited;
}

/** Signal a whole process group; a group that is already gone is fine. */
export function killGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: nothing left in the group
  }
}
