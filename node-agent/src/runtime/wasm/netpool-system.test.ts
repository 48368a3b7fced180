/**
 * The WASM runtime's warm pool of pod networks on the real system: real
 * `ip netns` namespaces and the real CNI bridge + host-local plugins. A new
 * pod gets a prepared network (its IP is the lease host-local recorded for
 * that entry), stopSandbox releases it like any other, close() and the next
 * agent's start tear unused entries down, and nothing leaks: no namespace
 * and no host-local lease file is left.
 */
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../network/cni.ts";
import type { SandboxConfig } from "../types.ts";
import { NETNS_DIR } from "./netns.ts";
import { WasmRuntime } from "./runtime.ts";

const BRIDGE = `eppl${process.pid % 100000}`;
const POD_CIDR = `10.250.${process.pid % 250}.0/24`;

let dataDir: string;

const runtime = (max = 2) =>
  new WasmRuntime({
    dataDir,
    nodeName: `netpool-${process.pid}`,
    hostIP: "127.0.0.1",
    network: { podCidr: POD_CIDR, bridge: BRIDGE },
    netnsPool: { max, idle: max },
    cgroups: false,
  });

function sandbox(uid: string): SandboxConfig {
  return {
    uid,
    namespace: "default",
    name: uid,
    hostname: uid,
    labels: {},
    annotations: {},
    ports: [],
    podDir: join(dataDir, "pods", uid),
  };
}

/** Pool entries on disk: their namespaces' paths. */
function poolEntries(): { netns: string; ip?: string; cniId: string }[] {
  const dir = join(dataDir, "wasm", "netns-pool");
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .map((f) => JSON.parse(readFileSync(join(dir, f), "utf8")));
}

/** host-local's lease files: IP → the CNI container id that holds it. */
function leases(): Map<string, string> {
  const dir = join(dataDir, "cri", "cni-ipam", "edgeplane");
  const out = new Map<string, string>();
  if (!existsSync(dir)) return out;
  for (const f of readdirSync(dir))
    if (/^\d+\.\d+\.\d+\.\d+$/.test(f)) out.set(f, readFileSync(join(dir, f), "utf8").split(/\s/)[0]);
  return out;
}

beforeAll(() => {
  dataDir = mkdtempSync(join(tmpdir(), "wasm-netpool-"));
});

afterAll(async () => {
  const r = runtime();
  for (const s of await r.listSandboxes()) await r.removeSandbox(s.id);
  await r.close();
  await deleteBridge(BRIDGE).catch(() => {});
  rmSync(dataDir, { recursive: true, force: true });
});

describe("warm pool of pod networks (real netns and CNI)", () => {
  it("hands a prepared network to a pod once, refills, releases it with the pod, and leaves nothing on close", async () => {
    const r = runtime(2);
    await r.startPool();
    await r.poolSettled();
    const prepared = poolEntries();
    expect(prepared).toHaveLength(2);
    for (const e of prepared) {
      expect(existsSync(e.netns)).toBe(true);
      expect(leases().get(e.ip ?? "")).toBe(e.cniId);
    }

    const a = await r.runSandbox(sandbox("pod-a"));
    const b = await r.runSandbox(sandbox("pod-b"));
    const handed = [a.ip, b.ip];
    expect(new Set(handed).size).toBe(2);
    for (const ip of handed) expect(prepared.map((e) => e.ip)).toContain(ip);
    // The pod's record names the namespace and the lease's CNI id; the pool no longer lists them.
    const record = JSON.parse(readFileSync(join(dataDir, "wasm", "sandboxes", a.id, "sandbox.json"), "utf8"));
    expect(record.netns).toMatch(new RegExp(`^${NETNS_DIR}/edgeplane-pool-`));
    expect(leases().get(a.ip ?? "")).toBe(record.cniId);
    await r.poolSettled();
    const refilled = poolEntries();
    expect(refilled.length).toBeGreaterThan(0);
    for (const e of refilled) expect(handed).not.toContain(e.ip);

    // Deleting the pod releases its IP and its namespace, as for a network of its own.
    await r.removeSandbox(a.id);
    expect(existsSync(record.netns)).toBe(false);
    expect(leases().has(a.ip ?? "")).toBe(false);

    // Shutdown: unused entries go (CNI DEL, netns delete); the running pod b keeps its network.
    await r.close();
    expect(poolEntries()).toEqual([]);
    for (const e of refilled) {
      expect(existsSync(e.netns)).toBe(false);
      expect(leases().has(e.ip ?? "")).toBe(false);
    }
    expect(leases().has(b.ip ?? "")).toBe(true);
    await runtime().removeSandbox(b.id);
    expect(leases().size).toBe(0);
  }, 60_000);

  it("a restarted agent tears down the entries of one that died without closing", async () => {
    const dead = runtime(2);
    await dead.startPool();
    await dead.poolSettled();
    const left = poolEntries();
    expect(left).toHaveLength(2);
    // The agent "dies": no close(). The next one starts its pool without entries of its own (max 0).
    const next = runtime(0);
    await next.startPool();
    expect(poolEntries()).toEqual([]);
    for (const e of left) expect(existsSync(e.netns)).toBe(false);
    expect(leases().size).toBe(0);
    const names = readdirSync(NETNS_DIR).filter((n) => left.some((e) => e.netns.endsWith(n)));
    expect(names).toEqual([]);
  }, 60_000);
});
