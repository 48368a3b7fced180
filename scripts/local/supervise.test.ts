import { describe, expect, it } from "vitest";
import { Backoff, formatDuration, Supervisor, startWatchdog } from "./supervise.ts";

describe("Backoff", () => {
  it("doubles from 0.5 s to a 30 s cap and counts crashes in the window", () => {
    const b = new Backoff();
    b.started(0);
    const delays: number[] = [];
    let t = 1000;
    for (let i = 0; i < 9; i++) {
      const plan = b.exited(t);
      delays.push(plan.delayMs);
      t += plan.delayMs; // restarted right after the wait, crashed again at once
      b.started(t);
    }
    expect(delays).toEqual([500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
  });

  it("starts again from 0.5 s after a stable minute", () => {
    const b = new Backoff();
    b.started(0);
    expect(b.exited(1000).delayMs).toBe(500);
    b.started(1500);
    expect(b.exited(2000).delayMs).toBe(1000);
    b.started(3000);
    expect(b.exited(3000 + 60_000).delayMs).toBe(500);
  });

  it("counts only the crashes of the last two minutes", () => {
    const b = new Backoff();
    expect(b.exited(0).recentExits).toBe(1);
    expect(b.exited(60_000).recentExits).toBe(2);
    expect(b.exited(119_999).recentExits).toBe(3);
    expect(b.exited(150_000).recentExits).toBe(3);
  });
});

describe("Supervisor", () => {
  it("says what died, restarts it, backs off on failed restarts and reports repeated crashes", async () => {
    let now = 0;
    const waits: number[] = [];
    const lines: string[] = [];
    let failures = 3;
    const s = new Supervisor({
      name: "workerd",
      keeps: "on the same state and port",
      restart: async () => {
        if (failures-- > 0) throw new Error("port in use");
      },
      restarted: () => "workerd is serving again",
      say: (l) => lines.push(l),
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
        now += ms;
      },
    });
    now = 5000;
    await s.exited("pid 42");
    expect(waits).toEqual([500, 1000, 2000, 4000]);
    expect(lines).toEqual([
      "workerd exited unexpectedly (pid 42); restarting it on the same state and port in 0.5 s",
      "restarting workerd failed: port in use; restarting it on the same state and port in 1 s",
      "workerd exited 3 times in 2 min; next try in 2 s",
      "workerd exited 4 times in 2 min; next try in 4 s",
      "workerd is serving again",
    ]);
  });

  it("treats a report during a restart as the same crash, and restarts nothing once stopped", async () => {
    let restarts = 0;
    let release: () => void = () => {};
    const s = new Supervisor({
      name: "registry endpoint",
      restart: async () => {
        restarts++;
      },
      say: () => {},
      sleep: () => new Promise<void>((r) => (release = r)),
    });
    const first = s.exited("closed");
    const second = s.exited("closed");
    release();
    await Promise.all([first, second]);
    expect(restarts).toBe(1);
    s.stop();
    await s.exited("closed");
    expect(restarts).toBe(1);
  });
});

it("formats durations as people read them", () => {
  expect(formatDuration(500)).toBe("0.5 s");
  expect(formatDuration(30_000)).toBe("30 s");
  expect(formatDuration(120_000)).toBe("2 min");
});

describe("startWatchdog", () => {
  it("calls onHung after the set number of failed checks in a row, never while paused", async () => {
    const answers = [true, false, false, true, false, false, false, false];
    let paused = false;
    const hung: number[] = [];
    let checks = 0;
    let stop: () => void = () => {};
    const done = new Promise<void>((resolve) => {
      stop = startWatchdog({
        probe: async () => {
          const ok = answers[checks++];
          if (checks === answers.length) resolve();
          return ok;
        },
        paused: () => paused,
        onHung: (n) => {
          hung.push(checks);
          expect(n).toBe(3);
          paused = true; // the part is being restarted: no checks until it is back
        },
        intervalMs: 1,
        failures: 3,
        sleep: async () => {
          if (paused && hung.length === 1) paused = false;
        },
      });
    });
    await done;
    stop();
    // Failures 2-3 were broken by an answer; 5-7 are three in a row; 8 starts a new count.
    expect(hung).toEqual([7]);
  });
});
