/**
 * Hostile layers against the agent's own unpacker: each case is built with
 * tar-stream and applied to a root beside a canary file and a victim
 * directory; the canary must keep its bytes and link count, the victim must
 * survive, and nothing may appear beside the root.
 */
import {
  existsSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { makeTar, type TarEntry } from "../../testing/tar.ts";
import { PullError } from "../types.ts";
import { applyLayer } from "./layers.ts";

let outer: string;
let root: string;
let canary: string;
const text = (s: string) => new TextEncoder().encode(s);

beforeEach(() => {
  outer = mkdtempSync(join(tmpdir(), "layers-"));
  root = join(outer, "root");
  mkdirSync(root);
  canary = join(outer, "canary");
  writeFileSync(canary, "canary");
  mkdirSync(join(outer, "victim"));
  writeFileSync(join(outer, "victim", "file"), "victim");
});

afterEach(() => {
  expect(readFileSync(canary, "utf8")).toBe("canary");
  expect(statSync(canary).nlink).toBe(1);
  expect(readFileSync(join(outer, "victim", "file"), "utf8")).toBe("victim");
  expect(readdirSync(outer).sort()).toEqual(["canary", "root", "victim"]);
  rmSync(outer, { recursive: true, force: true });
});

const apply = async (...layers: TarEntry[][]) => {
  for (const entries of layers) await applyLayer(root, await makeTar(entries));
};
/** `d -> .` then a link through enough `d/` and `..` to reach the host's `/`: lexically inside, physically `/`. */
const chainToSlash = (name: string): TarEntry[] => {
  const depth = root.split("/").length;
  return [
    { name: "d", type: "symlink", linkname: "." },
    { name, type: "symlink", linkname: `${"d/".repeat(depth)}${"../".repeat(depth).slice(0, -1)}` },
  ];
};

describe("applyLayer keeps every entry inside the root", () => {
  it("follows a symlink chain (d -> ., r -> d/d/../..) inside the root", async () => {
    await apply([
      ...chainToSlash("r"),
      { name: `r${canary}`, content: text("pwned") },
      { name: `r${outer}/new`, content: text("pwned") },
    ]);
    expect(readFileSync(join(root, canary), "utf8")).toBe("pwned");
    expect(readFileSync(join(root, outer, "new"), "utf8")).toBe("pwned");
  });

  it("follows absolute symlink targets inside the root", async () => {
    await apply([
      { name: "abs", type: "symlink", linkname: outer },
      { name: "abs/canary", content: text("pwned") },
      { name: "up", type: "symlink", linkname: "/../../.." },
      { name: `up${outer}/victim/file`, content: text("pwned") },
    ]);
    expect(readlinkSync(join(root, "abs"))).toBe(outer);
    expect(readFileSync(join(root, outer, "canary"), "utf8")).toBe("pwned");
    expect(readFileSync(join(root, outer, "victim/file"), "utf8")).toBe("pwned");
  });

  it("resolves hard link targets inside the root and refuses ones that name nothing there", async () => {
    await apply([
      { name: "etc/inside", content: text("inside") },
      { name: "hard", type: "link", linkname: "/etc/inside" },
    ]);
    expect(statSync(join(root, "hard")).ino).toBe(statSync(join(root, "etc/inside")).ino);
    // A hard link to a symlink links the symlink itself, which still resolves inside the root.
    await apply([
      { name: "tocanary", type: "symlink", linkname: canary },
      { name: "hard2", type: "link", linkname: "tocanary" },
    ]);
    expect(readlinkSync(join(root, "hard2"))).toBe(canary);
    for (const linkname of [canary, `../${canary}`, `r${canary}`]) {
      const error = await apply([...chainToSlash("r"), { name: "h", type: "link", linkname }]).catch(
        (e) => e,
      );
      expect(error).toBeInstanceOf(PullError);
      expect(existsSync(join(root, "h"))).toBe(false);
    }
  });

  it("writes through a directory replaced by a symlink mid-stream only inside the root", async () => {
    await apply([
      { name: "a/", type: "directory" },
      { name: "a/f", content: text("first") },
      { name: "d", type: "symlink", linkname: "." },
      { name: "a", type: "symlink", linkname: "d/d/.." },
      { name: "a/canary", content: text("pwned") },
      { name: "a/victim/file", content: text("pwned") },
    ]);
    expect(lstatSync(join(root, "a")).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(root, "canary"), "utf8")).toBe("pwned");
    expect(readFileSync(join(root, "victim/file"), "utf8")).toBe("pwned");
  });

  it("does not write through a symlink at the final component", async () => {
    await apply([
      ...chainToSlash("r"),
      { name: "f", type: "symlink", linkname: `r${canary}` },
      { name: "f", content: text("pwned") },
    ]);
    expect(lstatSync(join(root, "f")).isFile()).toBe(true);
    expect(readFileSync(join(root, "f"), "utf8")).toBe("pwned");
  });

  it("applies whiteouts and opaque directories inside the root only", async () => {
    await apply(
      [
        { name: "keep/a", content: text("a") },
        { name: "gone", content: text("gone") },
        ...chainToSlash("r"),
        { name: "d2", type: "symlink", linkname: "." },
        { name: "up", type: "symlink", linkname: "d2/d2/.." },
      ],
      [
        { name: "keep/b", content: text("b") },
        { name: "keep/.wh..wh..opq" },
        { name: ".wh.gone" },
        { name: "up/.wh.canary" },
        { name: "up/victim/.wh..wh..opq" },
        { name: `r${outer}/.wh.victim` },
        { name: `r${outer}/victim/.wh.file` },
      ],
    );
    expect(readdirSync(join(root, "keep"))).toEqual(["b"]);
    expect(existsSync(join(root, "gone"))).toBe(false);
  });

  it("skips device nodes and fifos", async () => {
    await apply([
      ...chainToSlash("r"),
      { name: "mem", type: "character-device" },
      { name: `r${outer}/disk`, type: "block-device" },
      { name: "dev/pipe", type: "fifo" },
    ]);
    expect(readdirSync(root).sort()).toEqual(["d", "r"]);
  });

  it("refuses names and relative link targets that climb above the root", async () => {
    for (const entry of [
      { name: "../escaped", content: text("pwned") },
      { name: "a/../../escaped", content: text("pwned") },
      { name: "a/link", type: "symlink", linkname: "../../etc" },
    ] as TarEntry[]) {
      const error = await apply([entry]).catch((e) => e);
      expect(error).toBeInstanceOf(PullError);
      expect(error.message).toMatch(/escapes the image root/);
    }
    expect(readdirSync(root)).toEqual([]);
  });
});
