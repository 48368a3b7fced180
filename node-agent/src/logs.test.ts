import { appendFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FakeClock, realClock } from "./clock.ts";
import { parseLogQuery, streamLogs } from "./logs.ts";

let podDir: string;
const clock = new FakeClock(Date.parse("2026-01-01T00:01:00Z"));

function logDir(container = "main") {
  const dir = join(podDir, "logs", container);
  mkdirSync(dir, { recursive: true });
  return dir;
}

async function read(query: string, container = "main"): Promise<string> {
  let out = "";
  await streamLogs({
    podDir,
    pod: "p",
    container,
    query: parseLogQuery(new URLSearchParams(query)),
    write: (chunk) => {
      out += chunk;
    },
    running: async () => false,
    clock,
  });
  return out;
}

beforeEach(() => {
  podDir = mkdtempSync(join(tmpdir(), "logs-"));
  writeFileSync(
    join(logDir(), "0.log"),
    [
      "2026-01-01T00:00:00.000000001Z stdout F first",
      "2026-01-01T00:00:30.000000000Z stderr P par",
      "2026-01-01T00:00:30.100000000Z stderr F tial",
      "2026-01-01T00:00:50.000000000Z stdout F last",
      "",
    ].join("\n"),
  );
});

afterEach(() => rmSync(podDir, { recursive: true, force: true }));

describe("kubectl logs from CRI files", () => {
  it("joins partial lines and honours tailLines, sinceSeconds, timestamps and limitBytes", async () => {
    expect(await read("")).toBe("first\npartial\nlast\n");
    expect(await read("tailLines=2")).toBe("partial\nlast\n");
    expect(await read("tailLines=0")).toBe("");
    expect(await read("sinceSeconds=20")).toBe("last\n");
    expect(await read("sinceTime=2026-01-01T00:00:30Z&timestamps=true")).toBe(
      "2026-01-01T00:00:30.100000000Z partial\n2026-01-01T00:00:50.000000000Z last\n",
    );
    expect(await read("limitBytes=8")).toBe("first\npa");
  });

  it("decodes its bools as kube does: True and 1 are true, False and 0 are false", () => {
    expect(parseLogQuery(new URLSearchParams("follow=True&previous=1&timestamps=t"))).toMatchObject({
      follow: true,
      previous: true,
      timestamps: true,
    });
    expect(parseLogQuery(new URLSearchParams("follow=False&previous=0"))).toMatchObject({
      follow: false,
      previous: false,
      timestamps: false,
    });
  });

  it("reads the rotated file first, and --previous picks the instance before the current one", async () => {
    writeFileSync(join(logDir(), "1.log.1"), "2026-01-01T00:00:51.000000000Z stdout F rotated\n");
    writeFileSync(join(logDir(), "1.log"), "2026-01-01T00:00:52.000000000Z stdout F current\n");
    expect(await read("")).toBe("rotated\ncurrent\n");
    expect(await read("previous=true")).toBe("first\npartial\nlast\n");
  });

  it("fails with BadRequest for a container that never started or has no previous instance", async () => {
    await expect(read("", "other")).rejects.toMatchObject({ reason: "BadRequest", code: 400 });
    await expect(read("previous=true")).rejects.toMatchObject({
      reason: "BadRequest",
      message: 'previous terminated container "main" in pod "p" not found',
    });
  });

  it("follows new lines until the container stops", async () => {
    const file = join(logDir(), "0.log");
    let running = true;
    let out = "";
    let resolveSeen: () => void = () => {};
    const seenLast = new Promise<void>((r) => {
      resolveSeen = r;
    });
    const done = streamLogs({
      podDir,
      pod: "p",
      container: "main",
      query: parseLogQuery(new URLSearchParams("follow=true&tailLines=1")),
      write: (chunk) => {
        out += chunk;
        if (out.includes("more")) resolveSeen();
      },
      running: async () => running,
      clock: realClock,
    });
    appendFileSync(file, "2026-01-01T00:00:55.000000000Z stdout F more\n");
    await seenLast;
    running = false;
    await done;
    expect(out).toBe("last\nmore\n");
  });
});
