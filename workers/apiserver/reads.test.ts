import { describe, expect, it } from "vitest";
import { testServer } from "./testing/fixture.ts";

const TABLE = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json";

async function seed(server: ReturnType<typeof testServer>, n: number) {
  for (let i = 0; i < n; i++)
    await server.call("POST", "/apis/example.com/v1/namespaces/default/widgets", {
      metadata: { name: `w${i}`, labels: { idx: String(i), even: i % 2 === 0 ? "yes" : "no" } },
      spec: { color: i % 2 ? "red" : "blue", replicas: i, nodeName: i === 3 ? "node-a" : undefined },
    });
}

describe("lists", () => {
  it("paginates with limit/continue at one revision", async () => {
    const server = testServer();
    await seed(server, 5);
    const first = await server.call("GET", "/apis/example.com/v1/namespaces/default/widgets?limit=2");
    const meta = first.body.metadata as {
      continue: string;
      remainingItemCount: number;
      resourceVersion: string;
    };
    expect((first.body.items as unknown[]).length).toBe(2);
    expect(meta.remainingItemCount).toBe(3);
    // A write after the first page does not show up in later pages (consistent snapshot).
    await server.call("POST", "/apis/example.com/v1/namespaces/default/widgets", {
      metadata: { name: "w9" },
      spec: { color: "x" },
    });
    const names: string[] = (first.body.items as { metadata: { name: string } }[]).map(
      (i) => i.metadata.name,
    );
    let token: string | undefined = meta.continue;
    while (token) {
      const page = await server.call(
        "GET",
        `/apis/example.com/v1/namespaces/default/widgets?limit=2&continue=${encodeURIComponent(token)}`,
      );
      expect((page.body.metadata as { resourceVersion: string }).resourceVersion).toBe(meta.resourceVersion);
      names.push(...(page.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name));
      token = (page.body.metadata as { continue?: string }).continue;
    }
    expect(names).toEqual(["w0", "w1", "w2", "w3", "w4"]);
    const bad = await server.call("GET", "/apis/example.com/v1/namespaces/default/widgets?continue=garbage");
    expect(bad.status).toBe(400);
  });

  it("answers an expired continue token with 410 Expired", async () => {
    const server = testServer();
    await seed(server, 3);
    const first = await server.call("GET", "/apis/example.com/v1/namespaces/default/widgets?limit=1");
    await seed(server, 0);
    await server.call("POST", "/apis/example.com/v1/namespaces/default/widgets", {
      metadata: { name: "late" },
      spec: { color: "x" },
    });
    const { current } = await server.store.revisions();
    await server.store.compact(current);
    const token = (first.body.metadata as { continue: string }).continue;
    const next = await server.call(
      "GET",
      `/apis/example.com/v1/namespaces/default/widgets?limit=1&continue=${encodeURIComponent(token)}`,
    );
    expect(next.status).toBe(410);
    expect(next.body.reason).toBe("Expired");
  });

  it("filters by label selectors (all operators) and field selectors", async () => {
    const server = testServer();
    await seed(server, 5);
    const names = async (query: string) => {
      const r = await server.call("GET", `/apis/example.com/v1/widgets?${query}`);
      expect(r.status, JSON.stringify(r.body)).toBe(200);
      return (r.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);
    };
    const q = (s: string) => encodeURIComponent(s);
    expect(await names(`labelSelector=${q("even=yes")}`)).toEqual(["w0", "w2", "w4"]);
    expect(await names(`labelSelector=${q("even==no")}`)).toEqual(["w1", "w3"]);
    expect(await names(`labelSelector=${q("idx!=0,even=yes")}`)).toEqual(["w2", "w4"]);
    expect(await names(`labelSelector=${q("idx in (1, 2)")}`)).toEqual(["w1", "w2"]);
    expect(await names(`labelSelector=${q("idx notin (1,2),even")}`)).toEqual(["w0", "w3", "w4"]);
    expect(await names(`labelSelector=${q("!even")}`)).toEqual([]);
    expect(await names(`fieldSelector=${q("metadata.name=w3")}`)).toEqual(["w3"]);
    expect(await names(`fieldSelector=${q("metadata.namespace==default,metadata.name!=w0")}`)).toHaveLength(
      4,
    );
    expect(await names(`fieldSelector=${q("spec.nodeName=node-a")}`)).toEqual(["w3"]);
    const bad = await server.call("GET", `/apis/example.com/v1/widgets?fieldSelector=${q("spec.color=red")}`);
    expect(bad.status).toBe(400);
    expect(bad.body.message).toContain("field label not supported: spec.color");
    expect(
      (await server.call("GET", `/apis/example.com/v1/widgets?labelSelector=${q("a b c")}`)).status,
    ).toBe(400);
  });

  it("serves Tables with NAME first, AGE last, wide columns and PartialObjectMetadata rows", async () => {
    const server = testServer();
    await seed(server, 2);
    server.clock.now = new Date("2026-01-01T00:05:00Z");
    const table = await server.call("GET", "/apis/example.com/v1/namespaces/default/widgets", undefined, {
      Accept: TABLE,
    });
    expect(table.body.kind).toBe("Table");
    const cols = table.body.columnDefinitions as { name: string; priority: number }[];
    expect(cols.map((c) => `${c.name}:${c.priority}`)).toEqual(["Name:0", "Replicas:0", "Color:1", "Age:0"]);
    const rows = table.body.rows as {
      cells: unknown[];
      object: { kind: string; metadata: { namespace: string; labels: object } };
    }[];
    expect(rows[1].cells).toEqual(["w1", 1, "red", "5m"]);
    expect(rows[1].object.kind).toBe("PartialObjectMetadata");
    expect(rows[1].object.metadata.namespace).toBe("default");
    const one = await server.call("GET", "/apis/example.com/v1/namespaces/default/widgets/w0", undefined, {
      Accept: TABLE,
    });
    expect((one.body.rows as unknown[]).length).toBe(1);
  });

  it("reads at an exact past resourceVersion", async () => {
    const server = testServer();
    const a = await server.call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "a" } });
    await server.call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "b" } });
    const rv = a.body.metadata!.resourceVersion;
    const past = await server.call(
      "GET",
      `/api/v1/namespaces/default/configmaps?resourceVersion=${rv}&resourceVersionMatch=Exact`,
    );
    expect((past.body.items as unknown[]).length).toBe(1);
    expect((past.body.metadata as { resourceVersion: string }).resourceVersion).toBe(rv);
    const bad = await server.call("GET", "/api/v1/namespaces/default/configmaps?resourceVersionMatch=Exact");
    expect(bad.status).toBe(400);
  });
});

describe("discovery", () => {
  it("serves /api, /apis, resource lists with subresources, /version and health without auth", async () => {
    const server = testServer();
    const api = await server.call("GET", "/api");
    expect(api.body).toMatchObject({ kind: "APIVersions", versions: ["v1"] });
    const apis = await server.call("GET", "/apis", undefined, {
      Accept: "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json",
    });
    expect(apis.headers.get("Content-Type")).toContain("application/json");
    expect(apis.headers.get("Content-Type")).not.toContain("apidiscovery");
    expect(apis.body).toMatchObject({
      kind: "APIGroupList",
      groups: [{ name: "example.com", preferredVersion: { version: "v1" } }],
    });
    const list = await server.call("GET", "/apis/example.com/v1");
    const resources = list.body.resources as {
      name: string;
      kind: string;
      verbs: string[];
      shortNames?: string[];
      group?: string;
    }[];
    expect(resources.map((r) => r.name)).toEqual(["widgets", "widgets/status", "widgets/scale"]);
    expect(resources[0]).toMatchObject({
      kind: "Widget",
      shortNames: ["wd"],
      categories: ["all"],
      namespaced: true,
    });
    expect(resources[2]).toMatchObject({ kind: "Scale", group: "autoscaling", version: "v1" });
    expect((await server.app.request("http://test/version")).status).toBe(200);
    expect((await server.app.request("http://test/healthz")).status).toBe(200);
    const v2 = await server.call("GET", "/openapi/v2");
    expect(v2.headers.get("Content-Type")).toBe("application/octet-stream");
    expect(v2.text).toBe("");
    expect((await server.call("GET", "/apis/nope.io/v1")).status).toBe(404);
  });
});
