import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FakeClock } from "../clock.ts";
import { readCgroupUsage, readNodeUsage } from "./cgroup.ts";
import { MetricsCollector } from "./collector.ts";

function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), "ep-metrics-"));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(root, path, ".."), { recursive: true });
    writeFileSync(join(root, path), text);
  }
  return root;
}

describe("cgroup usage", () => {
  it("reads cgroup v2: usage_usec and memory.current minus inactive_file", () => {
    const root = tree({
      "cgroup.controllers": "cpu memory",
      "edgeplane/podA/c1/cpu.stat": "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\n",
      "edgeplane/podA/c1/memory.current": "10485760\n",
      "edgeplane/podA/c1/memory.stat":
        "anon 4194304\nfile 6291456\ninactive_file 2097152\nactive_file 4194304\n",
    });
    expect(readCgroupUsage("/edgeplane/podA/c1", { cgroup: root })).toEqual({
      cpuNanos: 2_500_000_000,
      workingSetBytes: 8_388_608,
    });
    expect(readCgroupUsage("/edgeplane/podA/missing", { cgroup: root })).toBeUndefined();
    expect(readCgroupUsage("/edgeplane/../etc", { cgroup: root })).toBeUndefined();
  });

  it("reads cgroup v1: cpuacct.usage and usage_in_bytes minus total_inactive_file", () => {
    const root = tree({
      "cpuacct/edgeplane/podA/c1/cpuacct.usage": "123456789\n",
      "memory/edgeplane/podA/c1/memory.usage_in_bytes": "5000000\n",
      "memory/edgeplane/podA/c1/memory.stat": "cache 1000\ninactive_file 7\ntotal_inactive_file 1000000\n",
    });
    expect(readCgroupUsage("edgeplane/podA/c1", { cgroup: root })).toEqual({
      cpuNanos: 123_456_789,
      workingSetBytes: 4_000_000,
    });
  });

  it("sums the processes' CPU time from /proc when a v1 cgroup has only a memory group (WASM pods)", () => {
    const root = tree({
      "cgroup/memory/edgeplane/n1/c1/memory.usage_in_bytes": "4096\n",
      "cgroup/memory/edgeplane/n1/c1/cgroup.procs": "11\n12\n",
      // comm may hold spaces and parentheses; utime and stime are fields 14 and 15.
      "proc/11/stat": "11 (node (x) y) S 1 11 11 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0 100 0 0\n",
      "proc/12/stat": "12 (bwrap) S 1 11 11 0 -1 4194560 100 0 0 0 100 100 0 0 20 0 1 0 100 0 0\n",
    });
    expect(
      readCgroupUsage("edgeplane/n1/c1", { cgroup: join(root, "cgroup"), proc: join(root, "proc") }),
    ).toEqual({ cpuNanos: 500 * 10_000_000, workingSetBytes: 4096 });
  });

  it("reads the node from /proc/stat and /proc/meminfo", () => {
    const root = tree({
      stat: "cpu  100 5 50 1000 20 3 2 1 0 0\ncpu0 50 2 25 500 10 1 1 0 0 0\n",
      meminfo: "MemTotal:        8000000 kB\nMemFree:         1000000 kB\nMemAvailable:    6000000 kB\n",
    });
    expect(readNodeUsage({ proc: root })).toEqual({
      cpuNanos: (100 + 5 + 50 + 3 + 2 + 1) * 10_000_000,
      workingSetBytes: 2_000_000 * 1024,
    });
  });
});

describe("MetricsCollector", () => {
  it("reports CPU as a rate over the window between two readings, and containers only once they have one", async () => {
    const clock = new FakeClock();
    const cpu: Record<string, number> = { node: 0, a: 0 };
    const collector = new MetricsCollector(
      {
        node: () => ({ cpuNanos: cpu.node, workingSetBytes: 1 << 30 }),
        cgroup: (path) => (path in cpu ? { cpuNanos: cpu[path], workingSetBytes: 1 << 20 } : undefined),
      },
      clock,
    );
    const ref = { name: "main", podUid: "u1", namespace: "default", podName: "burn" };
    expect(collector.sample([{ ...ref, id: "a", cgroup: "a" }])).toBeUndefined();
    await clock.advance(10_000);
    cpu.node = 15e9; // 1.5 cores over 10 s
    cpu.a = 5e9; // half a core
    cpu.b = 1e9;
    const sample = collector.sample([
      { ...ref, id: "a", cgroup: "a" },
      { ...ref, id: "b", name: "side", cgroup: "b" },
    ]);
    expect(sample).toEqual({
      timestamp: "2026-01-01T00:00:10.000Z",
      windowSeconds: 10,
      node: { cpuNanoCores: 1_500_000_000, memoryBytes: 1 << 30 },
      pods: [
        {
          namespace: "default",
          name: "burn",
          uid: "u1",
          containers: [{ name: "main", cpuNanoCores: 500_000_000, memoryBytes: 1 << 20 }],
        },
      ],
    });
  });
});
