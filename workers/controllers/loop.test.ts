import { describe, expect, it } from "vitest";
import { R } from "../client/resources.ts";
import { FakeClient } from "../reconcile/testing/fake-client.ts";
import { type Controller, defaultConfig } from "../reconcile/types.ts";
import { runPass, watchersOf } from "./loop.ts";

const pass = (client: FakeClient, controllers: Controller[], log: string[] = []) =>
  runPass({
    controllers,
    client,
    now: () => new Date("2026-01-01T00:00:00Z"),
    config: defaultConfig,
    recorder: () => client.recorder,
    log: (m) => log.push(m),
  });

describe("controller pass", () => {
  it("isolates failures per key and per controller, and reports writes and requeues", async () => {
    const client = new FakeClient();
    const seen: string[] = [];
    const broken: Controller = {
      name: "broken",
      watches: [],
      keys: async () => {
        throw new Error("list failed");
      },
      reconcile: async () => undefined,
    };
    const flaky: Controller = {
      name: "flaky",
      watches: ["/pods"],
      keys: async () => ["a", "b", "c"],
      reconcile: async (key, deps) => {
        seen.push(key);
        if (key === "b") throw new Error("boom");
        if (key === "c") {
          await deps.client.create(R.configmaps, "default", { metadata: { name: "made" } });
          return { requeueAfterMs: 5000 };
        }
        return undefined;
      },
    };
    const log: string[] = [];
    const report = await pass(client, [broken, flaky], log);
    expect(seen).toEqual(["a", "b", "c"]);
    expect([...report.failed.keys()]).toEqual(["broken", "flaky"]);
    expect([...report.wrote]).toEqual(["/configmaps"]);
    expect(report.requeue.get("flaky")).toBe(Date.parse("2026-01-01T00:00:05Z"));
    expect(log).toEqual([
      "controller broken: listing keys failed: list failed",
      "controller flaky: reconcile b failed: boom",
    ]);
  });

  it("lets a later controller in the same pass see an earlier controller's writes", async () => {
    const client = new FakeClient();
    const writer: Controller = {
      name: "writer",
      watches: [],
      keys: async () => ["x"],
      reconcile: async (_k, deps) => {
        await deps.cache.list(R.configmaps);
        await deps.client.create(R.configmaps, "default", { metadata: { name: "new" } });
        return undefined;
      },
    };
    let count = -1;
    const reader: Controller = {
      name: "reader",
      watches: ["/configmaps"],
      keys: async () => ["x"],
      reconcile: async (_k, deps) => {
        count = (await deps.cache.list(R.configmaps)).length;
        return undefined;
      },
    };
    await pass(client, [writer, reader]);
    expect(count).toBe(1);
    expect([...watchersOf([writer, reader], ["/configmaps"])]).toEqual(["reader"]);
  });
});
