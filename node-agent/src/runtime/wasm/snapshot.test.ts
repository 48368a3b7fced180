/**
 * The preview1 runner's startup snapshot (snapshot.ts), outside any sandbox:
 * built once per runner and flags (a second call reuses the blob), it runs a
 * module to completion with CRI log lines as the script does, and node
 * refuses it under other V8 flags (why the flags are part of its name).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, expect, it } from "vitest";
import { runnerSnapshot } from "./snapshot.ts";

const here = dirname(fileURLToPath(import.meta.url));
const dir = mkdtempSync(join(tmpdir(), "runner-snapshot-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

it("is built once, runs a module as runner.cjs does, and loads only under the flags it was built with", async () => {
  const flags = ["--no-warnings", "--max-semi-space-size=1"];
  const blob = await runnerSnapshot(join(here, "runner.cjs"), join(dir, "snapshots"), flags);
  const built = statSync(blob).mtimeMs;
  expect(await runnerSnapshot(join(here, "runner.cjs"), join(dir, "snapshots"), flags)).toBe(blob);
  expect(statSync(blob).mtimeMs).toBe(built);

  const container = join(dir, "container");
  mkdirSync(container);
  const logPath = join(dir, "hello.log");
  writeFileSync(
    join(container, "config.json"),
    JSON.stringify({
      name: "hello",
      kind: "module",
      modulePath: join(here, "../../../../wasm/hello.wasm"),
      args: [],
      env: {},
      preopens: {},
      logPath,
    }),
  );
  const run = (nodeFlags: string[]) =>
    spawnSync(process.execPath, [...nodeFlags, "--snapshot-blob", blob, container], {
      encoding: "utf8",
      env: { PATH: process.env.PATH },
      timeout: 30_000,
    });
  const ran = run(flags);
  expect(ran.status).toBe(0);
  expect(readFileSync(logPath, "utf8")).toMatch(
    /^\S+Z stdout F hello from edgeplane wasm\n\S+Z stderr F done\n$/,
  );
  const refused = run(["--no-warnings"]);
  expect(refused.status).not.toBe(0);
  expect(refused.stderr).toMatch(/different V8 configurations/);
});
