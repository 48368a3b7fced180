import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { Cgroups } from "./cgroup.ts";

describe("Cgroups.processes", () => {
  const roots: string[] = [];
  afterEach(() => {
    for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("lists the pids in a container's memory cgroup, and none when it does not exist", () => {
    const root = mkdtempSync(join(tmpdir(), "edgeplane-cg-"));
    roots.push(root);
    const dir = join(root, "memory", "edgeplane/node-1", "c1");
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, "cgroup.procs"), "4242\n4243\n");
    const cgroups = new Cgroups({ root, parent: "edgeplane/node-1" });
    expect(cgroups.processes("c1")).toEqual([4242, 4243]);
    expect(cgroups.processes("c2")).toEqual([]);
  });
});
