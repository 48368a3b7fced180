import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { oomKills } from "./cgroups.ts";

describe("oomKills", () => {
  const roots: string[] = [];
  function root(): string {
    const dir = mkdtempSync(join(tmpdir(), "edgeplane-cgroups-"));
    roots.push(dir);
    return dir;
  }
  afterEach(() => {
    for (const dir of roots.splice(0)) rmSync(dir, { recursive: true, force: true });
  });

  it("reads oom_kill from cgroup v2's hierarchical memory.events", () => {
    const r = root();
    writeFileSync(join(r, "cgroup.controllers"), "cpu memory pids\n");
    mkdirSync(join(r, "edgeplane/podabc"), { recursive: true });
    writeFileSync(
      join(r, "edgeplane/podabc/memory.events"),
      "low 0\nhigh 0\nmax 12\noom 2\noom_kill 2\noom_group_kill 0\n",
    );
    expect(oomKills("/edgeplane/podabc", r)).toBe(2);
  });

  it("reads oom_kill from cgroup v1's memory.oom_control", () => {
    const r = root();
    mkdirSync(join(r, "memory/edgeplane/podabc"), { recursive: true });
    mkdirSync(join(r, "cpu/edgeplane/podabc"), { recursive: true });
    writeFileSync(
      join(r, "memory/edgeplane/podabc/memory.oom_control"),
      "oom_kill_disable 0\nunder_oom 0\noom_kill 3\n",
    );
    expect(oomKills("/edgeplane/podabc", r)).toBe(3);
  });

  it("is undefined when the cgroup is gone or the path escapes the root", () => {
    const r = root();
    writeFileSync(join(r, "cgroup.controllers"), "memory\n");
    expect(oomKills("/edgeplane/gone", r)).toBeUndefined();
    expect(oomKills("/../etc", r)).toBeUndefined();
  });
});
