/**
 * component-runner.mjs's stdio capture: a component's output (written by
 * preview2-shim with process.stdout/stderr.write on the main thread, and by
 * its I/O worker's console) becomes log writes of the right stream inside
 * the runner's one process. Run in a child node process, since it replaces
 * that process's stdout/stderr.
 */
import { spawnSync } from "node:child_process";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect, it } from "vitest";

const runner = join(dirname(fileURLToPath(import.meta.url)), "component-runner.mjs");

it("routes stdout and stderr writes (strings, bytes, callbacks, a worker thread's console) to the log", () => {
  const script = `
    import { captureStdio } from ${JSON.stringify(runner)};
    import { Worker } from "node:worker_threads";
    import { writeSync } from "node:fs";
    const lines = [];
    const decoder = new TextDecoder();
    captureStdio({ write: (stream, bytes) => lines.push([stream, decoder.decode(bytes)]) });
    process.stdout.write("text\\n");
    process.stderr.write(new Uint8Array([98, 121, 116, 101, 115, 10]));
    await new Promise((resolve) => process.stdout.write("with callback\\n", resolve));
    console.error("console");
    await new Promise((resolve) =>
      new Worker("console.log('from the worker')", { eval: true }).on("exit", resolve),
    );
    // fd 3 is the test's pipe: the captured streams cannot report themselves.
    writeSync(3, JSON.stringify(lines));
  `;
  const child = spawnSync(process.execPath, ["--input-type=module", "-e", script], {
    stdio: ["ignore", "pipe", "pipe", "pipe"],
    encoding: "utf8",
    timeout: 30_000,
  });
  expect(child.status).toBe(0);
  // Nothing reached the real fds 1 and 2.
  expect(child.stdout).toBe("");
  expect(child.stderr).toBe("");
  expect(JSON.parse(child.output[3] as string)).toEqual([
    ["stdout", "text\n"],
    ["stderr", "bytes\n"],
    ["stdout", "with callback\n"],
    ["stderr", "console\n"],
    ["stdout", "from the worker\n"],
  ]);
});
