/**
 * Container pod start-up at the runtime level: pods with a pre-pulled
 * busybox image are created at a fixed rate (default 20/s) straight through
 * CriRuntime (RunPodSandbox with CNI + CreateContainer + StartContainer on a
 * private containerd + runc), and the time from each pod's creation to its
 * container running is reported as p50/p90/p99. Prints figures; not a test.
 *
 *   node --import tsx bench/pod-startup/containers.ts [--pods 60] [--rate 20]
 *
 * `runContainerStartupBench` is exported for bench/pod-startup/main.ts.
 */
import { parseArgs } from "node:util";
import {
  criUnavailableReason,
  startCriTestEnv,
  testContainer,
  testSandbox,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { percentile } from "../lib/stats.ts";

/** Latency figures in milliseconds. */
export interface StartupFigures {
  pods: number;
  ratePerSecond: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  failures: number;
}

/** Creates `pods` container pods at `rate` per second and measures creation → Running. */
export async function runContainerStartupBench(pods = 60, rate = 20): Promise<StartupFigures> {
  const env = await startCriTestEnv();
  try {
    await env.runtime.pullImage(env.busybox, { policy: "IfNotPresent" });
    const latencies: number[] = [];
    let failures = 0;
    const t0 = performance.now();
    const runs: Promise<void>[] = [];
    for (let i = 0; i < pods; i++) {
      const createdAt = t0 + (i * 1000) / rate;
      const delay = createdAt - performance.now();
      if (delay > 0) await new Promise((r) => setTimeout(r, delay));
      runs.push(
        (async () => {
          const sb = testSandbox(env, `bench-${i}`);
          const s = await env.runtime.runSandbox(sb);
          const id = await env.runtime.createContainer(
            s.id,
            testContainer(env, sb, "main", { command: ["sleep", "3600"] }),
            sb,
          );
          await env.runtime.startContainer(id);
          await waitFor(
            async () => (await env.runtime.containerStatus(id))?.state === "running",
            30_000,
            "running",
          );
          latencies.push(performance.now() - createdAt);
        })().catch((err) => {
          failures++;
          console.error(`pod ${i}: ${String(err)}`);
        }),
      );
    }
    await Promise.all(runs);
    latencies.sort((a, b) => a - b);
    const round = (n: number) => Math.round(n);
    return {
      pods,
      ratePerSecond: rate,
      p50: round(percentile(latencies, 50)),
      p90: round(percentile(latencies, 90)),
      p99: round(percentile(latencies, 99)),
      max: round(latencies[latencies.length - 1] ?? Number.NaN),
      failures,
    };
  } finally {
    await env.stop();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const unavailable = criUnavailableReason();
  if (unavailable) {
    console.log(`containers bench skipped: ${unavailable}`);
  } else {
    const { values } = parseArgs({
      options: { pods: { type: "string", default: "60" }, rate: { type: "string", default: "20" } },
    });
    const f = await runContainerStartupBench(Number(values.pods), Number(values.rate));
    console.log(
      `container pods (CRI runtime level, pre-pulled image): ${f.pods} pods at ${f.ratePerSecond}/s → ` +
        `creation→Running p50 ${f.p50} ms, p90 ${f.p90} ms, p99 ${f.p99} ms, max ${f.max} ms, failures ${f.failures}`,
    );
  }
}
