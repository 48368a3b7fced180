/** Drive controllers against the FakeClient until nothing changes, with a fake kubelet making pods Running/Ready. */
import { R } from "../../client/resources.ts";
import type { Pod } from "../../reconcile/k8s.ts";
import type { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { type Controller, defaultConfig } from "../../reconcile/types.ts";
import { runPass } from "../loop.ts";

/** Mark every pod Running and Ready on node "n1" (what a node agent would report). Returns how many changed. */
export function fakeKubelet(client: FakeClient): number {
  let changed = 0;
  for (const pod of client.all<Pod>(R.pods)) {
    if (pod.status?.phase === "Running") continue;
    pod.spec.nodeName ??= "n1";
    pod.status = {
      phase: "Running",
      conditions: [{ type: "Ready", status: "True", lastTransitionTime: "2026-01-01T00:00:00Z" }],
    };
    client.put(R.pods, pod);
    changed++;
  }
  return changed;
}

/**
 * Alternate controller passes and (optionally) kubelet steps until a pass writes
 * nothing and the kubelet has nothing to do. `observe` runs after every step.
 */
export async function converge(
  client: FakeClient,
  controllers: Controller[],
  opts: { kubelet?: boolean; now?: Date; observe?: () => void; maxSteps?: number } = {},
): Promise<number> {
  const now = opts.now ?? new Date("2026-01-01T00:00:00Z");
  for (let step = 0; step < (opts.maxSteps ?? 100); step++) {
    const report = await runPass({
      controllers,
      client,
      now: () => now,
      config: { ...defaultConfig, writeConcurrency: 1, bindConcurrency: 1 },
      recorder: () => client.recorder,
      log: () => {},
    });
    if (report.failed.size) throw [...report.failed.values()][0];
    opts.observe?.();
    const kubelet = opts.kubelet === false ? 0 : fakeKubelet(client);
    if (kubelet) opts.observe?.();
    const wroteOtherThanEvents = [...report.wrote].some((r) => r !== "/events");
    if (!wroteOtherThanEvents && kubelet === 0) return step;
  }
  throw new Error("controllers did not converge");
}
