import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { PathEscapeError, resolveBeneath, resolveInRoot } from "./securejoin.ts";

let root: string;
beforeEach(() => {
  root = join(realpathSync(mkdtempSync(join(tmpdir(), "securejoin-"))), "root");
  mkdirSync(root);
});
afterEach(() => rmSync(join(root, ".."), { recursive: true, force: true }));

describe("resolveInRoot (RESOLVE_IN_ROOT)", () => {
  it("keeps `..`, absolute and chained links inside the root", () => {
    symlinkSync(".", join(root, "d"));
    symlinkSync("d/d/../..", join(root, "r"));
    symlinkSync("/etc", join(root, "abs"));
    expect(resolveInRoot(root, "../../etc/passwd")).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, "r/tmp/x")).toBe(join(root, "tmp/x"));
    expect(resolveInRoot(root, "abs/passwd")).toBe(join(root, "etc/passwd"));
    expect(resolveInRoot(root, "abs", { followFinal: false })).toBe(join(root, "abs"));
  });

  it("stops a symlink loop with an error instead of spinning", () => {
    symlinkSync("b", join(root, "a"));
    symlinkSync("a", join(root, "b"));
    expect(() => resolveInRoot(root, "a/x")).toThrow(PathEscapeError);
  });
});

describe("resolveBeneath (kubelet subPath)", () => {
  it("follows links that stay in the volume and refuses ones that leave it", () => {
    mkdirSync(join(root, "real"));
    symlinkSync("real", join(root, "in"));
    symlinkSync("..", join(root, "up"));
    symlinkSync("/nonexistent-edgeplane", join(root, "dangling"));
    expect(resolveBeneath(root, "in")).toBe(join(root, "real"));
    expect(resolveBeneath(root, "new/dir", { mkdir: true })).toBe(join(root, "new/dir"));
    for (const path of ["up", "up/root", "dangling", "../x", "/etc", "missing"])
      expect(() => resolveBeneath(root, path), path).toThrow(PathEscapeError);
  });
});
