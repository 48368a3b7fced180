import { env } from "cloudflare:test";
import { expect, it } from "vitest";
import type { StoreObject } from "./object.ts";

it("reaches a store shard in workerd", async () => {
  const stub = env.STORE.get(env.STORE.idFromName("core/pods")) as DurableObjectStub<StoreObject>;
  expect(await stub.ping()).toBe("pong");
});
