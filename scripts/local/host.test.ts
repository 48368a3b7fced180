import { describe, expect, it } from "vitest";
import { parseStartArgs } from "./args.ts";
import { containerRuntimeProblem } from "./host.ts";

describe("npm start's runtimes", () => {
  const all = () => true;

  it("says in a few words why containers cannot run: not root, a missing binary, no CNI, no cgroups", () => {
    expect(containerRuntimeProblem(0, all, all)).toBeUndefined();
    expect(containerRuntimeProblem(1000, all, all)).toMatch(/need root/);
    expect(containerRuntimeProblem(0, (c) => c !== "runc", all)).toMatch(/missing runc/);
    expect(containerRuntimeProblem(0, all, (p) => !p.startsWith("/usr/lib/cni"))).toMatch(/CNI plugins/);
    expect(containerRuntimeProblem(0, all, (p) => !p.startsWith("/sys/fs/cgroup"))).toMatch(/cgroup/);
  });

  it("takes --runtimes as an override, and only cri and wasm", () => {
    expect(parseStartArgs([], "/r", {}).runtimes).toBeUndefined();
    expect(parseStartArgs(["--runtimes", "wasm"], "/r", {}).runtimes).toEqual(["wasm"]);
    expect(parseStartArgs(["--runtimes", "cri,wasm"], "/r", {}).runtimes).toEqual(["cri", "wasm"]);
    expect(() => parseStartArgs(["--runtimes", "docker"], "/r", {})).toThrow(/cri and\/or wasm/);
    expect(() => parseStartArgs(["--runtimes", ","], "/r", {})).toThrow(/at least one/);
  });
});
