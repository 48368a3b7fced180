import { describe, expect, it } from "vitest";
import { forEachPulled } from "./pool.ts";

describe("forEachPulled", () => {
  it("takes in the batches more() brings while work runs, never exceeding the limit, and collects errors", async () => {
    const batches = [[3, 4, 5], [6], []];
    let inFlight = 0;
    let most = 0;
    const done: number[] = [];
    const asked: number[] = [];
    const errors = await forEachPulled(
      [1, 2],
      2,
      async () => {
        asked.push(done.length);
        return batches.shift() ?? [];
      },
      async (n) => {
        inFlight++;
        most = Math.max(most, inFlight);
        await Promise.resolve();
        inFlight--;
        if (n === 4) throw new Error("four");
        done.push(n);
      },
    );
    expect(done.sort()).toEqual([1, 2, 3, 5, 6]);
    expect(errors.map((e) => (e as Error).message)).toEqual(["four"]);
    expect(most).toBe(2);
    // Asked only once the items ran out (a slot had finished), and until it brought nothing.
    expect(asked[0]).toBeGreaterThanOrEqual(1);
    expect(batches).toEqual([]);
  });

  it("ends at once when there is nothing and more() brings nothing", async () => {
    const seen: number[] = [];
    expect(
      await forEachPulled<number>(
        [],
        4,
        async () => [],
        async (n) => void seen.push(n),
      ),
    ).toEqual([]);
    expect(seen).toEqual([]);
  });
});
