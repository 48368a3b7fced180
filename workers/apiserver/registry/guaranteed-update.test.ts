import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { TxnResult } from "../../../durable-objects/store/types.ts";
import { ApiError } from "../../client/status.ts";
import { findResource } from "../kinds/index.ts";
import { CONFLICT_MESSAGE, MAX_ATTEMPTS } from "./guaranteed-update.ts";
import { Registry } from "./registry.ts";
import type { RequestContext } from "./types.ts";

const info = findResource("", "configmaps")!;
const ctx: RequestContext = {
  user: "system:admin",
  groups: ["system:masters"],
  now: new Date(0),
  dryRun: false,
};
const key = "/registry/core/configmaps/default/c1";

/**
 * The real MemoryStore, with a second writer that changes the object just
 * before each of the next `races` CAS writes, so the registry's write loses
 * the race and must read again.
 */
class RacingStore extends MemoryStore {
  races = 0;
  casWrites = 0;
  private async race(): Promise<void> {
    this.casWrites++;
    if (this.races <= 0) return;
    this.races--;
    const { kv } = await this.get(key);
    const other = JSON.parse(kv!.value);
    other.data = { ...(other.data ?? {}), racer: String(this.races) };
    await super.update(key, JSON.stringify(other), kv!.modRevision);
  }
  override async update(k: string, value: string, rev: number, lease?: number): Promise<TxnResult> {
    await this.race();
    return super.update(k, value, rev, lease);
  }
  override async delete(k: string, rev?: number): Promise<TxnResult> {
    if (rev !== undefined) await this.race();
    return super.delete(k, rev);
  }
}

async function setup() {
  const store = new RacingStore();
  const registry = new Registry({ store, resources: [info], now: () => new Date(0) });
  await registry.create(info, "default", { metadata: { name: "c1" }, data: { a: "1" } }, ctx, {
    manager: "t",
  });
  return { store, registry };
}

describe("guaranteed update", () => {
  it("re-reads and reapplies an update after a lost race, keeping the other writer's change", async () => {
    const { store, registry } = await setup();
    store.races = 2;
    const updated = await registry.update(
      info,
      "default",
      "c1",
      (cm) => ({ ...cm, data: { ...(cm.data as object), b: "2" } }),
      ctx,
      { manager: "t", target: "main" },
    );
    expect(updated.data).toEqual({ a: "1", racer: "0", b: "2" });
    expect(store.casWrites).toBe(3);
  });

  it("forceRemove retries a lost race and removes the object", async () => {
    const { store, registry } = await setup();
    store.races = 1;
    expect(await registry.forceRemove(info, "default", "c1")).toBe(true);
    expect((await store.get(key)).kv).toBeUndefined();
    expect(await registry.forceRemove(info, "default", "c1")).toBe(false);
  });

  it("rawUpdate that changes nothing writes nothing and keeps the resourceVersion", async () => {
    const { store, registry } = await setup();
    const before = await registry.get(info, "default", "c1");
    const after = await registry.rawUpdate(info, "default", "c1", (cm) => cm);
    expect(after.metadata?.resourceVersion).toBe(before.metadata?.resourceVersion);
    expect(store.casWrites).toBe(0);
  });

  it("gives up after the one retry limit with kube's conflict message, for update, rawUpdate and delete", async () => {
    const { store, registry } = await setup();
    const attempts = [
      () =>
        registry.update(info, "default", "c1", (cm) => ({ ...cm, data: { x: "1" } }), ctx, {
          manager: "t",
          target: "main",
        }),
      () => registry.rawUpdate(info, "default", "c1", (cm) => ({ ...cm, data: { y: "1" } })),
      () => registry.remove(info, "default", "c1", ctx),
    ];
    for (const attempt of attempts) {
      store.races = MAX_ATTEMPTS;
      store.casWrites = 0;
      const error = await attempt().catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe(409);
      expect((error as ApiError).message).toBe(
        `Operation cannot be fulfilled on configmaps "c1": ${CONFLICT_MESSAGE}`,
      );
      expect(store.casWrites).toBe(MAX_ATTEMPTS);
    }
  });

  it("a resourceVersion precondition that a racing write made stale is a conflict, not a retry", async () => {
    const { store, registry } = await setup();
    const current = await registry.get(info, "default", "c1");
    store.races = 1;
    const error = await registry
      .update(info, "default", "c1", (cm) => ({ ...cm, data: { z: "1" } }), ctx, {
        manager: "t",
        target: "main",
        precondition: current.metadata?.resourceVersion,
      })
      .catch((e: unknown) => e);
    expect((error as ApiError).message).toBe(
      `Operation cannot be fulfilled on configmaps "c1": ${CONFLICT_MESSAGE}`,
    );
    expect(store.casWrites).toBe(1);
  });
});
