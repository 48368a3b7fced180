/**
 * Stream benchmarks (issue 14), each against a direct connection to the same
 * pod in the same run: port-forward throughput (portforward.ts) and exec echo
 * round-trip (exec.ts); and the ceiling under port-forward, workerd alone
 * relaying WebSocket to WebSocket over TLS (relay.ts).
 * `npm run bench -- streams`.
 */
import { loadavg } from "node:os";
import { runExecBench } from "./exec.ts";
import { runPortForwardBench } from "./portforward.ts";
import { runRelayBench } from "./relay.ts";

const load = () =>
  loadavg()
    .map((l) => l.toFixed(2))
    .join(" ");
console.log(`streams: load average before ${load()}`);
const relay = await runRelayBench();
const forward = await runPortForwardBench();
if (forward)
  console.log(
    `streams: port-forward ${forward.forwarded.toFixed(1)} MB/s = ${((forward.forwarded / relay) * 100).toFixed(0)}% ` +
      `of workerd's bare relay (${relay.toFixed(1)} MB/s), ${(forward.ratio * 100).toFixed(0)}% of direct (${forward.direct.toFixed(1)} MB/s)`,
  );
await runExecBench();
console.log(`streams: load average after ${load()}`);
