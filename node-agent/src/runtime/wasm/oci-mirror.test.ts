/**
 * The WASM puller honours the same registry mirrors as containerd (docker.io
 * first from the local registry endpoint, then upstream), and a credential
 * bound to a server address goes to that host only, never upstream.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { sample } from "../../testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../testing/oci-registry.ts";
import { PullError } from "../types.ts";
import { ImageStore } from "./oci.ts";

let mirror: TestRegistry;
let dir: string;
let guarded: Server;
let guardedHost: string;
const seenAuth: (string | undefined)[] = [];

beforeAll(async () => {
  mirror = await startTestRegistry();
  mirror.push("library/hello", "v1", [
    { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("hello"))) },
  ]);
  dir = mkdtempSync(join(tmpdir(), "oci-mirror-"));
  // A registry that wants Basic credentials and records what it was sent.
  guarded = createServer((req, res) => {
    seenAuth.push(req.headers.authorization);
    res.writeHead(401, { "www-authenticate": 'Basic realm="guarded"' });
    res.end();
  });
  await new Promise<void>((resolve) => guarded.listen(0, "127.0.0.1", resolve));
  guardedHost = `127.0.0.1:${(guarded.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await mirror.close();
  await new Promise((resolve) => guarded.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

it("pulls a Docker Hub name from its mirror first", async () => {
  const store = new ImageStore(join(dir, "a"), fetch, { "docker.io": [mirror.host] });
  const pulled = await store.pull("hello:v1", { policy: "Always" });
  expect(pulled.kind).toBe("module");
  expect(mirror.requests.manifests).toBeGreaterThan(0);
});

it("falls through a mirror that lacks the image to the next one", async () => {
  const empty = await startTestRegistry();
  try {
    const store = new ImageStore(join(dir, "b"), fetch, { "docker.io": [empty.host, mirror.host] });
    expect((await store.pull("docker.io/library/hello:v1", { policy: "Always" })).kind).toBe("module");
  } finally {
    await empty.close();
  }
});

it("sends a credential bound to a server address to that host only", async () => {
  const store = new ImageStore(join(dir, "c"));
  const auth = { username: "node", password: "secret", serveraddress: "http://127.0.0.1:1" };
  const error = await store.pull(`${guardedHost}/x:v1`, { policy: "Always", auth }).catch((e) => e);
  expect(error).toBeInstanceOf(PullError);
  expect(seenAuth.filter(Boolean)).toEqual([]);
  // Bound to this host, it is sent.
  await store
    .pull(`${guardedHost}/x:v1`, {
      policy: "Always",
      auth: { ...auth, serveraddress: `http://${guardedHost}` },
    })
    .catch(() => {});
  expect(seenAuth.filter(Boolean)).toEqual([`Basic ${Buffer.from("node:secret").toString("base64")}`]);
});
