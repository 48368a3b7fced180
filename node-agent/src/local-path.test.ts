import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import { FakeClient } from "../../workers/reconcile/testing/fake-client.ts";
import { cleanVolumes } from "./local-path.ts";

let root = "";
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe("local-path cleanup", () => {
  it("removes the volumes the Node lists, never follows a planted link or a path-like name, and clears the list", async () => {
    root = mkdtempSync(join(tmpdir(), "local-path-"));
    const dir = join(root, "storage");
    const outside = join(root, "outside");
    mkdirSync(outside);
    writeFileSync(join(outside, "keep"), "x");
    for (const v of ["pvc-a", "pvc-b", "pvc-c"]) mkdirSync(join(dir, v), { recursive: true });
    writeFileSync(join(dir, "pvc-a", "data"), "x");
    symlinkSync(outside, join(dir, "pvc-a", "link"));
    const client = new FakeClient([
      {
        ref: R.nodes,
        objects: [
          {
            metadata: {
              name: "n1",
              annotations: { "edgeplane.dev/local-path-cleanup": "pvc-a,pvc-b,../outside" },
            },
          },
        ],
      },
    ]);
    expect(await cleanVolumes(client, "n1", dir)).toEqual(["pvc-a", "pvc-b"]);
    expect([
      existsSync(join(dir, "pvc-a")),
      existsSync(join(dir, "pvc-b")),
      existsSync(join(dir, "pvc-c")),
    ]).toEqual([false, false, true]);
    expect(existsSync(join(outside, "keep"))).toBe(true);
    expect(client.all(R.nodes)[0].metadata?.annotations?.["edgeplane.dev/local-path-cleanup"]).toBe("");
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.name}`)).toEqual(["update nodes n1"]);
    // Nothing asked: nothing written.
    expect(await cleanVolumes(client, "n1", dir)).toEqual([]);
    expect(client.writes).toHaveLength(1);
  });
});
