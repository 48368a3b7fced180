import { describe, expect, it } from "vitest";
import type { KubeClient, ListOptions, ObjectList } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import { Snapshot } from "./snapshot.ts";
import { FakeClient } from "./testing/fake-client.ts";

/** A FakeClient whose list honours limit/continue, counting calls. */
function paging(total: number) {
  const fake = new FakeClient([
    {
      ref: R.configmaps,
      objects: Array.from({ length: total }, (_, i) => ({
        metadata: { name: `cm-${i}`, namespace: "default" },
      })),
    },
  ]);
  const calls: ListOptions[] = [];
  const client = Object.create(fake) as KubeClient;
  client.list = async (ref, namespace, options = {}) => {
    calls.push(options);
    const all = (await fake.list(ref, namespace)).items;
    const start = options.continue ? Number(options.continue) : 0;
    const end = options.limit ? start + options.limit : all.length;
    const page: ObjectList = { apiVersion: "v1", kind: "List", metadata: {}, items: all.slice(start, end) };
    if (end < all.length) page.metadata.continue = String(end);
    return page as never;
  };
  return { client, calls };
}

describe("pass cache", () => {
  it("pages through a big list once per pass and serves gets from it", async () => {
    const { client, calls } = paging(2500);
    const cache = new Snapshot(client);
    expect(await cache.list(R.configmaps)).toHaveLength(2500);
    expect(await cache.get(R.configmaps, "default", "cm-2499")).toMatchObject({
      metadata: { name: "cm-2499" },
    });
    expect(calls.map((c) => c.continue ?? "")).toEqual(["", "1000", "2000"]);
    cache.invalidate("/configmaps");
    await cache.list(R.configmaps);
    expect(calls).toHaveLength(6);
  });
});
