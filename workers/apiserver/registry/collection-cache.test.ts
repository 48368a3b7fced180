/**
 * The per-isolate collection cache behind admission's reads, through two
 * registries over one store (two isolates): a fresh collection is not listed
 * again, a write through this isolate applies to its next request, another
 * isolate's once the revision check runs. (MemoryStore has one revision for
 * all keys, so its revision check cannot show an unchanged shard.)
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { limitRangerAdmission } from "../admission/limitranger.ts";
import { priorityAdmission } from "../admission/priority.ts";
import { findResource, RESOURCES } from "../kinds/index.ts";
import { CollectionCache } from "./collection-cache.ts";
import { Registry } from "./registry.ts";
import type { RequestContext } from "./types.ts";

const pods = findResource("", "pods")!;
const priorityClasses = findResource("scheduling.k8s.io", "priorityclasses")!;
const limitRanges = findResource("", "limitranges")!;
const ctx: RequestContext = { user: "alice", groups: ["system:masters"], now: new Date(0), dryRun: false };
const write = { manager: "test" };

describe("the collection cache", () => {
  it("lists once while fresh, sees this isolate's writes at once and another isolate's after maxAgeMs", async () => {
    const store = new MemoryStore();
    const clock = { ms: 0 };
    const collections = new CollectionCache({ maxAgeMs: 1000, now: () => clock.ms });
    const admission = [limitRangerAdmission(), priorityAdmission];
    const here = new Registry({
      store,
      resources: RESOURCES,
      now: () => new Date(0),
      admission,
      collections,
    });
    const elsewhere = new Registry({ store, resources: RESOURCES, now: () => new Date(0) });
    let n = 0;
    const createPod = async () => {
      const pod = { metadata: { name: `p${n++}` }, spec: { containers: [{ name: "c", image: "i" }] } };
      const made = await here.create(pods, "default", pod, ctx, write);
      return made.spec as { priorityClassName?: string; containers: { resources?: unknown }[] };
    };
    const defaultClass = (name: string, value: number) => ({
      metadata: { name },
      value,
      globalDefault: true,
    });

    await createPod();
    await createPod();
    expect(collections.loads).toBe(2); // priorityclasses and limitranges, once each

    await here.create(priorityClasses, undefined, defaultClass("local", 5), ctx, write);
    expect((await createPod()).priorityClassName).toBe("local");

    await here.delete(priorityClasses, undefined, "local", ctx);
    expect((await createPod()).priorityClassName).toBeUndefined();
    expect(collections.loads).toBe(4);

    await elsewhere.create(priorityClasses, undefined, defaultClass("remote", 7), ctx, write);
    await elsewhere.create(
      limitRanges,
      "default",
      { metadata: { name: "lr" }, spec: { limits: [{ type: "Container", default: { cpu: "1" } }] } },
      ctx,
      write,
    );
    clock.ms += 999;
    const stale = await createPod();
    expect(stale.priorityClassName).toBeUndefined();
    expect(stale.containers[0].resources).toEqual({});
    clock.ms += 1;
    const fresh = await createPod();
    expect(fresh.priorityClassName).toBe("remote");
    expect(fresh.containers[0].resources).toMatchObject({ limits: { cpu: "1" } });
  });
});
