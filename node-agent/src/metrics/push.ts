/**
 * Pushes samples to the control plane: POST /edgeplane/v1/metrics/<node>
 * with the node's own credentials, every period until stopped. A failed push
 * is logged and the next period tries again (a sample is only ever the latest).
 */

import type { ClientFetch } from "../../../workers/client/kube.ts";
import type { NodeSample } from "../../../workers/client/metrics-sample.ts";
import type { Clock } from "../clock.ts";

/** The endpoint path for a node's samples (workers/metrics/push.ts serves it). */
export function metricsPath(node: string): string {
  return `/edgeplane/v1/metrics/${encodeURIComponent(node)}`;
}

/** What the push loop needs. */
export interface PushOptions {
  server: string;
  node: string;
  token: string;
  fetch: ClientFetch;
  /** Produce this period's sample (undefined: nothing to send yet). */
  sample: () => Promise<NodeSample | undefined>;
  intervalMs: number;
  clock: Clock;
  signal: AbortSignal;
  log: (message: string) => void;
}

/** Send one sample; throws with the server's message on a non-2xx answer. */
export async function pushSample(options: PushOptions, sample: NodeSample): Promise<void> {
  const response = await options.fetch(new URL(metricsPath(options.node), options.server).href, {
    method: "POST",
    headers: { Authorization: `Bearer ${options.token}`, "Content-Type": "application/json" },
    body: JSON.stringify(sample),
  });
  if (!response.ok) {
    const text = await response.text();
    let message = text.slice(0, 200);
    try {
      message = (JSON.parse(text) as { message?: string }).message ?? message;
    } catch {
      // not a Status: keep the text
    }
    throw new Error(`metrics push: ${response.status} ${message}`);
  }
  // Read to the end, not cancelled: the keep-alive connection then serves the next push.
  await response.arrayBuffer();
}

/** Sample and push every intervalMs until the signal aborts. */
export async function pushLoop(options: PushOptions): Promise<void> {
  let failing = false;
  while (!options.signal.aborted) {
    try {
      const sample = await options.sample();
      if (sample) await pushSample(options, sample);
      if (failing) options.log("metrics: push works again");
      failing = false;
    } catch (error) {
      // Log a failure once, not every period.
      if (!failing) options.log(`metrics: ${error instanceof Error ? error.message : String(error)}`);
      failing = true;
    }
    await options.clock.sleep(options.intervalMs, options.signal);
  }
}
