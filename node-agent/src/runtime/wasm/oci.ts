/**
 * Pulls WASM images through the OCI distribution API (manifest, then blobs,
 * sha256 verified) into a content-addressed cache under the agent's data
 * dir. Understands both wasm artifacts (a layer with a wasm media type) and
 * ordinary images whose filesystem holds the module (tar/tar+gzip layers).
 */
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, open, readFile, rename, rm } from "node:fs/promises";
import { join } from "node:path";
import type { ClientResponse } from "../../../../workers/client/kube.ts";
import { resolveInRoot } from "../../fs/securejoin.ts";
import { cancelBody, type NodeFetch } from "../../http.ts";
import { PullError, type PullOptions } from "../types.ts";
import { applyLayer } from "./layers.ts";

const MANIFEST_TYPES = [
  "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.distribution.manifest.v2+json",
  "application/vnd.docker.distribution.manifest.list.v2+json",
];
const WASM_LAYER_TYPES = [
  "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
  "application/wasm",
];

/** registry host, repository path and tag or digest of an image reference. */
export interface ImageRef {
  registry: string;
  repository: string;
  reference: string;
}

/** What a pull leaves in the cache for one image reference. */
export interface PulledImage {
  image: string;
  manifestDigest: string;
  /** sha256 of the module or component bytes (cache key for compiled/transpiled forms). */
  moduleDigest: string;
  modulePath: string;
  kind: "module" | "component";
  /** From the image config (Entrypoint/Cmd/Env), when the image has one. */
  entrypoint?: string[];
  cmd?: string[];
  env?: string[];
}

/** Parse "host:port/repo/name:tag", "name@sha256:...", "docker.io/library/x" into its parts. */
export function parseImageRef(image: string): ImageRef {
  let rest = image;
  let registry = "registry-1.docker.io";
  const slash = rest.indexOf("/");
  const first = slash >= 0 ? rest.slice(0, slash) : "";
  if (first && (first.includes(".") || first.includes(":") || first === "localhost")) {
    registry = first === "docker.io" ? "registry-1.docker.io" : first;
    rest = rest.slice(slash + 1);
  }
  let reference = "latest";
  const at = rest.indexOf("@");
  if (at >= 0) {
    reference = rest.slice(at + 1);
    rest = rest.slice(0, at);
  } else {
    const colon = rest.lastIndexOf(":");
    if (colon >= 0) {
      reference = rest.slice(colon + 1);
      rest = rest.slice(0, colon);
    }
  }
  if (registry === "registry-1.docker.io" && !rest.includes("/")) rest = `library/${rest}`;
  if (!rest) throw new PullError("InvalidImageName", `invalid image reference ${JSON.stringify(image)}`);
  return { registry, repository: rest, reference };
}

/** True for registries reached over plain http: loopback only. */
export function isLoopbackHost(host: string): boolean {
  const name = host.replace(/:\d+$/, "").replace(/^\[|\]$/g, "");
  return name === "localhost" || name === "::1" || /^127\./.test(name);
}

/** Detect a component (layer 1 binary) versus a core module from the wasm header. */
export function wasmKind(bytes: Uint8Array): "module" | "component" {
  if (bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d)
    throw new PullError("ErrImagePull", "not a WebAssembly binary");
  return bytes[4] === 0x0d ? "component" : "module";
}

/** The content-addressed image cache plus the puller. */
export class ImageStore {
  private readonly blobs: string;
  private readonly refsFile: string;
  private refs: Record<string, PulledImage>;

  constructor(
    private readonly dir: string,
    private readonly fetcher: NodeFetch = fetch,
    /** Registry mirrors ({ "docker.io": ["127.0.0.1:6500"] }), tried in order before the registry, as containerd's hosts.toml. */
    private readonly mirrors: Record<string, string[]> = {},
  ) {
    this.blobs = join(dir, "blobs", "sha256");
    this.refsFile = join(dir, "refs.json");
    mkdirSync(this.blobs, { recursive: true });
    this.refs = existsSync(this.refsFile) ? JSON.parse(readFileSync(this.refsFile, "utf8")) : {};
  }

  /** The cached image for a reference, if pulled before. */
  lookup(image: string): PulledImage | undefined {
    const pulled = this.refs[image];
    return pulled && existsSync(pulled.modulePath) ? pulled : undefined;
  }

  /** Pull `image` per the pull policy; throws PullError (ErrImagePull, ErrImageNeverPull). */
  async pull(image: string, options: PullOptions): Promise<PulledImage> {
    const cached = this.lookup(image);
    if (cached && options.policy !== "Always") return cached;
    if (options.policy === "Never") {
      if (cached) return cached;
      throw new PullError("ErrImageNeverPull", `image ${image} is not present with pull policy of Never`);
    }
    try {
      const pulled = await this.fetchImage(image, options);
      this.refs[image] = pulled;
      const tmp = `${this.refsFile}.${process.pid}.tmp`;
      writeFileSync(tmp, JSON.stringify(this.refs));
      renameSync(tmp, this.refsFile);
      return pulled;
    } catch (error) {
      if (error instanceof PullError) throw error;
      throw new PullError("ErrImagePull", `pulling ${image}: ${(error as Error).message}`);
    }
  }

  private async fetchImage(image: string, options: PullOptions): Promise<PulledImage> {
    const ref = parseImageRef(image);
    const name = ref.registry === "registry-1.docker.io" ? "docker.io" : ref.registry;
    for (const mirror of this.mirrors[name] ?? []) {
      try {
        return await this.fetchFrom({ ...ref, registry: mirror }, image, options);
      } catch {
        // a mirror without the image, or down: the next one, then the registry itself
      }
    }
    return this.fetchFrom(ref, image, options);
  }

  private async fetchFrom(ref: ImageRef, image: string, options: PullOptions): Promise<PulledImage> {
    const session = new RegistrySession(ref, this.fetcher, options);
    let { body, digest, mediaType } = await session.manifest(ref.reference);
    let manifest = JSON.parse(new TextDecoder().decode(body));
    if (mediaType.includes("index") || mediaType.includes("manifest.list") || manifest.manifests) {
      const entries = manifest.manifests as {
        digest: string;
        platform?: { os?: string; architecture?: string };
      }[];
      const chosen =
        entries.find((m) => m.platform?.architecture === "wasm" || m.platform?.os === "wasip1") ?? entries[0];
      if (!chosen) throw new PullError("ErrImagePull", `image index for ${image} is empty`);
      ({ body, digest, mediaType } = await session.manifest(chosen.digest));
      manifest = JSON.parse(new TextDecoder().decode(body));
    }
    const layers = (manifest.layers ?? []) as { mediaType: string; digest: string }[];
    let config: { config?: { Entrypoint?: string[]; Cmd?: string[]; Env?: string[] } } = {};
    if (manifest.config?.digest && !String(manifest.config.mediaType ?? "").includes("wasm")) {
      try {
        config = JSON.parse(new TextDecoder().decode(await this.blob(session, manifest.config.digest)));
      } catch {
        config = {};
      }
    }
    const wasmLayer = layers.find((l) => WASM_LAYER_TYPES.includes(l.mediaType));
    let moduleDigest: string;
    let modulePath: string;
    let header: Uint8Array;
    if (wasmLayer) {
      // The layer is the module: its verified blob file is the module file, never held in memory.
      moduleDigest = wasmLayer.digest;
      modulePath = await this.blobFile(session, wasmLayer.digest);
      header = await readHeader(modulePath);
    } else {
      const moduleBytes = await this.moduleFromFilesystem(session, layers, config.config?.Entrypoint, image);
      moduleDigest = `sha256:${sha256(moduleBytes)}`;
      modulePath = join(this.blobs, moduleDigest.slice(7));
      if (!existsSync(modulePath)) writeAtomic(modulePath, moduleBytes);
      header = moduleBytes;
    }
    return {
      image,
      manifestDigest: digest,
      moduleDigest,
      modulePath,
      kind: wasmKind(header),
      entrypoint: wasmLayer ? undefined : config.config?.Entrypoint,
      cmd: config.config?.Cmd,
      env: config.config?.Env,
    };
  }

  /** Unpack the layers into a scratch root and take the module named by the entrypoint (or /app.wasm, or the only *.wasm). */
  private async moduleFromFilesystem(
    session: RegistrySession,
    layers: { digest: string }[],
    entrypoint: string[] | undefined,
    image: string,
  ): Promise<Uint8Array> {
    const root = await mkdtemp(join(this.dir, "unpack-"));
    try {
      for (const layer of layers) await applyLayer(root, await this.blob(session, layer.digest));
      const candidates = [entrypoint?.[0], "/app.wasm", "/main.wasm", "/module.wasm"].filter(
        Boolean,
      ) as string[];
      for (const candidate of candidates) {
        // A symlinked entrypoint is followed inside the image root, never to a host file.
        const path = resolveInRoot(root, candidate);
        if (statSync(path, { throwIfNoEntry: false })?.isFile()) return await readFile(path);
      }
      throw new PullError(
        "ErrImagePull",
        `image ${image} holds no wasm module (looked for ${candidates.join(", ")})`,
      );
    } finally {
      await rm(root, { recursive: true, force: true });
    }
  }

  /** A blob's bytes by digest: from the cache, or fetched and verified. */
  private async blob(session: RegistrySession, digest: string): Promise<Uint8Array> {
    return readFile(await this.blobFile(session, digest));
  }

  /**
   * A blob's cache file by digest, fetched if missing: streamed to a temporary file while hashed, and
   * renamed into place only once verified. Never buffered whole: a 14 MB component buffered (twice, as
   * fetched and as written) left the idle agent 30-50 MiB larger (freed memory glibc kept).
   */
  private async blobFile(session: RegistrySession, digest: string): Promise<string> {
    const [algorithm, hex] = digest.split(":");
    if (algorithm !== "sha256" || !/^[0-9a-f]{64}$/.test(hex ?? ""))
      throw new PullError("ErrImagePull", `unsupported digest ${digest}`);
    const path = join(this.blobs, hex);
    if (existsSync(path)) return path;
    const response = await session.blob(digest);
    const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
    const hash = createHash("sha256");
    const file = await open(tmp, "wx");
    try {
      for await (const chunk of response.body ?? []) {
        hash.update(chunk);
        await file.write(chunk);
      }
    } catch (error) {
      await file.close();
      await rm(tmp, { force: true });
      throw error;
    }
    await file.close();
    if (hash.digest("hex") !== hex) {
      await rm(tmp, { force: true });
      throw new PullError("ErrImagePull", `blob ${digest} failed sha256 verification`);
    }
    await rename(tmp, path);
    return path;
  }
}

/** The pull credential for `registry`: none when it is bound to another host (serveraddress), as CRI's ParseAuth does. */
export function credentialFor(auth: PullOptions["auth"], registry: string): PullOptions["auth"] {
  if (!auth?.serveraddress) return auth;
  try {
    return new URL(auth.serveraddress).host === registry ? auth : undefined;
  } catch {
    return undefined;
  }
}

/** One registry conversation: remembers the bearer token the registry handed out. */
class RegistrySession {
  private authorization?: string;
  private readonly base: string;

  constructor(
    private readonly ref: ImageRef,
    private readonly fetcher: NodeFetch,
    private readonly options: PullOptions,
  ) {
    const scheme = isLoopbackHost(ref.registry) ? "http" : "https";
    this.base = `${scheme}://${ref.registry}/v2/${ref.repository}`;
  }

  async manifest(reference: string): Promise<{ body: Uint8Array; digest: string; mediaType: string }> {
    const response = await this.get(`/manifests/${reference}`, MANIFEST_TYPES.join(", "));
    const body = new Uint8Array(await response.arrayBuffer());
    const digest = `sha256:${sha256(body)}`;
    if (reference.startsWith("sha256:") && reference !== digest)
      throw new PullError("ErrImagePull", `manifest ${reference} failed sha256 verification`);
    return { body, digest, mediaType: response.headers.get("content-type") ?? "" };
  }

  /** The blob's response, its body unread (the store streams it to disk). */
  blob(digest: string): Promise<ClientResponse> {
    return this.get(`/blobs/${digest}`, "*/*");
  }

  private async get(path: string, accept: string): Promise<ClientResponse> {
    for (let attempt = 0; attempt < 2; attempt++) {
      const headers: Record<string, string> = { Accept: accept };
      if (this.authorization) headers.Authorization = this.authorization;
      const response = await this.fetcher(this.base + path, { headers, signal: this.options.signal });
      if (response.status === 401 && attempt === 0) {
        await cancelBody(response);
        this.authorization = await this.authorize(response.headers.get("www-authenticate") ?? "");
        continue;
      }
      if (response.status === 404) {
        await cancelBody(response);
        throw new PullError(
          "ErrImagePull",
          `${this.ref.repository}:${this.ref.reference}: not found (${path})`,
        );
      }
      if (!response.ok) {
        await cancelBody(response);
        throw new PullError("ErrImagePull", `registry answered ${response.status} for ${path}`);
      }
      return response;
    }
    throw new PullError("ErrImagePull", `registry ${this.ref.registry}: unauthorized`);
  }

  /** Answer a WWW-Authenticate challenge: Basic with the pull secret, or a Bearer token from the realm. */
  private async authorize(challenge: string): Promise<string> {
    const auth = credentialFor(this.options.auth, this.ref.registry);
    const basic = auth?.auth
      ? auth.auth
      : auth?.username !== undefined
        ? Buffer.from(`${auth.username}:${auth.password ?? ""}`).toString("base64")
        : undefined;
    if (/^basic/i.test(challenge)) {
      if (!basic) throw new PullError("ErrImagePull", `registry ${this.ref.registry} requires credentials`);
      return `Basic ${basic}`;
    }
    if (auth?.registrytoken) return `Bearer ${auth.registrytoken}`;
    const params = Object.fromEntries(
      [...challenge.matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1].toLowerCase(), m[2]]),
    );
    if (!params.realm)
      throw new PullError("ErrImagePull", `registry ${this.ref.registry}: unsupported auth challenge`);
    const url = new URL(params.realm);
    if (params.service) url.searchParams.set("service", params.service);
    url.searchParams.set("scope", params.scope ?? `repository:${this.ref.repository}:pull`);
    const response = await this.fetcher(url, {
      headers: basic ? { Authorization: `Basic ${basic}` } : {},
      signal: this.options.signal,
    });
    if (!response.ok) throw new PullError("ErrImagePull", `token endpoint answered ${response.status}`);
    const body = (await response.json()) as { token?: string; access_token?: string };
    const token = body.token ?? body.access_token;
    if (!token) throw new PullError("ErrImagePull", "token endpoint returned no token");
    return `Bearer ${token}`;
  }
}

/** The first bytes of a file (enough for wasmKind). */
async function readHeader(path: string): Promise<Uint8Array> {
  const file = await open(path, "r");
  try {
    const { buffer, bytesRead } = await file.read(Buffer.alloc(8), 0, 8, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await file.close();
  }
}

function sha256(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

function writeAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.${Math.random().toString(36).slice(2)}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
