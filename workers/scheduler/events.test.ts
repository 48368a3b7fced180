import { describe, expect, it } from "vitest";
import type { Recorder } from "../reconcile/types.ts";
import { queuedRecorder } from "./events.ts";

describe("queuedRecorder", () => {
  it("writes with at most `limit` writers, in the order recorded, and drain() waits for the last", async () => {
    const started: string[] = [];
    const release: (() => void)[] = [];
    let inFlight = 0;
    let most = 0;
    const slow: Recorder = {
      event: async (_o, _t, reason) => {
        started.push(reason);
        inFlight++;
        most = Math.max(most, inFlight);
        await new Promise<void>((r) => release.push(r));
        inFlight--;
      },
    };
    const events = queuedRecorder(slow, 2);
    for (const reason of ["a", "b", "c", "d"]) await events.event({ metadata: {} }, "Normal", reason, "");
    // Recording returned at once; two writers took the first two.
    expect(started).toEqual(["a", "b"]);
    let drained = false;
    const drain = events.drain().then(() => {
      drained = true;
    });
    while (release.length) {
      release.shift()?.();
      await new Promise((r) => setTimeout(r, 0));
    }
    await drain;
    expect(drained).toBe(true);
    expect(started).toEqual(["a", "b", "c", "d"]);
    expect(most).toBe(2);
    await events.drain();
  });
});
