/**
 * Watch limits over HTTP: the per-identity cap (429 + Retry-After, a closed
 * watch frees its slot) and the server-side timeout bound with injected
 * randomness and timers (no waiting).
 */
import { describe, expect, it } from "vitest";
import type { Schedule } from "./registry/watch.ts";
import { createWatchLimiter } from "./registry/watch-limits.ts";
import { TEST_TOKEN, testServer } from "./testing/fixture.ts";

const WATCH = "http://test/api/v1/namespaces/default/configmaps?watch=true";

/** A Schedule whose timers fire only when the test says so. */
function manualTimers() {
  const timers: { ms: number; fire: () => void; cancelled: boolean }[] = [];
  const schedule: Schedule = (ms, fn) => {
    const timer = { ms, fire: fn, cancelled: false };
    timers.push(timer);
    return () => {
      timer.cancelled = true;
    };
  };
  return { timers, schedule };
}

function setup(max: number, random = 0.5, keepaliveMs?: number) {
  const limiter = createWatchLimiter(max);
  const { timers, schedule } = manualTimers();
  const server = testServer({
    watch: { limiter, minRequestTimeoutSeconds: 1800, random: () => random, schedule, keepaliveMs },
  });
  const open = (query = "", signal?: AbortSignal) =>
    server.app.request(`${WATCH}${query}`, {
      headers: { Authorization: `Bearer ${TEST_TOKEN}` },
      signal,
    });
  return { limiter, timers, server, open };
}

/** Read a watch body to its end; resolves only if the server ends the stream. */
async function drain(response: Response): Promise<string> {
  return await response.text();
}

describe("watch limits", () => {
  it("refuses watches past the per-identity cap with 429 TooManyRequests and Retry-After; closing one frees a slot", async () => {
    const { open, limiter } = setup(2);
    const a = await open();
    const b = await open();
    expect([a.status, b.status]).toEqual([200, 200]);
    expect(limiter.open("system:admin")).toBe(2);
    const refused = await open();
    expect(refused.status).toBe(429);
    expect(refused.headers.get("Retry-After")).toBe("1");
    expect(await refused.json()).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "TooManyRequests",
      code: 429,
      details: { retryAfterSeconds: 1 },
    });
    await a.body!.cancel();
    expect(limiter.open("system:admin")).toBe(1);
    const again = await open();
    expect(again.status).toBe(200);
    await b.body!.cancel();
    await again.body!.cancel();
    expect(limiter.open("system:admin")).toBe(0);
  });

  it("a refused watch with a bad parameter takes no slot", async () => {
    const { open, limiter } = setup(1);
    expect((await open("&timeoutSeconds=-1")).status).toBe(400);
    expect(limiter.open("system:admin")).toBe(0);
  });

  it("bounds timeoutSeconds by min-request-timeout × (1 + random) and ends the stream cleanly, freeing the slot", async () => {
    const { open, timers, limiter } = setup(5, 0.25);
    const huge = await open("&timeoutSeconds=999999");
    const none = await open();
    const small = await open("&timeoutSeconds=10");
    expect(timers.map((t) => t.ms)).toEqual([2_250_000, 2_250_000, 10_000]);
    timers[0].fire();
    // The stream just ends: no ERROR event, the client re-watches.
    expect(await drain(huge)).toBe("");
    expect(limiter.open("system:admin")).toBe(2);
    timers[1].fire();
    timers[2].fire();
    expect(await drain(none)).toBe("");
    expect(await drain(small)).toBe("");
    expect(limiter.open("system:admin")).toBe(0);
  });

  it("a client that goes away (request signal aborted) frees its slot at once, with no write needed", async () => {
    const { open, limiter } = setup(1);
    const gone = new AbortController();
    const response = await open("", gone.signal);
    expect(response.status).toBe(200);
    expect((await open()).status).toBe(429);
    gone.abort();
    expect(limiter.open("system:admin")).toBe(0);
    const again = await open();
    expect(again.status).toBe(200);
    await again.body!.cancel();
  });

  it("a quiet watch writes a bare newline every keepalive interval, then goes on with events", async () => {
    const { open, timers, server } = setup(5, 0.5, 5000);
    const response = await open("&resourceVersion=1");
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    const read = reader.read();
    // The first pull waits for an event; the keepalive timer is armed beside the 1-2x timeout.
    const keepalive = timers.find((t) => t.ms === 5000 && !t.cancelled)!;
    keepalive.fire();
    expect((await read).value).toBe("\n");
    const next = reader.read();
    await server.call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "k" }, data: {} });
    const text = (await next).value!;
    expect(JSON.parse(text)).toMatchObject({ type: "ADDED", object: { metadata: { name: "k" } } });
    await reader.cancel();
  });
});
