/**
 * The edge deploy builds: `wrangler deploy --dry-run` bundles the Worker
 * exactly as `wrangler deploy` would upload it, with every binding from
 * wrangler.toml. Prints the bundle size (Workers refuse scripts over 3 MB
 * gzipped on the free plan, 10 MB on paid ones).
 */
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gzipSync } from "node:zlib";
import { afterAll, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "..");
let outdir: string | undefined;

afterAll(async () => {
  if (outdir) await rm(outdir, { recursive: true, force: true });
});

it("wrangler deploy --dry-run bundles the Worker with all its bindings, well under the size limit", async () => {
  outdir = await mkdtemp(join(tmpdir(), "edgeplane-deploy-"));
  const { code, output } = await new Promise<{ code: number; output: string }>((res) =>
    execFile(
      join(ROOT, "node_modules/.bin/wrangler"),
      ["deploy", "--dry-run", "--outdir", outdir!],
      { cwd: ROOT, env: { ...process.env, WRANGLER_SEND_METRICS: "false", CI: "true" }, timeout: 120_000 },
      (error, stdout, stderr) => res({ code: error ? 1 : 0, output: stdout + stderr }),
    ),
  );
  expect(output).toMatch(/--dry-run: exiting now/);
  expect(code).toBe(0);
  for (const binding of ["env.STORE", "env.TUNNEL", "env.CONTROLLERS", "env.REGISTRY"]) {
    expect(output).toContain(binding);
  }
  const bundle = await readFile(join(outdir, "index.js"));
  const gzipped = gzipSync(bundle).byteLength;
  console.log(
    `deploy bundle: ${(bundle.byteLength / 1024).toFixed(1)} KiB, ${(gzipped / 1024).toFixed(1)} KiB gzipped ` +
      `(limit 3072 KiB gzipped on the free plan)`,
  );
  // Every Durable Object class wrangler.toml binds must be exported by the bundle.
  const toml = await readFile(join(ROOT, "wrangler.toml"), "utf8");
  const classes = [...toml.matchAll(/class_name\s*=\s*"(\w+)"/g)].map((m) => m[1]);
  expect(classes.length).toBeGreaterThan(0);
  const exportsLine =
    bundle
      .toString("utf8")
      .match(/export\s*\{[^}]*\}/g)
      ?.join(" ") ?? "";
  for (const cls of classes) expect(exportsLine).toMatch(new RegExp(`\\b${cls}\\b`));
  expect(gzipped).toBeLessThan(3 * 1024 * 1024);
}, 180_000);
