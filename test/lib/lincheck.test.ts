import { describe, expect, it } from "vitest";
import { checkHistory, checkKey, type HistoryEntry, type Operation } from "./lincheck.ts";

const at = (op: Operation, call: number, ret?: number, key = "k"): HistoryEntry => ({ key, op, call, ret });
const read = (value: string | undefined) => ({ kind: "read", value }) as const;
const cas = (expected: string | undefined, value: string, ok: boolean) =>
  ({ kind: "cas", expected, value, ok }) as const;
const write = (value: string) => ({ kind: "write", value }) as const;

describe("linearizability checker (register with compare-and-set)", () => {
  it("accepts sequential and overlapping histories that have a legal order", () => {
    expect(
      checkKey([
        at(write("a"), 0, 1),
        at(read("a"), 2, 3),
        at(cas("a", "b", true), 4, 5),
        at(read("b"), 6, 7),
      ]),
    ).toBe(true);
    // A read overlapping a write may see either value; here two reads see old then new.
    expect(
      checkKey([
        at(write("a"), 0, 1),
        at(cas("a", "b", true), 2, 10),
        at(read("a"), 3, 4),
        at(read("b"), 5, 6),
      ]),
    ).toBe(true);
    // Two concurrent CAS from the same value: one wins, the other fails.
    expect(
      checkKey([
        at(write("a"), 0, 1),
        at(cas("a", "b", true), 2, 5),
        at(cas("a", "c", false), 2, 5),
        at(read("b"), 6, 7),
      ]),
    ).toBe(true);
    // The read absent before anything was written.
    expect(checkKey([at(read(undefined), 0, 1), at(write("a"), 2, 3)])).toBe(true);
  });

  it("rejects a stale read, a lost write, two winners and a read from nowhere", () => {
    // The write completed before the read began: the read must see it.
    expect(checkKey([at(write("a"), 0, 1), at(cas("a", "b", true), 2, 3), at(read("a"), 4, 5)])).toBe(false);
    // Two CAS from the same value both succeeding.
    expect(
      checkKey([at(write("a"), 0, 1), at(cas("a", "b", true), 2, 5), at(cas("a", "c", true), 2, 5)]),
    ).toBe(false);
    // A value nobody wrote.
    expect(checkKey([at(write("a"), 0, 1), at(read("z"), 2, 3)])).toBe(false);
    // A CAS that failed although the register held its expected value and nothing else ran.
    expect(checkKey([at(write("a"), 0, 1), at(cas("a", "b", false), 2, 3)])).toBe(false);
    // Reads going back in time: new, then old.
    expect(
      checkKey([
        at(write("a"), 0, 1),
        at(cas("a", "b", true), 2, 10),
        at(read("b"), 3, 4),
        at(read("a"), 5, 6),
      ]),
    ).toBe(false);
  });

  it("lets an operation without an answer take effect or not, but only once and only after its call", () => {
    const unknown = at(cas("a", "b", true), 2); // the client never heard back
    expect(checkKey([at(write("a"), 0, 1), unknown, at(read("a"), 3, 4)])).toBe(true);
    expect(checkKey([at(write("a"), 0, 1), unknown, at(read("b"), 3, 4)])).toBe(true);
    expect(checkKey([at(write("a"), 0, 1), unknown, at(read("b"), 3, 4), at(read("a"), 5, 6)])).toBe(false);
    // Not before its call.
    expect(checkKey([at(write("a"), 0, 1), at(read("b"), 2, 3), at(cas("a", "b", true), 4)])).toBe(false);
  });

  it("checks keys independently and reports each", () => {
    const result = checkHistory([
      at(write("a"), 0, 1, "x"),
      at(read("a"), 2, 3, "x"),
      at(write("a"), 0, 1, "y"),
      at(read(undefined), 2, 3, "y"),
    ]);
    expect(result.ok).toBe(false);
    expect(result.keys).toEqual([
      { key: "x", ok: true, operations: 2 },
      { key: "y", ok: false, operations: 2 },
    ]);
  });

  it("decides a long concurrent history quickly (the memo prunes the search)", () => {
    // 20 clients, 30 rounds: each round every client reads the value of the round before and one CAS wins.
    const history: HistoryEntry[] = [at(write("v0"), 0, 1)];
    for (let r = 1; r <= 30; r++) {
      const t = r * 10;
      for (let c = 0; c < 20; c++) {
        history.push(at(read(`v${r - 1}`), t, t + 2));
        history.push(at(cas(`v${r - 1}`, `v${r}-${c}`, c === 0), t + 3, t + 8));
      }
      history.push(at(read(`v${r}-0`), t + 9, t + 9.5));
      // The next round reads the winner's value.
      history.push(at(cas(`v${r}-0`, `v${r}`, true), t + 9.6, t + 9.9));
    }
    expect(checkKey(history)).toBe(true);
  });
});
