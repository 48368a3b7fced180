/**
 * The self-contained node agent bundle the control plane serves to joining
 * hosts (/edgeplane/v1/join/agent.tar.gz): every npm dependency bundled in,
 * so a host needs only Node.js 20+ (and containerd for containers). Layout:
 *   agent.mjs    the agent (node-agent/src/cli.ts)
 *   runner.mjs, wasi-guard.mjs, component-runner.mjs
 *                the WASM runner the agent spawns per container, as they are
 *                in the source: the sandbox binds exactly these three files
 *                (runtime/wasm/sandbox.ts) and they import only node:*
 *   reset.mjs    removes the pods the agent left (join.sh --uninstall)
 *   chunk-*.mjs  code agent.mjs and reset.mjs share
 *   api.proto    the CRI API the containerd client loads at run time
 *   scripts/     containerd's config template and the offline image builder (CRI)
 *   VERSION      EDGEPLANE_VERSION
 * WASI components additionally need @bytecodealliance/jco, which is not
 * bundled (a dev dependency of many megabytes): core WASM modules and OCI
 * containers work without it.
 */
import { createHash } from "node:crypto";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build, type Plugin } from "esbuild";
import { pack } from "tar-stream";
import { EDGEPLANE_VERSION } from "../../workers/client/version.ts";

/** The built bundle. */
export interface AgentBundle {
  path: string;
  bytes: number;
  sha256: string;
  version: string;
}

/** Where the bundle goes inside the Worker's static assets directory. */
export const BUNDLE_ASSET = "workers/join/assets/agent/edgeplane-agent.tar.gz";

// CommonJS dependencies (grpc-js, protobufjs) call require() for Node built-ins, which an ESM bundle lacks.
const BANNER =
  'import { createRequire as __epRequire } from "node:module"; const require = __epRequire(import.meta.url);';

/**
 * The CRI sources find their data files four directories up from themselves
 * (the repository's scripts/); in the bundle they sit in ./scripts next to agent.mjs.
 */
const relocateScripts: Plugin = {
  name: "relocate-scripts",
  setup(b) {
    b.onLoad({ filter: /runtime\/cri\/(setup|containerd)\.ts$/ }, async (args) => ({
      contents: (await readFile(args.path, "utf8")).replaceAll('"../../../../scripts/', '"./scripts/'),
      loader: "ts",
    }));
  },
};

/** The agent and reset.mjs, sharing their common code through chunks (chunk-*.mjs) instead of each carrying a copy. */
async function programs(entryPoints: Record<string, string>): Promise<[string, string][]> {
  const result = await build({
    entryPoints,
    bundle: true,
    splitting: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outdir: "/bundle",
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunk-[hash]",
    plugins: [relocateScripts],
    banner: { js: BANNER },
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles.map((f) => [f.path.slice("/bundle/".length), f.text]);
}

/** A gzipped tarball of `files` (path → content), root-owned, with fixed times so equal inputs give equal bytes. */
async function tarGz(files: [string, string | Buffer, number][]): Promise<Buffer> {
  const tar = pack();
  const chunks: Buffer[] = [];
  tar.on("data", (c) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    tar.on("end", () => resolve());
    tar.on("error", reject);
  });
  for (const [name, content, mode] of files)
    await new Promise<void>((resolve, reject) =>
      tar.entry({ name, mode, mtime: new Date(0), uid: 0, gid: 0 }, content, (e) =>
        e ? reject(e) : resolve(),
      ),
    );
  tar.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** Build the bundle from the repository at `root` into `root/BUNDLE_ASSET`. */
export async function buildAgentBundle(root: string, out = join(root, BUNDLE_ASSET)): Promise<AgentBundle> {
  const wasm = join(root, "node-agent/src/runtime/wasm");
  const runnerFiles = ["runner.mjs", "wasi-guard.mjs", "component-runner.mjs"];
  const [code, runners, proto, containerdTmpl, buildSh] = await Promise.all([
    programs({
      agent: join(root, "node-agent/src/cli.ts"),
      reset: join(root, "scripts/edgeplane/agent-reset.ts"),
    }),
    Promise.all(runnerFiles.map((f) => readFile(join(wasm, f)))),
    readFile(join(root, "node-agent/src/runtime/cri/api.proto")),
    readFile(join(root, "scripts/containerd/config.toml.tmpl")),
    readFile(join(root, "scripts/images/build.sh")),
  ]);
  const tgz = await tarGz([
    ...code.map(([name, text]): [string, string, number] => [name, text, 0o644]),
    ...runnerFiles.map((name, i): [string, Buffer, number] => [name, runners[i], 0o644]),
    ["api.proto", proto, 0o644],
    ["scripts/containerd/config.toml.tmpl", containerdTmpl, 0o644],
    ["scripts/images/build.sh", buildSh, 0o755],
    ["VERSION", `${EDGEPLANE_VERSION}\n`, 0o644],
  ]);
  await mkdir(join(out, ".."), { recursive: true });
  await writeFile(`${out}.tmp`, tgz);
  await rename(`${out}.tmp`, out);
  return {
    path: out,
    bytes: tgz.byteLength,
    sha256: createHash("sha256").update(tgz).digest("hex"),
    version: EDGEPLANE_VERSION,
  };
}
