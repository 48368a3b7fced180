import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { ApiError } from "../../client/status.ts";
import { Registry } from "../registry/registry.ts";
import type { RequestContext } from "../registry/types.ts";
import { findResource, RESOURCES } from "./index.ts";

const ctx: RequestContext = {
  user: "system:admin",
  groups: ["system:masters"],
  now: new Date(0),
  dryRun: false,
};
const namespaces = findResource("", "namespaces")!;
const configmaps = findResource("", "configmaps")!;

function registry(): Registry {
  return new Registry({
    store: new MemoryStore(),
    resources: RESOURCES,
    now: () => new Date(0),
    admission: RESOURCES.flatMap((info) => info.rest?.admission ?? []),
  });
}

describe("the namespace kind's storage override, through the registry", () => {
  it("a registry delete of a namespace empties it before removing it, whoever calls it", async () => {
    const r = registry();
    await r.create(namespaces, undefined, { metadata: { name: "team" } }, ctx, { manager: "t" });
    await r.create(configmaps, "team", { metadata: { name: "c1" } }, ctx, { manager: "t" });
    // RegistryAccess.delete: what a subresource handler or controller path calls, not the DELETE route.
    await r.delete(namespaces, undefined, "team", ctx);
    expect((await r.list(configmaps, "team")).items).toEqual([]);
    const gone = await r.get(namespaces, undefined, "team").catch((e: unknown) => e);
    expect((gone as ApiError).code).toBe(404);
  });

  it("the built-in namespaces cannot be deleted through the registry either", async () => {
    const r = registry();
    await namespaces.rest?.bootstrap?.(r);
    const error = await r.remove(namespaces, undefined, "default", ctx).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(403);
    expect((await r.get(namespaces, undefined, "default")).metadata?.name).toBe("default");
  });

  it("its admission refuses new content in a terminating namespace", async () => {
    const r = registry();
    await r.create(namespaces, undefined, { metadata: { name: "held" } }, ctx, { manager: "t" });
    await r.create(configmaps, "held", { metadata: { name: "c1", finalizers: ["example.com/hold"] } }, ctx, {
      manager: "t",
    });
    const { deleted } = await r.remove(namespaces, undefined, "held", ctx);
    expect(deleted).toBe(false);
    const error = await r
      .create(configmaps, "held", { metadata: { name: "c2" } }, ctx, { manager: "t" })
      .catch((e: unknown) => e);
    expect((error as ApiError).code).toBe(403);
    expect((error as ApiError).message).toContain("because it is being terminated");
  });
});
