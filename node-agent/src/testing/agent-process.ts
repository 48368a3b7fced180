/**
 * Runs the real node agent CLI (bin/node-agent.mjs) as a child process for
 * end-to-end tests and benchmarks, and cleans up the WASM pods it leaves
 * behind (they deliberately outlive the agent).
 */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { WasmRuntime } from "../runtime/wasm/runtime.ts";

const BIN = resolve(dirname(fileURLToPath(import.meta.url)), "../../bin/node-agent.mjs");

/** A running agent process. */
export interface AgentProcess {
  child: ChildProcess;
  /** Everything it printed (stdout + stderr). */
  output(): string;
  /** Resolves with the exit code (or signal name). */
  exited: Promise<number | string>;
  /** Resolve once output matches, or reject after timeoutMs with the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** SIGTERM (or the given signal) and wait for exit. */
  stop(signal?: NodeJS.Signals): Promise<void>;
}

const SLOTS = join(tmpdir(), "edgeplane-test-networks");
const MAX_SLOTS = 4096;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * A CNI bridge and /24 that no other test process on this machine holds. Pod IPs are real now (WASM pods
 * too), and test files run in parallel: two agents on one bridge with one CIDR but separate host-local stores
 * would hand out the same address. A slot is a directory made with mkdir (atomic) holding its owner's pid. A
 * slot is never taken over here, even when its owner is gone: two processes seeing the same dead owner would
 * both take it. Dead owners' slots are freed once per test run, before any test file starts
 * (reclaimNetworkSlots, the node project's global setup).
 */
export function privateNetwork(): { bridge: string; podCidr: string } {
  mkdirSync(SLOTS, { recursive: true });
  for (let slot = 0; slot < MAX_SLOTS; slot++) {
    try {
      mkdirSync(join(SLOTS, String(slot)));
    } catch {
      continue;
    }
    writeFileSync(join(SLOTS, String(slot), "pid"), String(process.pid));
    return { bridge: `ept${slot}`, podCidr: `10.${200 + (slot >> 8)}.${slot & 255}.0/24` };
  }
  throw new Error(`no free test network slot under ${SLOTS}`);
}

/**
 * Free the slots (and bridges) of test processes that are gone (an earlier run's). A slot without a pid yet belongs to a
 * process between its mkdir and its write, unless it is older than a minute.
 */
export function reclaimNetworkSlots(): void {
  let slots: string[];
  try {
    slots = readdirSync(SLOTS);
  } catch {
    return;
  }
  for (const slot of slots) {
    const dir = join(SLOTS, slot);
    let owner = 0;
    try {
      owner = Number(readFileSync(join(dir, "pid"), "utf8")) || 0;
    } catch {
      // no pid file yet
    }
    const stale = owner ? !alive(owner) : Date.now() - statSync(dir).mtimeMs > 60_000;
    if (!stale) continue;
    // Its bridge too: a leftover bridge keeps its address and route, whoever takes the slot next.
    spawnSync("ip", ["link", "delete", `ept${slot}`], { stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The private network of each node this process has started an agent for. */
const nodeNetworks = new Map<string, { bridge: string; podCidr: string }>();

/**
 * A node keeps its network across agent restarts, as a real node keeps its bridge: its Node's spec.podCIDR
 * is immutable once claimed, and the agent follows the Node over its --pod-cidr flag.
 */
function networkOf(args: string[]): { bridge: string; podCidr: string } {
  const at = args.indexOf("--name");
  const node = at >= 0 ? args[at + 1] : undefined;
  const known = node === undefined ? undefined : nodeNetworks.get(node);
  if (known) return known;
  const network = privateNetwork();
  if (node !== undefined) nodeNetworks.set(node, network);
  return network;
}

/**
 * Start `node-agent` with these CLI arguments; `token` goes in through the environment, never argv. Unless
 * the arguments name a bridge or pod CIDR, the agent gets a private one (privateNetwork).
 */
export function spawnAgent(
  args: string[],
  // nodeArgs: Node flags such as --cpu-prof (which NODE_OPTIONS refuses), for a benchmark's profile of the agent.
  options: { token?: string; nodeArgs?: string[] } = {},
): AgentProcess {
  const env: NodeJS.ProcessEnv = { ...process.env, NODE_NO_WARNINGS: "1" };
  if (options.token !== undefined) env.EDGEPLANE_TOKEN = options.token;
  const own = args.includes("--cni-bridge") || args.includes("--pod-cidr");
  const { bridge, podCidr } = own ? { bridge: "", podCidr: "" } : networkOf(args);
  const network = own ? [] : ["--cni-bridge", bridge, "--pod-cidr", podCidr];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args, ...network], {
    stdio: ["ignore", "pipe", "pipe"],
    env,
  });
  let out = "";
  const listeners = new Set<() => void>();
  const onData = (chunk: Buffer) => {
    out += chunk.toString();
    for (const l of listeners) l();
  };
  child.stdout?.on("data", onData);
  child.stderr?.on("data", onData);
  const exited = new Promise<number | string>((res) =>
    child.once("exit", (code, signal) => {
      res(signal ?? code ?? -1);
      for (const l of listeners) l();
    }),
  );
  return {
    child,
    output: () => out,
    exited,
    waitFor: (pattern, timeoutMs = 30_000) =>
      new Promise<void>((res, rej) => {
        const check = () => {
          if (pattern.test(out)) {
            cleanup();
            res();
          } else if (child.exitCode !== null || child.signalCode !== null) {
            cleanup();
            rej(new Error(`agent exited before printing ${pattern}:\n${out}`));
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`agent never printed ${pattern}:\n${out}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    stop: async (signal = "SIGTERM") => {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      await exited;
    },
  };
}

/** Kill and remove every WASM pod under an agent's data dir (tests' afterAll). */
export async function removeWasmPods(dataDir: string, nodeName: string): Promise<void> {
  const runtime = new WasmRuntime({ dataDir, nodeName, hostIP: "127.0.0.1" });
  for (const sandbox of await runtime.listSandboxes()) await runtime.removeSandbox(sandbox.id);
  for (const container of await runtime.listContainers()) await runtime.removeContainer(container.id);
  // Warm-pool networks an agent killed with SIGKILL could not tear down.
  await runtime.close();
}

/** The network namespace path of a WASM pod's sandbox (its own, or one from the agent's warm pool). */
export function wasmPodNetns(dataDir: string, podUid: string): string | undefined {
  try {
    const record = JSON.parse(
      readFileSync(join(dataDir, "wasm", "sandboxes", `wasm-${podUid}`, "sandbox.json"), "utf8"),
    ) as { netns?: string };
    return record.netns;
  } catch {
    return undefined;
  }
}

/** The namespaces of the agent's prepared, unused networks (its warm pool's entry files). */
export function wasmPoolNetns(dataDir: string): string[] {
  const dir = join(dataDir, "wasm", "netns-pool");
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith(".json"))
    .flatMap((n) => {
      try {
        return [(JSON.parse(readFileSync(join(dir, n), "utf8")) as { netns: string }).netns];
      } catch {
        return [];
      }
    });
}

/** Poll `check` until it returns a value, at most `timeoutMs`: waits on the condition, not on time. */
export async function until<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 30_000,
  what = "condition",
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline)
      throw new Error(`${what} not met within ${timeoutMs} ms${last ? `: ${last}` : ""}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Where the sample modules live. */
export const WASM_DIR = resolve(dirname(fileURLToPath(import.meta.url)), "../../../wasm");
/** Path of a sample module. */
export const sample = (name: string) => join(WASM_DIR, `${name}.wasm`);
