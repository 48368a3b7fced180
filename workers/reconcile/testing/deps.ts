/** Test deps for a reconcile: the fake client, a fresh pass cache, a fixed clock. */
import { Expectations } from "../expectations.ts";
import { Snapshot } from "../snapshot.ts";
import { type ControllerConfig, type Deps, defaultConfig } from "../types.ts";
import type { FakeClient } from "./fake-client.ts";

/** Deps over a FakeClient; call again for a new pass (fresh cache and expectations). */
export function testDeps(
  client: FakeClient,
  now = new Date("2026-01-01T00:00:00Z"),
  config: Partial<ControllerConfig> = {},
): Deps {
  return {
    client,
    cache: new Snapshot(client),
    now: () => now,
    recorder: client.recorder,
    config: { ...defaultConfig, bindConcurrency: 1, writeConcurrency: 1, ...config },
    expectations: new Expectations(() => now.getTime()),
  };
}
