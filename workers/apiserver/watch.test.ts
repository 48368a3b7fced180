import { describe, expect, it } from "vitest";
import { WatchCache } from "./registry/watch-cache.ts";
import { testServer as fixtureServer, TEST_TOKEN } from "./testing/fixture.ts";

type Server = ReturnType<typeof fixtureServer>;

/** Open a watch and read events one by one (each read is bounded by the stream itself, not by sleeping). */
async function openWatch(server: Server, query: string, accept?: string) {
  const headers: Record<string, string> = { Authorization: `Bearer ${TEST_TOKEN}` };
  if (accept) headers.Accept = accept;
  const response = await server.app.request(
    `http://test/api/v1/namespaces/default/configmaps?watch=true&${query}`,
    { headers },
  );
  expect(response.status).toBe(200);
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  // biome-ignore lint/suspicious/noExplicitAny: event objects are read loosely in assertions
  const next = async (): Promise<{ type: string; object: Record<string, any> } | undefined> => {
    for (;;) {
      const nl = buffer.indexOf("\n");
      if (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        return JSON.parse(line);
      }
      const { value, done } = await reader.read();
      if (done) return undefined;
      buffer += value;
    }
  };
  return { next, close: () => reader.cancel() };
}

const cm = (name: string, labels: Record<string, string> = {}) => ({
  metadata: { name, labels },
  data: { a: "1" },
});

// Every case runs with each watcher on its own store watch, and through the watch cache (registry/watch-cache.ts).
describe.each([
  ["own store watch", () => fixtureServer()],
  ["watch cache", () => fixtureServer({ watchCache: new WatchCache() })],
])("watch (%s)", (_, testServer) => {
  it("sends synthetic ADDED for current objects, then live changes in order", async () => {
    const server = testServer();
    await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("one"));
    const w = await openWatch(server, "");
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "one" } } });
    await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("two"));
    await server.call(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/one",
      { data: { a: "2" } },
      { "Content-Type": "application/merge-patch+json" },
    );
    await server.call("DELETE", "/api/v1/namespaces/default/configmaps/two");
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "two" } } });
    expect(await w.next()).toMatchObject({
      type: "MODIFIED",
      object: { metadata: { name: "one" }, data: { a: "2" } },
    });
    const deleted = await w.next();
    expect(deleted).toMatchObject({ type: "DELETED", object: { metadata: { name: "two" } } });
    await w.close();
  });

  it("resumes from a resourceVersion without gaps or repeats", async () => {
    const server = testServer();
    const a = await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("a"));
    await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("b"));
    await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("c"));
    const w = await openWatch(server, `resourceVersion=${a.body.metadata!.resourceVersion}`);
    // Order holds per object; across store sub-shards (the workers-sharded project) it need not.
    const names = [(await w.next())?.object.metadata.name, (await w.next())?.object.metadata.name];
    expect(names.sort()).toEqual(["b", "c"]);
    await w.close();
  });

  it("turns objects leaving or entering the selection into DELETED / ADDED", async () => {
    const server = testServer();
    await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("x", { team: "a" }));
    const w = await openWatch(server, "labelSelector=team%3Da");
    expect(await w.next()).toMatchObject({ type: "ADDED" });
    const patch = (team: string) =>
      server.call(
        "PATCH",
        "/api/v1/namespaces/default/configmaps/x",
        { metadata: { labels: { team } } },
        { "Content-Type": "application/merge-patch+json" },
      );
    await patch("b");
    expect(await w.next()).toMatchObject({
      type: "DELETED",
      object: { metadata: { labels: { team: "b" } } },
    });
    await patch("a");
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { labels: { team: "a" } } } });
    await w.close();
  });

  it("ends cleanly at timeoutSeconds", async () => {
    const server = testServer();
    const list = await server.call("GET", "/api/v1/namespaces/default/configmaps");
    const rv = (list.body.metadata as { resourceVersion: string }).resourceVersion;
    const w = await openWatch(server, `resourceVersion=${rv}&timeoutSeconds=1`);
    expect(await w.next()).toBeUndefined();
  });

  it("answers a compacted resourceVersion with an ERROR event carrying 410 Expired", async () => {
    const server = testServer();
    for (const n of ["a", "b", "c"])
      await server.call("POST", "/api/v1/namespaces/default/configmaps", cm(n));
    const { current } = await server.store.revisions();
    await server.store.compact(current - 1);
    const w = await openWatch(server, "resourceVersion=2");
    expect(await w.next()).toMatchObject({
      type: "ERROR",
      object: { kind: "Status", code: 410, reason: "Expired" },
    });
    expect(await w.next()).toBeUndefined();
  });

  it("sends the initial-events-end BOOKMARK for sendInitialEvents, and Table events", async () => {
    const server = testServer();
    await server.call("POST", "/api/v1/namespaces/default/configmaps", cm("a"));
    const w = await openWatch(
      server,
      "sendInitialEvents=true&allowWatchBookmarks=true&resourceVersionMatch=NotOlderThan",
    );
    expect(await w.next()).toMatchObject({ type: "ADDED" });
    const bookmark = await w.next();
    expect(bookmark).toMatchObject({
      type: "BOOKMARK",
      object: { metadata: { annotations: { "k8s.io/initial-events-end": "true" } } },
    });
    await w.close();
    const t = await openWatch(server, "", "application/json;as=Table;v=v1;g=meta.k8s.io");
    const event = await t.next();
    expect(event?.object.kind).toBe("Table");
    expect(event?.object.rows[0].cells[0]).toBe("a");
    expect(event?.object.columnDefinitions.map((c: { name: string }) => c.name)).toEqual([
      "Name",
      "Data",
      "Age",
    ]);
    await t.close();
  });
});
