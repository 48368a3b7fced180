/**
 * The watch cache across real workerd requests: watches sent over HTTP to
 * the real Worker (each its own request) share one store watch; the
 * request that opened it leaving hands it to another without losing or
 * repeating an event; a late joiner after the hand-over is served from the
 * window. This is the case workerd makes hard: the socket is bound to the
 * request that opened it (registry/watch-cache.ts). Lists with resourceVersion=0 or NotOlderThan are
 * answered from the cache while a watch of the resource is open, consistent ones from the store.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;
const CM = "/api/v1/namespaces/default/configmaps";

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

async function call(method: string, path: string, body?: unknown, type = "application/json") {
  const response = await cp.fetch(path, {
    method,
    headers: { "Content-Type": type },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  expect(response.status, text).toBeLessThan(300);
  return JSON.parse(text);
}

/** Patches the config map; returns "value@resourceVersion" as a watcher should see it. */
async function patch(value: string): Promise<string> {
  const o = await call("PATCH", `${CM}/shared`, { data: { v: value } }, "application/merge-patch+json");
  return `${value}@${o.metadata.resourceVersion}`;
}

/** A watch through the Worker; next() is the next event as "value@resourceVersion" (keepalive newlines skipped). */
async function openWatch(resourceVersion: string) {
  const response = await cp.fetch(
    `${CM}?watch=true&fieldSelector=metadata.name%3Dshared&resourceVersion=${resourceVersion}`,
  );
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  return {
    async next(): Promise<string> {
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl >= 0) {
          const line = buffer.slice(0, nl).trim();
          buffer = buffer.slice(nl + 1);
          if (!line) continue;
          const event = JSON.parse(line);
          expect(event.type).toBe("MODIFIED");
          return `${event.object.data.v}@${event.object.metadata.resourceVersion}`;
        }
        const { value, done } = await reader.read();
        if (done) throw new Error("watch ended");
        buffer += value;
      }
    },
    close: () => reader.cancel(),
  };
}

/** Open HTTP watches in this isolate, from /metrics. */
async function openWatches(): Promise<number> {
  const response = await cp.fetch("/metrics");
  const text = await response.text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("apiserver_longrunning_requests{") && l.includes('resource="configmaps"'));
  return line ? Number(line.split(" ").pop()) : 0;
}

/** Polls a condition until it holds (bounded by the deadline; no fixed sleeps). */
async function eventually(check: () => Promise<boolean>, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not met before the deadline");
    await new Promise((r) => setTimeout(r, 10));
  }
}

it("shares one store watch across requests and hands it over when its owner leaves", async () => {
  const created = await call("POST", CM, { metadata: { name: "shared" }, data: { v: "0" } });
  const start = created.metadata.resourceVersion;
  const owner = await openWatch(start);
  const p1 = await patch("1");
  expect(await owner.next()).toBe(p1);
  // Another request joins the owner's upstream: it replays p1 from the cache's window.
  const other = await openWatch(start);
  expect(await other.next()).toBe(p1);
  const p2 = await patch("2");
  const p3 = await patch("3");
  expect([await owner.next(), await owner.next()]).toEqual([p2, p3]);
  expect([await other.next(), await other.next()]).toEqual([p2, p3]);

  // The owner's client goes away: its request ends, and with it the socket it opened.
  await owner.close();
  await eventually(async () => (await openWatches()) === 1);
  const p4 = await patch("4");
  const p5 = await patch("5");
  expect([await other.next(), await other.next()]).toEqual([p4, p5]);

  // A late joiner after the hand-over is served from the window kept across it.
  const late = await openWatch(p2.split("@")[1]);
  expect([await late.next(), await late.next(), await late.next()]).toEqual([p3, p4, p5]);
  const p6 = await patch("6");
  expect(await other.next()).toBe(p6);
  expect(await late.next()).toBe(p6);
  await other.close();
  await late.close();
  // Not asserted: that both watches then end in the Worker. One of the two stayed counted open for
  // 20 s after a further event, with the watch cache and without it alike (docs/apiserver.md).
});

/** Lists the watch cache has answered for pods in this isolate (apiserver_cache_list_total), from /metrics. */
async function cachedPodLists(): Promise<number> {
  const text = await (await cp.fetch("/metrics")).text();
  const line = text
    .split("\n")
    .find((l) => l.startsWith("apiserver_cache_list_total{") && l.includes('resource_prefix="/core/pods"'));
  return line ? Number(line.split(" ").pop()) : 0;
}

it("answers kubectl's resourceVersion=0 and NotOlderThan pod lists from the watch cache; consistent ones from the store", async () => {
  // A pod watch in the Worker (as kubelets and controllers keep one): what keeps the cache's state current.
  const listed = await call("GET", "/api/v1/pods");
  const response = await cp.fetch(
    `/api/v1/pods?watch=true&resourceVersion=${listed.metadata.resourceVersion}`,
  );
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  try {
    await call("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "cached" },
      spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
    });
    let seen = "";
    while (!seen.includes('"name":"cached"')) {
      const { value, done } = await reader.read();
      if (done) throw new Error("watch ended");
      seen += value;
    }
    const before = await cachedPodLists();
    const any = await cp.kubectl(["get", "--raw", "/api/v1/pods?resourceVersion=0"]);
    expect(any.code, any.stderr).toBe(0);
    expect(JSON.parse(any.stdout).items.map((p: Item) => p.metadata.name)).toContain("cached");
    // A write the cache has seen, asked for by version: the list waits for it and answers from the cache.
    const modified = await call(
      "PATCH",
      "/api/v1/namespaces/default/pods/cached",
      { metadata: { labels: { v: "2" } } },
      "application/merge-patch+json",
    );
    const rv = modified.metadata.resourceVersion;
    const fresh = await cp.kubectl([
      "get",
      "--raw",
      `/api/v1/pods?resourceVersion=${rv}&resourceVersionMatch=NotOlderThan`,
    ]);
    expect(fresh.code, fresh.stderr).toBe(0);
    const listed = JSON.parse(fresh.stdout);
    expect(Number(listed.metadata.resourceVersion)).toBeGreaterThanOrEqual(Number(rv));
    expect(listed.items.find((p: Item) => p.metadata.name === "cached").metadata.labels).toEqual({ v: "2" });
    expect(await cachedPodLists()).toBe(before + 2);
    // Consistent reads (kubectl get pods pages with limit=500 and no resourceVersion) go to the store.
    for (const args of [
      ["get", "--raw", "/api/v1/pods"],
      ["get", "pods", "-A"],
    ]) {
      const result = await cp.kubectl(args);
      expect(result.code, result.stderr).toBe(0);
      expect(result.stdout).toContain("cached");
    }
    expect(await cachedPodLists()).toBe(before + 2);
  } finally {
    await reader.cancel();
  }
});

type Item = { metadata: { name: string; labels?: Record<string, string> } };
