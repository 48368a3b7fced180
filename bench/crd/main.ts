/**
 * Custom resource schema cost (prints figures; not a test). `npm run bench -- crd`
 *
 * The large Prometheus-shaped schema (fixture.ts, ~600 properties) and a
 * ~50 KB object carrying 64 undeclared fields: each sample is one write's
 * schema work as the API server does it (crd/schema.ts): prune, apply
 * defaults, validate. Run in Node, whose V8 is the engine workerd embeds.
 * Goal: p99 ≤ 2 ms.
 */
import { loadavg } from "node:os";
import { compileSchema } from "../../workers/apiserver/crd/schema.ts";
import { percentile } from "../lib/stats.ts";
import { countProperties, LARGE_SCHEMA, largeObject } from "./fixture.ts";

const WARMUP = 300;
const SAMPLES = 3000;

const compileStart = performance.now();
const engine = compileSchema(LARGE_SCHEMA);
const compileMs = performance.now() - compileStart;

const base = largeObject("monitoring.example.com", "big", "default") as unknown as Record<string, unknown>;
const spec = base.spec as { containers: Record<string, unknown>[] };
// Unknown fields to prune, spread over the containers (what a client on a newer schema might send).
spec.containers.forEach((c, i) => {
  c[`unknownA${i}`] = { nested: i };
  c[`unknownB${i}`] = "x";
});
const bytes = JSON.stringify(base).length;

const times: number[] = [];
// CPU time as well: on a shared, loaded machine wall time also counts the moments the process was not running.
const cpu: number[] = [];
let pruned = 0;
let errors = 0;
for (let i = 0; i < WARMUP + SAMPLES; i++) {
  const object = structuredClone(base);
  const cpuStart = process.cpuUsage();
  const start = performance.now();
  pruned = engine.prune(object).length;
  engine.applyDefaults(object);
  errors = engine.validate(object).length;
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpuStart);
  if (i >= WARMUP) {
    times.push(ms);
    cpu.push((used.user + used.system) / 1000);
  }
}
times.sort((a, b) => a - b);
cpu.sort((a, b) => a - b);

console.log(
  `crd schema: ${countProperties()} properties; object ${(bytes / 1024).toFixed(1)} KiB, ${pruned} fields pruned, ${errors} errors`,
);
console.log(`  compile ${compileMs.toFixed(2)} ms (once per CRD change per isolate)`);
console.log(
  `  prune+default+validate over ${SAMPLES} samples, wall: p50 ${percentile(times, 50).toFixed(3)} ms, p99 ${percentile(times, 99).toFixed(3)} ms, max ${times[times.length - 1].toFixed(3)} ms (goal p99 <= 2 ms)`,
);
console.log(
  `  the same, CPU time of the process: p50 ${percentile(cpu, 50).toFixed(3)} ms, p99 ${percentile(cpu, 99).toFixed(3)} ms`,
);
console.log(`  (load average ${loadavg()[0].toFixed(1)} while measuring)`);
