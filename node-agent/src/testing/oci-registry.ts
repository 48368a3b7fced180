/**
 * A tiny OCI distribution server (GET/HEAD manifests and blobs) on a random
 * loopback port, for tests and benchmarks: the agent pulls from it exactly as
 * from a real registry. Optional bearer-token auth exercises the
 * WWW-Authenticate flow.
 */
import { createHash } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/** A layer to publish: media type and bytes. */
export interface TestLayer {
  mediaType: string;
  bytes: Uint8Array;
}

/** A running test registry. */
export interface TestRegistry {
  /** "127.0.0.1:<port>" — prefix of image references. */
  host: string;
  /** Publish an image; returns its reference ("host/repo:tag") and manifest digest. */
  push(repo: string, tag: string, layers: TestLayer[], config?: unknown): { image: string; digest: string };
  /** How many manifest/blob GETs were served (to check caching). */
  requests: { manifests: number; blobs: number };
  close(): Promise<void>;
}

/** Start a registry; with `token` set it demands `Bearer <token>` obtained from its /token realm. */
export async function startTestRegistry(options: { token?: string } = {}): Promise<TestRegistry> {
  const blobs = new Map<string, { bytes: Uint8Array; type: string }>();
  const manifests = new Map<string, { bytes: Uint8Array; type: string }>();
  const requests = { manifests: 0, blobs: 0 };
  let host = "";
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://x");
    if (url.pathname === "/token") {
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify({ token: options.token }));
      return;
    }
    if (options.token && req.headers.authorization !== `Bearer ${options.token}`) {
      res.writeHead(401, {
        "www-authenticate": `Bearer realm="http://${host}/token",service="test",scope="repository:x:pull"`,
      });
      res.end();
      return;
    }
    const m = /^\/v2\/(.+)\/(manifests|blobs)\/([^/]+)$/.exec(url.pathname);
    const entry = m && (m[2] === "manifests" ? manifests.get(`${m[1]}@${m[3]}`) : blobs.get(m[3]));
    if (!m || !entry) {
      res.writeHead(404, { "content-type": "application/json" });
      res.end(JSON.stringify({ errors: [{ code: "NOT_FOUND" }] }));
      return;
    }
    if (m[2] === "manifests") requests.manifests++;
    else requests.blobs++;
    res.writeHead(200, { "content-type": entry.type, "content-length": entry.bytes.length });
    res.end(req.method === "HEAD" ? undefined : Buffer.from(entry.bytes));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  host = `127.0.0.1:${(server.address() as AddressInfo).port}`;

  function put(bytes: Uint8Array, type: string): { digest: string; size: number; mediaType: string } {
    const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
    blobs.set(digest, { bytes, type });
    return { digest, size: bytes.length, mediaType: type };
  }

  return {
    host,
    requests,
    push(repo, tag, layers, config) {
      const wasmArtifact = layers.every((l) => l.mediaType.includes("wasm"));
      const configBlob = put(
        new TextEncoder().encode(JSON.stringify(config ?? {})),
        wasmArtifact && !config
          ? "application/vnd.wasm.config.v0+json"
          : "application/vnd.oci.image.config.v1+json",
      );
      const manifest = {
        schemaVersion: 2,
        mediaType: "application/vnd.oci.image.manifest.v1+json",
        config: configBlob,
        layers: layers.map((l) => put(l.bytes, l.mediaType)),
      };
      const bytes = new TextEncoder().encode(JSON.stringify(manifest));
      const digest = `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
      const stored = { bytes, type: manifest.mediaType };
      manifests.set(`${repo}@${tag}`, stored);
      manifests.set(`${repo}@${digest}`, stored);
      return { image: `${host}/${repo}:${tag}`, digest };
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
