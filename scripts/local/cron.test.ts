import { afterEach, describe, expect, it, vi } from "vitest";
import { cronMatches, startCronLoop } from "./cron.ts";

const at = (iso: string) => new Date(iso);

describe("cronMatches", () => {
  it("fires every minute for * * * * *", () => {
    expect(cronMatches("* * * * *", at("2026-11-22T04:00:00Z"))).toBe(true);
    expect(cronMatches("* * * * *", at("2026-11-22T04:59:00Z"))).toBe(true);
  });

  it("handles steps, ranges and lists in UTC", () => {
    expect(cronMatches("*/15 * * * *", at("2026-11-22T04:30:00Z"))).toBe(true);
    expect(cronMatches("*/15 * * * *", at("2026-11-22T04:31:00Z"))).toBe(false);
    expect(cronMatches("0 9-17 * * *", at("2026-11-22T12:00:00Z"))).toBe(true);
    expect(cronMatches("0 9-17 * * *", at("2026-11-22T18:00:00Z"))).toBe(false);
    expect(cronMatches("5,10 * * * *", at("2026-11-22T01:10:00Z"))).toBe(true);
  });

  it("treats day-of-month and day-of-week as either-or when both are set (Vixie cron), 7 as Sunday", () => {
    // 2026-11-22 is a Sunday.
    expect(cronMatches("0 0 1 * 0", at("2026-11-22T00:00:00Z"))).toBe(true);
    expect(cronMatches("0 0 1 * 7", at("2026-11-22T00:00:00Z"))).toBe(true);
    expect(cronMatches("0 0 * * 1", at("2026-11-22T00:00:00Z"))).toBe(false);
  });

  it("refuses what it does not understand, loudly", () => {
    expect(() => cronMatches("* * * *", new Date())).toThrow(/5 fields/);
    expect(() => cronMatches("0 0 * * MON", new Date())).toThrow(/unsupported/);
    expect(() => cronMatches("61 * * * *", new Date())).toThrow(/out of range/);
  });
});

describe("startCronLoop", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("fires matching crons at the top of each minute, without waiting for slow runs, until stopped", async () => {
    vi.useFakeTimers();
    vi.setSystemTime(new Date("2026-11-22T04:58:30Z"));
    const fired: string[] = [];
    const loop = startCronLoop(["* * * * *", "0 5 * * *", "*/2 * * * *"], async (cron) => {
      fired.push(`${new Date().toISOString().slice(11, 16)} ${cron}`);
      await new Promise(() => {}); // never settles: the next minute must still fire
    });
    await vi.advanceTimersByTimeAsync(29_000);
    expect(fired).toEqual([]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fired).toEqual(["04:59 * * * * *"]);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(fired.slice(1)).toEqual(["05:00 * * * * *", "05:00 0 5 * * *", "05:00 */2 * * * *"]);
    loop.stop();
    await vi.advanceTimersByTimeAsync(120_000);
    expect(fired).toHaveLength(4);
    expect(loop.stopped).toBe(true);
  });
});
