import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { createDurableStore } from "./client.ts";
import { runStoreConformance } from "./conformance.ts";
import type { StoreObject } from "./object.ts";
import { LEASE_AUTHORITY } from "./rpc.ts";

runStoreConformance("durable object", async () => {
  const authority = env.STORE.get(env.STORE.idFromName(LEASE_AUTHORITY)) as DurableObjectStub<StoreObject>;
  return {
    store: createDurableStore(env.STORE),
    advanceClock: async (ms) => {
      await runInDurableObject(authority, (o: StoreObject) => {
        o.clockOffsetMs += ms;
      });
    },
    expireLeases: async () => {
      await runDurableObjectAlarm(authority);
    },
  };
});
