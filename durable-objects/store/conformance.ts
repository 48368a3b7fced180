/**
 * The one conformance suite every Store implementation runs (hono's
 * runTest pattern): `runStoreConformance("memory", makeHarness)`.
 *
 * Each test works under its own resource prefix (so on the Durable Object it
 * gets a fresh shard) and never sleeps: it waits on watch messages with a
 * bounded deadline, and moves lease time through the harness clock.
 */
import { describe } from "vitest";
import type { StoreHarness } from "./conformance/helpers.ts";
import { historyCases } from "./conformance/history.ts";
import { kvCases } from "./conformance/kv.ts";
import { shardedCases } from "./conformance/sharded.ts";

export { collectUntil } from "./conformance/helpers.ts";

/** Runs the shared Store conformance suite against `make()`. */
export function runStoreConformance(name: string, make: () => Promise<StoreHarness>): void {
  // Bounded generously: the suite shares two cores with every other test run.
  describe(`${name}: store conformance`, { timeout: 30_000 }, () => {
    kvCases(make);
    historyCases(make);
  });
  // The second parameterisation (issue 20): a resource split over 4 sub-shards of the same store.
  describe(`${name}: store conformance, pods on 4 sub-shards`, { timeout: 30_000 }, () => {
    shardedCases(make);
  });
}
