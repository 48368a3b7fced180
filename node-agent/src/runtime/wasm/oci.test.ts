/**
 * The module lookup after unpacking: an entrypoint that is a link (through a
 * symlink chain or absolute) is resolved inside the image root, so an image
 * cannot make the agent read a host file as its module. And a blob whose
 * bytes do not match its digest is refused, leaving nothing in the cache (blobs
 * are streamed to a temporary file and renamed into place only once verified).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createNodeFetch, type NodeFetch } from "../../http.ts";
import { sample } from "../../testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../testing/oci-registry.ts";
import { makeTar, type TarEntry } from "../../testing/tar.ts";
import { PullError } from "../types.ts";
import { ImageStore } from "./oci.ts";

let registry: TestRegistry;
let dir: string;
let hostModule: string;

beforeAll(async () => {
  registry = await startTestRegistry();
  dir = mkdtempSync(join(tmpdir(), "oci-"));
  // A valid module on the host, outside the image store: what a hostile entrypoint would point at.
  hostModule = join(dir, "host.wasm");
  writeFileSync(hostModule, readFileSync(sample("hello")));
});
afterAll(async () => {
  await registry.close();
  rmSync(dir, { recursive: true, force: true });
});

async function push(tag: string, entries: TarEntry[]): Promise<string> {
  const layer = { mediaType: "application/vnd.oci.image.layer.v1.tar", bytes: await makeTar(entries) };
  return registry.push("hostile/entry", tag, [layer], { config: { Entrypoint: ["/app.wasm"] } }).image;
}

describe("ImageStore module lookup", () => {
  it("follows an entrypoint link inside the image root, never to a host file", async () => {
    const store = new ImageStore(join(dir, "images"));
    const depth = join(dir, "images").split("/").length + 2;
    const chain: TarEntry[] = [
      { name: "d", type: "symlink", linkname: "." },
      { name: "r", type: "symlink", linkname: `${"d/".repeat(depth)}${"../".repeat(depth).slice(0, -1)}` },
    ];
    for (const [tag, entries] of [
      ["chain", [...chain, { name: "app.wasm", type: "symlink", linkname: `r${hostModule}` }]],
      ["absolute", [{ name: "app.wasm", type: "symlink", linkname: hostModule }]],
    ] as const) {
      const error = await store.pull(await push(tag, [...entries]), { policy: "Always" }).catch((e) => e);
      expect(error, tag).toBeInstanceOf(PullError);
      expect(error.message).toMatch(/holds no wasm module/);
    }
    // A link that stays inside the image is followed.
    const inside = await push("inside", [
      { name: "bin/app.wasm", content: readFileSync(sample("hello")) },
      { name: "app.wasm", type: "symlink", linkname: "/bin/app.wasm" },
    ]);
    expect((await store.pull(inside, { policy: "Always" })).kind).toBe("module");
  });
});

describe("ImageStore blob verification", () => {
  it("refuses a blob whose bytes are not its digest's and caches nothing of it", async () => {
    const { image } = registry.push("tampered/module", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("hello"))) },
    ]);
    const real = createNodeFetch();
    // A registry (or a path to it) that serves other bytes under the digest: a valid wasm header, then junk.
    const tampering: NodeFetch = async (url, init) => {
      const response = await real(url, init);
      if (!String(url).includes("/blobs/")) return response;
      await response.arrayBuffer();
      const unused = () => Promise.reject(new Error("the store streams blobs"));
      return {
        text: unused,
        json: unused,
        arrayBuffer: unused,
        ok: response.ok,
        status: response.status,
        headers: response.headers,
        body: (async function* () {
          yield new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 42]);
        })(),
      };
    };
    const images = join(dir, "tampered");
    const error = await new ImageStore(images, tampering).pull(image, { policy: "Always" }).catch((e) => e);
    expect(error).toBeInstanceOf(PullError);
    expect(error.message).toMatch(/failed sha256 verification/);
    expect(readdirSync(join(images, "blobs", "sha256"))).toEqual([]);
    // The same image through an honest registry connection is pulled and cached.
    const pulled = await new ImageStore(images, real).pull(image, { policy: "Always" });
    expect(pulled.kind).toBe("module");
    expect(readdirSync(join(images, "blobs", "sha256"))).toEqual([pulled.moduleDigest.slice(7)]);
  });
});
