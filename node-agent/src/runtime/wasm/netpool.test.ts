/**
 * The warm pool of pod networks (netpool.ts) with recording fake operations:
 * filling, hand-out (never one entry twice), demand-sized refill under the
 * cap, stale networks, failures, and teardown on close and on the next
 * start. netpool-real.test.ts runs the same through real netns and CNI.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { NetnsPool, type PoolEntry, type PoolOps } from "./netpool.ts";

type Net = { cidr: string };

/** Ops that record what they did; `fail` makes the next prepare throw. */
function fakeOps() {
  const prepared: string[] = [];
  const released: string[] = [];
  let next = 2;
  const state = { fail: false };
  const ops: PoolOps<Net> = {
    async prepare(entry) {
      if (state.fail) throw new Error("no addresses left");
      prepared.push(entry.id);
      return `10.0.0.${next++}`;
    },
    async release(entry) {
      released.push(entry.id);
    },
  };
  return { ops, prepared, released, state };
}

let dir: string;
let time: number;
/** Pools a test made: closed before their directory goes, so no refill still running writes into it. */
let made: NetnsPool<Net>[] = [];

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), "netpool-"));
  time = 1_000_000;
});

afterEach(async () => {
  await Promise.all(made.map((p) => p.close()));
  made = [];
  rmSync(dir, { recursive: true, force: true });
});

function pool(
  ops: PoolOps<Net>,
  extra: { network?: Net; inUse?: string[]; max?: number; idle?: number } = {},
) {
  const net = { current: extra.network ?? { cidr: "10.0.0.0/24" } };
  const p = new NetnsPool<Net>({
    dir: join(dir, "pool"),
    netnsDir: "/run/netns",
    ops,
    network: () => net.current,
    inUse: async () => new Set(extra.inUse ?? []),
    max: extra.max ?? 4,
    idle: extra.idle ?? 1,
    windowMs: 10_000,
    now: () => time,
  });
  made.push(p);
  return { p, net };
}

const files = () => (existsSync(join(dir, "pool")) ? readdirSync(join(dir, "pool")).sort() : []);

describe("NetnsPool", () => {
  it("fills to its idle size on start, one file per entry, and hands nothing out before start", async () => {
    const f = fakeOps();
    const { p } = pool(f.ops, { idle: 2 });
    expect(p.take()).toBeUndefined();
    await p.start();
    await p.settled();
    expect(p.size).toBe(2);
    expect(f.prepared).toHaveLength(2);
    expect(files()).toEqual(f.prepared.map((id) => `${id}.json`).sort());
  });

  it("hands each prepared entry out once, with its IP, netns and CNI id, then refills to recent demand under the cap", async () => {
    const f = fakeOps();
    const { p } = pool(f.ops, { max: 3 });
    await p.start();
    await p.settled();
    const first = p.take() as PoolEntry<Net>;
    expect(first.ip).toBe("10.0.0.2");
    expect(first.netns).toBe(`/run/netns/edgeplane-pool-${first.id}`);
    expect(first.cniId).toBe(`wasm-pool-${first.id}`);
    // Taken synchronously: a second caller in the same tick gets nothing rather than the same entry.
    expect(p.take()).toBeUndefined();
    await p.settled();
    // Two takes in the window: the pool now aims for 2.
    expect(p.size).toBe(2);
    const handed = new Set<string>([first.id]);
    for (let i = 0; i < 10; i++) {
      const e = p.take();
      if (e) {
        expect(handed.has(e.id)).toBe(false);
        handed.add(e.id);
      }
      await p.settled();
    }
    // Demand of 12 in the window is capped at max.
    expect(p.size).toBe(3);
    expect(p.target()).toBe(3);
    // The pod's record names it: the pool forgets the file but releases nothing.
    await p.forget(first);
    expect(files()).not.toContain(`${first.id}.json`);
    expect(f.released).not.toContain(first.id);
    // With no demand in the window the target falls back to idle, and the next fill trims the surplus.
    time += 20_000;
    expect(p.target()).toBe(1);
  });

  it("never hands out an entry of an old pod CIDR: it is released and a new one prepared", async () => {
    const f = fakeOps();
    const { p, net } = pool(f.ops);
    await p.start();
    await p.settled();
    const [stale] = f.prepared;
    net.current = { cidr: "10.1.0.0/24" };
    expect(p.take()).toBeUndefined();
    await p.settled();
    expect(f.released).toContain(stale);
    const fresh = p.take();
    expect(fresh?.network).toEqual({ cidr: "10.1.0.0/24" });
  });

  it("gives a failed entry back, and backs off after a failed prepare instead of retrying at once", async () => {
    const f = fakeOps();
    f.state.fail = true;
    const { p } = pool(f.ops);
    await p.start();
    await p.settled();
    expect(p.size).toBe(0);
    expect(f.released).toHaveLength(1);
    expect(files()).toEqual([]);
    f.state.fail = false;
    p.take();
    await p.settled();
    expect(p.size).toBe(0);
    time += 1_001;
    p.take();
    await p.settled();
    expect(p.size).toBeGreaterThan(0);
    const e = p.take() as PoolEntry<Net>;
    await p.giveBack(e);
    expect(f.released).toContain(e.id);
    expect(files()).not.toContain(`${e.id}.json`);
  });

  it("does not refill while a pod prepares a network of its own, and refills once it is done", async () => {
    const f = fakeOps();
    const { p } = pool(f.ops, { idle: 1 });
    await p.start();
    await p.settled();
    const release = p.hold();
    expect(p.take()).toBeDefined();
    // The pool is empty and asked for: still nothing starts while the pod's own ADD runs.
    expect(p.take()).toBeUndefined();
    await p.settled();
    expect(p.size).toBe(0);
    expect(f.prepared).toHaveLength(1);
    release();
    release(); // twice is once
    await p.settled();
    expect(p.size).toBe(2);
  });

  it("close tears down every unused entry and stops refilling; a taken, unclaimed entry is left to its pod", async () => {
    const f = fakeOps();
    const { p } = pool(f.ops, { idle: 3 });
    await p.start();
    await p.settled();
    const taken = p.take() as PoolEntry<Net>;
    await p.close();
    expect(f.released.sort()).toEqual(f.prepared.filter((id) => id !== taken.id).sort());
    expect(files()).toEqual([`${taken.id}.json`]);
    expect(p.take()).toBeUndefined();
    await p.settled();
    expect(f.prepared.length).toBe(f.released.length + 1);
  });

  it("on start, tears down what a dead agent left (also half-prepared entries), but not a netns a pod's record names", async () => {
    mkdirSync(join(dir, "pool"));
    const left = (id: string, ip?: string) =>
      writeFileSync(
        join(dir, "pool", `${id}.json`),
        JSON.stringify({
          id,
          netns: `/run/netns/edgeplane-pool-${id}`,
          cniId: `wasm-pool-${id}`,
          network: { cidr: "10.0.0.0/24" },
          ip,
        }),
      );
    left("aa", "10.0.0.9");
    left("bb"); // died between writing the file and CNI ADD's answer
    left("cc", "10.0.0.10"); // taken and named by a pod's sandbox record before the agent died
    writeFileSync(join(dir, "pool", "dd.json.tmp"), "{");
    const f = fakeOps();
    const { p } = pool(f.ops, { inUse: ["/run/netns/edgeplane-pool-cc"], idle: 0 });
    await p.start();
    await p.settled();
    expect(f.released.sort()).toEqual(["aa", "bb"]);
    expect(files()).toEqual([]);
  });
});
