/**
 * Body limits benchmark (prints figures; not a test). `npm run bench -- limits`
 *
 * 1. The parser in Node: time and peak RSS to refuse each 3 MiB pathological
 *    body with the limits (decode.ts parseBody) and, before, without them
 *    (yaml parseAllDocuments / JSON.parse as decode.ts did), each in a fresh
 *    process capped at 1 GB of heap (a Worker has 128 MB) and 60 s.
 * 2. Through the real Worker (workerd, test/e2e/harness.ts): wall time from
 *    sending each body to the 400 answer.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { startControlPlane } from "../../test/e2e/harness.ts";
import { BODIES } from "./bodies.ts";

const here = dirname(fileURLToPath(import.meta.url));

function measure(name: string, mode: "new" | "old" | "none"): string {
  const r = spawnSync(
    process.execPath,
    ["--max-old-space-size=1024", "--import", "tsx", join(here, "parse-one.ts"), name, mode],
    { encoding: "utf8", timeout: 60_000 },
  );
  if (r.error || r.status !== 0) {
    const why = r.error
      ? "over 60 s"
      : /heap out of memory/i.test(r.stderr)
        ? "out of memory (1 GB heap)"
        : `exit ${r.status}`;
    return why;
  }
  const { ms, maxRssMB, outcome } = JSON.parse(r.stdout.trim().split("\n").pop() ?? "{}");
  return `${ms.toFixed(1).padStart(8)} ms  peak RSS ${maxRssMB.toFixed(0).padStart(5)} MB  ${outcome}`;
}

const baseline = measure(Object.keys(BODIES)[0], "none");
console.log(
  `parser in Node, 3 MiB bodies (a process that builds the body and parses nothing: ${baseline.replace(/ +/g, " ").trim()})`,
);
for (const name of Object.keys(BODIES)) {
  console.log(`  ${name}`);
  console.log(`    with limits:    ${measure(name, "new")}`);
  if (!process.argv.includes("--no-old")) console.log(`    without limits: ${measure(name, "old")}`);
}

console.log("through the real Worker (workerd): POST each body, time to the answer");
const cp = await startControlPlane();
try {
  // Warm up (bundle load, built-in namespaces) so the figures are the refusal alone.
  await (await cp.fetch("/api/v1/namespaces/default/configmaps")).arrayBuffer();
  for (const [name, [text, yaml]] of Object.entries(BODIES)) {
    const start = performance.now();
    const res = await cp.fetch("/api/v1/namespaces/default/configmaps", {
      method: "POST",
      body: text,
      headers: { "Content-Type": yaml ? "application/yaml" : "application/json" },
    });
    const body = (await res.json()) as { reason?: string };
    console.log(
      `  ${name.padEnd(30)} ${res.status} ${body.reason} in ${(performance.now() - start).toFixed(0)} ms`,
    );
  }
} finally {
  await cp.stop();
}
