/**
 * The built-in registry with real clients: skopeo copies a locally written
 * OCI layout into it over HTTPS (verified with the cluster's CA), the node
 * agent's puller pulls it back through the local cluster's loopback registry
 * endpoint with every digest verified, `edgeplane push` pushes a .wasm
 * artifact the puller runs as a module, and pushes without a token get 401.
 */
import { execFile } from "node:child_process";
import { createHash } from "node:crypto";
import { copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { pack } from "tar-stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ImageStore } from "../../node-agent/src/runtime/wasm/oci.ts";
import { type ClusterFetch, clusterFetch } from "../../scripts/lib/client.ts";
import { writeKubeconfig } from "../../scripts/lib/kubeconfig.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type RegistryProxy, startRegistryProxy } from "../../scripts/local/registry-proxy.ts";
import { type ControlPlane, ROOT, startControlPlane } from "./harness.ts";

let dir: string;
let cp: ControlPlane;
let fetcher: ClusterFetch & { close(): Promise<void> };
let proxy: RegistryProxy;
let certDir: string;
let kubeconfig: string;
let host: string;

function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((res) =>
    execFile(cmd, args, { timeout: 120_000 }, (error, stdout, stderr) =>
      res({ code: error ? ((error as { code?: number }).code ?? 1) : 0, output: stdout + stderr }),
    ),
  );
}

/** A gzipped tar holding `files`. */
async function tarGz(files: Record<string, Uint8Array>): Promise<{ gz: Uint8Array; diffId: string }> {
  const p = pack();
  for (const [name, data] of Object.entries(files)) p.entry({ name, mode: 0o644 }, Buffer.from(data));
  p.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of p) chunks.push(chunk as Buffer);
  const tar = Buffer.concat(chunks);
  return { gz: gzipSync(tar), diffId: sha256(tar) };
}

/** Write an OCI image layout (one image, tag `tag`) whose filesystem holds /app.wasm. */
async function writeLayout(
  layout: string,
  tag: string,
  wasm: Uint8Array,
): Promise<{ manifestDigest: string }> {
  const blobs = join(layout, "blobs", "sha256");
  await mkdir(blobs, { recursive: true });
  const put = async (bytes: Uint8Array | string) => {
    const digest = sha256(bytes);
    await writeFile(join(blobs, digest.slice(7)), bytes);
    return { digest, size: Buffer.byteLength(bytes) };
  };
  const layer = await tarGz({ "app.wasm": wasm, "etc/motd": new TextEncoder().encode("from skopeo\n") });
  const layerDesc = await put(layer.gz);
  const config = JSON.stringify({
    architecture: "amd64",
    os: "linux",
    config: { Entrypoint: ["/app.wasm"] },
    rootfs: { type: "layers", diff_ids: [layer.diffId] },
  });
  const configDesc = await put(config);
  const manifest = JSON.stringify({
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configDesc },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layerDesc }],
  });
  const manifestDesc = await put(manifest);
  await writeFile(join(layout, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  await writeFile(
    join(layout, "index.json"),
    JSON.stringify({
      schemaVersion: 2,
      manifests: [
        {
          mediaType: "application/vnd.oci.image.manifest.v1+json",
          ...manifestDesc,
          annotations: { "org.opencontainers.image.ref.name": tag },
        },
      ],
    }),
  );
  return { manifestDigest: manifestDesc.digest };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeplane-registry-e2e-"));
  const pki = await ensurePki(join(dir, "pki"));
  cp = await startControlPlane({
    tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
    env: { ADMIN_TOKEN: pki.token },
  });
  host = new URL(cp.url).host;
  const ca = await readFile(pki.caCert, "utf8");
  // skopeo (containers/image) trusts every *.crt in --dest-cert-dir as a CA.
  certDir = join(dir, "certs");
  await mkdir(certDir);
  await copyFile(pki.caCert, join(certDir, "ca.crt"));
  fetcher = clusterFetch({ server: cp.url, token: cp.token, ca });
  proxy = await startRegistryProxy(0, fetcher);
  kubeconfig = join(dir, "kubeconfig");
  await writeKubeconfig(kubeconfig, "registry-e2e", { server: cp.url, token: cp.token, ca });
}, 120_000);

afterAll(async () => {
  await proxy?.stop();
  await fetcher?.close();
  await cp?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe("built-in registry with real clients", () => {
  it("takes a skopeo copy over HTTPS, and the agent's puller gets it back with digests verified", async () => {
    const wasm = new Uint8Array(await readFile(join(ROOT, "wasm/hello.wasm")));
    const layout = join(dir, "layout");
    const { manifestDigest } = await writeLayout(layout, "v1", wasm);
    const dest = `docker://${host}/e2e/skopeo:v1`;
    const anonymous = await run("skopeo", ["copy", "--dest-cert-dir", certDir, `oci:${layout}:v1`, dest]);
    expect(anonymous.code).not.toBe(0);
    expect(anonymous.output).toMatch(/401|unauthorized|authentication required/i);

    const copy = await run("skopeo", [
      "copy",
      "--dest-cert-dir",
      certDir,
      "--dest-creds",
      `x:${cp.token}`,
      `oci:${layout}:v1`,
      dest,
    ]);
    expect(copy.code, copy.output).toBe(0);
    const head = await fetcher("/v2/e2e/skopeo/manifests/v1", { method: "HEAD" });
    expect(head.headers.get("Docker-Content-Digest")).toBe(manifestDigest);

    // The puller speaks plain HTTP to loopback registries: the local cluster's endpoint for pods.
    const store = new ImageStore(join(dir, "images"));
    // It holds no credential of its own: the puller sends one (a node sends its own token).
    const pulled = await store.pull(`${proxy.host}/e2e/skopeo:v1`, {
      policy: "Always",
      auth: { username: "node", password: cp.token },
    });
    expect(pulled.manifestDigest).toBe(manifestDigest);
    expect(pulled.moduleDigest).toBe(sha256(wasm));
    expect(new Uint8Array(await readFile(pulled.modulePath))).toEqual(wasm);
    expect(pulled.kind).toBe("module");
  });

  it("edgeplane push uploads a .wasm artifact the puller runs as a module", async () => {
    const file = join(ROOT, "wasm/ticker.wasm");
    const push = await run(process.execPath, [
      join(ROOT, "scripts/edgeplane.mjs"),
      "push",
      file,
      "registry.edgeplane.local/e2e/ticker:cli",
      "--kubeconfig",
      kubeconfig,
    ]);
    expect(push.output).toMatch(/pushed e2e\/ticker:cli sha256:[0-9a-f]{64}/);
    expect(push.code).toBe(0);
    const manifest = (await (await fetcher("/v2/e2e/ticker/manifests/cli")).json()) as {
      config: { mediaType: string };
      layers: { mediaType: string; digest: string }[];
    };
    expect(manifest.config.mediaType).toBe("application/vnd.wasm.config.v0+json");
    expect(manifest.layers.map((l) => l.mediaType)).toEqual(["application/wasm"]);

    const wasm = new Uint8Array(await readFile(file));
    const store = new ImageStore(join(dir, "images-cli"));
    const pulled = await store.pull(`${proxy.host}/e2e/ticker:cli`, {
      policy: "Always",
      auth: { username: "node", password: cp.token },
    });
    expect(pulled.moduleDigest).toBe(sha256(wasm));
    expect(pulled.kind).toBe("module");
  });

  it("refuses pushes without a token with 401 and an OCI error, and the pull-only endpoint refuses pushes", async () => {
    const anon = await fetcher("/v2/e2e/anon/blobs/uploads/", {
      method: "POST",
      headers: { Authorization: "" },
    });
    expect(anon.status).toBe(401);
    expect(anon.headers.get("WWW-Authenticate")).toMatch(/^Basic /);
    expect(((await anon.json()) as { errors: { code: string }[] }).errors[0].code).toBe("UNAUTHORIZED");
    const viaProxy = await fetch(`http://${proxy.host}/v2/e2e/anon/blobs/uploads/`, { method: "POST" });
    expect(viaProxy.status).toBe(405);
    await viaProxy.arrayBuffer();
  });
});
