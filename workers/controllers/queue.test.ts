import { describe, expect, it } from "vitest";
import { BASE_BACKOFF_MS, MAX_BACKOFF_MS, WorkQueue } from "./queue.ts";

/** A queue on a clock the test moves by hand. */
function clocked() {
  let t = 1_000_000;
  const q = new WorkQueue(() => t);
  return { q, advance: (ms: number) => (t += ms) };
}

const drain = (q: WorkQueue) => {
  const out: string[] = [];
  for (let k = q.get(); k !== undefined; k = q.get()) out.push(k);
  return out;
};

describe("work queue", () => {
  it("holds a key at most once", () => {
    const { q } = clocked();
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(drain(q)).toEqual(["a", "b"]);
  });

  it("never hands out a key being processed; one added meanwhile comes back after done", () => {
    const { q } = clocked();
    q.add("a");
    expect(q.get()).toBe("a");
    q.add("a");
    q.add("a");
    expect(q.get()).toBeUndefined();
    q.done("a");
    expect(q.get()).toBe("a");
    q.done("a");
    expect(q.get()).toBeUndefined();
  });

  it("backs a failing key off exponentially up to the cap, and forget starts it over", () => {
    const { q, advance } = clocked();
    const delays: number[] = [];
    for (let i = 0; i < 10; i++) {
      q.addRateLimited("a");
      delays.push(q.backoff("a"));
    }
    expect(delays.slice(0, 4)).toEqual([500, 1000, 2000, 4000].map((d) => (d / 500) * BASE_BACKOFF_MS));
    expect(delays.at(-1)).toBe(MAX_BACKOFF_MS);
    expect(q.numRequeues("a")).toBe(10);
    // The first failure's time (the earliest) holds; nothing is ready before it.
    expect(q.get()).toBeUndefined();
    advance(BASE_BACKOFF_MS - 1);
    q.promote();
    expect(q.get()).toBeUndefined();
    advance(1);
    q.promote();
    expect(q.get()).toBe("a");
    q.done("a");
    q.forget("a");
    expect(q.numRequeues("a")).toBe(0);
    q.addRateLimited("a");
    expect(q.backoff("a")).toBe(BASE_BACKOFF_MS);
  });

  it("requeueAfter holds a key until its time; the earliest time wins", () => {
    const { q, advance } = clocked();
    q.addAfter("a", 5000);
    q.addAfter("a", 2000);
    q.addAfter("b", 3000);
    expect(q.nextDue()).toBe(1_000_000 + 2000);
    advance(2000);
    q.promote();
    expect(drain(q)).toEqual(["a"]);
    expect(q.nextDue()).toBe(1_000_000 + 3000);
    advance(1000);
    q.promote();
    expect(drain(q)).toEqual(["b"]);
    expect(q.nextDue()).toBeUndefined();
    q.addAfter("c", 0);
    expect(drain(q)).toEqual(["c"]);
  });
});
