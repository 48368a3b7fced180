import { afterEach, describe, expect, it, vi } from "vitest";
import { objectResourceVersion } from "./registry/keys.ts";
import { testServer } from "./testing/fixture.ts";

const CONFIGMAPS = "/api/v1/namespaces/default/configmaps";

/** A server holding `n` ConfigMaps created through the API. */
async function seeded(n: number) {
  const server = testServer();
  for (let i = 0; i < n; i++)
    await server.call("POST", CONFIGMAPS, {
      metadata: { name: `c${i}`, labels: { i: String(i) } },
      data: { i: `${i}` },
    });
  return server;
}

/** GET through the app with the admin token: the raw response. */
function get(server: ReturnType<typeof testServer>, path: string) {
  return server.app.request(`http://test${path}`, { headers: { Authorization: "Bearer test-token" } });
}

afterEach(() => vi.restoreAllMocks());

describe("list encoding", () => {
  it("sends each item as its stored JSON text: no JSON.parse per item", async () => {
    const server = await seeded(300);
    const parse = vi.spyOn(JSON, "parse");
    const response = await get(server, CONFIGMAPS);
    const text = await response.text();
    const calls = parse.mock.calls.length;
    parse.mockRestore();
    expect(calls).toBeLessThan(10);
    const list = JSON.parse(text);
    expect(list.items).toHaveLength(300);
    // Each item is what a GET of it returns, resourceVersion included.
    for (const name of ["c0", "c150", "c299"]) {
      const one = await server.call("GET", `${CONFIGMAPS}/${name}`);
      expect(list.items.find((i: { metadata: { name: string } }) => i.metadata.name === name)).toEqual(
        one.body,
      );
    }
  });

  it("a long list body read chunk by chunk joins to one JSON list of every item", async () => {
    const server = await seeded(600);
    const response = await get(server, CONFIGMAPS);
    const reader = response.body!.getReader();
    const chunks: Uint8Array[] = [];
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      chunks.push(value);
    }
    expect(chunks.length).toBeGreaterThan(1);
    const text = new TextDecoder().decode(
      chunks.reduce((all, c) => {
        const joined = new Uint8Array(all.length + c.length);
        joined.set(all);
        joined.set(c, all.length);
        return joined;
      }, new Uint8Array()),
    );
    const list = JSON.parse(text);
    expect(list.kind).toBe("ConfigMapList");
    expect(list.items.map((i: { metadata: { name: string } }) => i.metadata.name).sort()).toEqual(
      Array.from({ length: 600 }, (_, i) => `c${i}`).sort(),
    );
  });

  it("serves stored texts of any shape as a GET would (metadata last, nested metadata, resourceVersion inside)", async () => {
    const server = testServer();
    const stored = {
      last: '{"data":{"a":"1"},"spec":{"template":{"metadata":{"name":"inner"}}},"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"last","namespace":"default"}}',
      empty: '{"apiVersion":"v1","kind":"ConfigMap","metadata":{}}',
      rvInside:
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"rvInside","namespace":"default"},"data":{"resourceVersion":"7"}}',
      spaced:
        '{ "apiVersion": "v1", "kind": "ConfigMap", "metadata": { "name": "spaced", "namespace": "default" } }',
      plain:
        '{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"plain","namespace":"default"},"data":{"x":"é \\" \\u2028"}}',
    };
    for (const [name, value] of Object.entries(stored))
      await server.store.create(`/registry/core/configmaps/default/${name}`, value);
    const list = await server.call("GET", CONFIGMAPS);
    const items = list.body.items as { metadata: { resourceVersion: string } }[];
    const { kvs } = await server.store.listAt("/registry/core/configmaps/default/");
    expect(items).toEqual(
      kvs.map((kv) => {
        const object = JSON.parse(kv.value);
        object.metadata.resourceVersion = objectResourceVersion(
          kv.key,
          kv.modRevision,
          server.store.floor(kv.key, kv.modRevision),
        );
        return object;
      }),
    );
    // A selector that has to read the objects picks the same texts.
    const selected = await server.call("GET", `${CONFIGMAPS}?fieldSelector=metadata.name%3Dlast`);
    expect(selected.body.items).toEqual([
      items.find((i) => (i as { metadata: { name?: string } }).metadata.name === "last"),
    ]);
  });

  it("pages with limit/continue and a label selector as before", async () => {
    const server = await seeded(7);
    const names: string[] = [];
    let token = "";
    let rv: string | undefined;
    do {
      const page = await server.call(
        "GET",
        `${CONFIGMAPS}?limit=3${token ? `&continue=${encodeURIComponent(token)}` : ""}`,
      );
      const meta = page.body.metadata as {
        continue?: string;
        resourceVersion: string;
        remainingItemCount?: number;
      };
      rv ??= meta.resourceVersion;
      expect(meta.resourceVersion).toBe(rv);
      if (meta.continue) expect(meta.remainingItemCount).toBe(7 - names.length - 3);
      names.push(...(page.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name));
      token = meta.continue ?? "";
    } while (token);
    expect(names.sort()).toEqual(["c0", "c1", "c2", "c3", "c4", "c5", "c6"]);
    const picked = await server.call("GET", `${CONFIGMAPS}?labelSelector=i%20in%20(2,5)`);
    expect((picked.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual([
      "c2",
      "c5",
    ]);
    const empty = await server.call("GET", `${CONFIGMAPS}?labelSelector=i%3Dnone`);
    expect(empty.body).toMatchObject({ kind: "ConfigMapList", apiVersion: "v1", items: [] });
  });
});
