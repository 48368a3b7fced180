import { runStoreConformance } from "./conformance.ts";
import { MemoryStore } from "./memory.ts";

runStoreConformance("memory", async () => {
  let now = 1_700_000_000_000;
  const store = new MemoryStore({ now: () => now });
  return {
    store,
    advanceClock: async (ms) => {
      now += ms;
    },
    expireLeases: async () => {
      await store.expireLeases();
    },
  };
});
