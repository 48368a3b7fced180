import { describe, expect, it } from "vitest";
import { parseShardMap } from "../../durable-objects/store/sharded.ts";
import { TEST_TOKEN, testServer } from "./testing/fixture.ts";

/** ConfigMaps split over 4 store sub-shards, whatever the project's STORE_SHARDS says. */
const sharded = () => testServer({ shards: parseShardMap("core/configmaps=4") });
type Server = ReturnType<typeof sharded>;
const CM = "/api/v1/namespaces/default/configmaps";
const NAMES = Array.from({ length: 12 }, (_, i) => `c${String(i).padStart(2, "0")}`);

/** A watch read line by line (each read bounded by the stream, never by a sleep). */
async function openWatch(server: Server, query: string) {
  const response = await server.app.request(`http://test${CM}?watch=true&${query}`, {
    headers: { Authorization: `Bearer ${TEST_TOKEN}` },
  });
  const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  // biome-ignore lint/suspicious/noExplicitAny: event objects are read loosely in assertions
  const next = async (): Promise<{ type: string; object: Record<string, any> }> => {
    for (;;) {
      const nl = buffer.indexOf("\n");
      if (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim()) return JSON.parse(line);
        continue;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error("watch ended");
      buffer += value;
    }
  };
  return { next, close: () => reader.cancel() };
}

async function seeded() {
  const server = sharded();
  for (const name of NAMES) await server.call("POST", CM, { metadata: { name }, data: { v: "1" } });
  return server;
}

describe("a resource on 4 store sub-shards through the API", () => {
  it("spreads objects over the sub-shards; lists carry a vector resourceVersion, objects their sub-shard", async () => {
    const server = await seeded();
    const { kvs } = await server.store.listAt("/registry/core/configmaps/default/");
    expect(new Set(kvs.map((kv) => kv.key.split("/")[3])).size).toBe(4);
    const list = await server.call("GET", CM);
    expect(list.body.metadata).toMatchObject({ resourceVersion: expect.stringMatching(/^\d+(\.\d+){3}$/) });
    const items = list.body.items as { metadata: { name: string; resourceVersion: string } }[];
    expect(items.map((i) => i.metadata.name)).toEqual(NAMES);
    for (const item of items) expect(item.metadata.resourceVersion).toMatch(/^\d+(\.\d+){3}@[0-3]$/);
  });

  it("pages with limit/continue at one vector while objects on every sub-shard change", async () => {
    const server = await seeded();
    const first = await server.call("GET", `${CM}?limit=5`);
    const meta = first.body.metadata as {
      continue: string;
      remainingItemCount: number;
      resourceVersion: string;
    };
    expect(meta.remainingItemCount).toBe(7);
    for (const name of NAMES)
      await server.call(
        "PATCH",
        `${CM}/${name}`,
        { data: { v: "2" } },
        {
          "Content-Type": "application/merge-patch+json",
        },
      );
    const names: string[] = (first.body.items as { metadata: { name: string } }[]).map(
      (i) => i.metadata.name,
    );
    let token: string | undefined = meta.continue;
    while (token) {
      const page = await server.call("GET", `${CM}?limit=5&continue=${encodeURIComponent(token)}`);
      expect((page.body.metadata as { resourceVersion: string }).resourceVersion).toBe(meta.resourceVersion);
      for (const item of page.body.items as { metadata: { name: string }; data: { v: string } }[]) {
        names.push(item.metadata.name);
        expect(item.data.v).toBe("1");
      }
      token = (page.body.metadata as { continue?: string }).continue;
    }
    expect(names).toEqual(NAMES);
  });

  it("watches from a list's vector and resumes from an event's version with nothing missed", async () => {
    const server = await seeded();
    const list = await server.call("GET", CM);
    const rv = (list.body.metadata as { resourceVersion: string }).resourceVersion;
    const w = await openWatch(server, `resourceVersion=${rv}`);
    for (const name of NAMES.slice(0, 6))
      await server.call(
        "PATCH",
        `${CM}/${name}`,
        { data: { v: "2" } },
        {
          "Content-Type": "application/merge-patch+json",
        },
      );
    const events = [];
    for (let i = 0; i < 6; i++) events.push(await w.next());
    await w.close();
    expect(events.map((e) => e.object.metadata.name).sort()).toEqual(NAMES.slice(0, 6));
    // Resume from the third event's version: exactly the other three, then the next change.
    const third = events[2].object.metadata.resourceVersion as string;
    expect(third).toMatch(/^\d+(\.\d+){3}@[0-3]$/);
    const resumed = await openWatch(server, `resourceVersion=${third}`);
    const rest = [await resumed.next(), await resumed.next(), await resumed.next()];
    expect(rest.map((e) => e.object.metadata.name).sort()).toEqual(
      events
        .slice(3)
        .map((e) => e.object.metadata.name)
        .sort(),
    );
    await server.call("DELETE", `${CM}/c11`);
    expect(await resumed.next()).toMatchObject({ type: "DELETED", object: { metadata: { name: "c11" } } });
    await resumed.close();
  });

  it("takes a precondition from any read of the object, refuses a stale one, and 410s a version of another sharding", async () => {
    const server = await seeded();
    const got = await server.call("GET", `${CM}/c03`);
    const fromGet = got.body.metadata!.resourceVersion as string;
    const list = await server.call("GET", CM);
    const item = (list.body.items as { metadata: { name: string; resourceVersion: string } }[]).find(
      (i) => i.metadata.name === "c03",
    )!;
    // The same state read twice may carry different floors for the other sub-shards: still the same version.
    const put = await server.call("PUT", `${CM}/c03`, {
      metadata: { name: "c03", resourceVersion: item.metadata.resourceVersion },
      data: { v: "put" },
    });
    expect(put.status).toBe(200);
    const stale = await server.call("PUT", `${CM}/c03`, {
      metadata: { name: "c03", resourceVersion: fromGet },
      data: { v: "stale" },
    });
    expect(stale.status).toBe(409);
    const old = await server.call("GET", `${CM}?resourceVersion=5&resourceVersionMatch=Exact`);
    expect(old.status).toBe(410);
    const w = await openWatch(server, "resourceVersion=5");
    expect(await w.next()).toMatchObject({ type: "ERROR", object: { code: 410 } });
    await w.close();
  });

  it("answers a crafted resourceVersion with 400 BadRequest on list, watch, get and update, and changes nothing", async () => {
    const server = await seeded();
    const before = await server.store.listAt("/registry/core/configmaps/");
    for (const rv of ["1.2.x", "1.2.3.4@9", "-1", "1..2", "1@", `${"9".repeat(16)}`, "1.2.3.4@1@2"]) {
      const q = encodeURIComponent(rv);
      for (const path of [
        `${CM}?resourceVersion=${q}`,
        `${CM}?watch=true&resourceVersion=${q}`,
        `${CM}/c01?resourceVersion=${q}`,
      ]) {
        const got = await server.call("GET", path);
        expect(got.status, `${path}`).toBe(400);
        expect(got.body).toMatchObject({ kind: "Status", reason: "BadRequest", code: 400 });
      }
      const put = await server.call("PUT", `${CM}/c01`, {
        metadata: { name: "c01", resourceVersion: rv },
        data: { v: "crafted" },
      });
      // A precondition that matches no stored version: refused (409 Conflict here), never written.
      expect(put.status, rv).toBe(409);
      expect(put.body).toMatchObject({ kind: "Status", reason: "Conflict" });
    }
    const after = await server.store.listAt("/registry/core/configmaps/");
    expect(after.kvs.map((kv) => [kv.key, kv.modRevision])).toEqual(
      before.kvs.map((kv) => [kv.key, kv.modRevision]),
    );
  });
});
