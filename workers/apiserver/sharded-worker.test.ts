/**
 * The Worker's API server with STORE_SHARDS="core/pods=4" (apiServerForEnv
 * over the real Durable Object store in workerd): pods land in four store
 * objects, and list paging, watch and status writes work across them.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDurableStore } from "../../durable-objects/store/client.ts";
import type { KubeObject } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import { inProcessClient } from "./index.ts";

const pod = (name: string) => ({
  metadata: { name },
  spec: { containers: [{ name: "c", image: "busybox:1.36" }] },
});

describe("apiServerForEnv with pods on 4 store objects", () => {
  it("spreads pods over four objects; pages, watches and status writes span them", async () => {
    const sharded = { ...env, STORE_SHARDS: "core/pods=4" };
    const client = inProcessClient(sharded, undefined);
    const ns = `shard${Math.random().toString(36).slice(2, 8)}`;
    await client.create(R.namespaces, undefined, { metadata: { name: ns } });
    const names = Array.from({ length: 16 }, (_, i) => `p${String(i).padStart(2, "0")}`);
    for (const name of names) await client.create(R.pods, ns, pod(name));

    // Each of the four objects holds some of them (counted in the store, under the physical prefixes).
    const store = createDurableStore(env.STORE);
    const counts = await Promise.all(
      [0, 1, 2, 3].map(async (i) => (await store.count(`/registry/core/pods#${i}/${ns}/`)).count),
    );
    expect(counts.every((c) => c > 0)).toBe(true);
    expect(counts.reduce((a, b) => a + b, 0)).toBe(names.length);

    // limit=5 paging returns every pod once, in name order, at one vector.
    const seen: string[] = [];
    let token: string | undefined;
    let rv: string | undefined;
    do {
      const page = await client.list(R.pods, ns, { limit: 5, continue: token });
      rv ??= page.metadata.resourceVersion;
      expect(page.metadata.resourceVersion).toBe(rv);
      seen.push(...page.items.map((p) => p.metadata?.name ?? ""));
      token = page.metadata.continue || undefined;
    } while (token);
    expect(seen).toEqual(names);
    expect(rv).toMatch(/^\d+(\.\d+){3}$/);

    // A status write per pod (as kubelets do), seen by a watch from the list's vector.
    const abort = new AbortController();
    const events: KubeObject[] = [];
    const watching = (async () => {
      for await (const e of client.watch(R.pods, ns, { resourceVersion: rv, signal: abort.signal })) {
        if (e.type === "ERROR") throw new Error(JSON.stringify(e.object));
        events.push(e.object);
        if (events.length === names.length) abort.abort();
      }
    })();
    for (const name of names)
      await client.patch(
        R.pods,
        ns,
        name,
        "merge",
        { status: { phase: "Running" } },
        { subresource: "status" },
      );
    await watching.catch((e) => {
      if (!abort.signal.aborted) throw e;
    });
    expect(events.map((p) => p.metadata?.name).sort()).toEqual(names);
    expect(events.every((p) => (p.status as { phase?: string }).phase === "Running")).toBe(true);
  });
});
