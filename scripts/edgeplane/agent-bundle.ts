/**
 * The self-contained node agent bundle the control plane serves to joining
 * hosts (/edgeplane/v1/join/agent.tar.gz): every npm dependency bundled in,
 * so a host needs only Node.js 20+ (and containerd for containers). Layout:
 *   agent.mjs    the agent (node-agent/src/cli.ts)
 *   runner.cjs, component-runner.mjs
 *                the WASM runner the agent spawns per container, as they are
 *                in the source: the sandbox binds exactly these three files
 *                (runtime/wasm/sandbox.ts) and they import only node:*
 *   reset.mjs    removes the pods the agent left (join.sh --uninstall)
 *   chunk-*.mjs  code agent.mjs and reset.mjs share
 *   api.proto    the CRI API the containerd client loads at run time
 *   scripts/     containerd's config template and the offline image builder (CRI)
 *   VERSION      EDGEPLANE_VERSION
 *   node_modules/@bytecodealliance/
 *     preview2-shim/  the WASI preview2 host the component runner imports,
 *                     as published (the sandbox binds it read-only)
 *     jco/            jco's transpile() alone, bundled by esbuild with the
 *                     wasm it loads beside it: what the agent runs at pull
 *                     time to turn a WASI component into JS (jco as
 *                     published is ~80 MB with its componentize toolchains)
 */
import { createHash } from "node:crypto";
import { mkdir, readdir, readFile, rename, writeFile } from "node:fs/promises";
import { join, relative } from "node:path";
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

/** Where npm installed a package (hoisted to the root's node_modules, as the lockfile has it). */
function installed(root: string, name: string): string {
  return join(root, "node_modules", name);
}

/**
 * What jco's transpile() imports only for options the agent never passes
 * (minify, optimize, asm.js, stub, componentize): left out of the bundle,
 * an error if ever reached. wasm-tools' 2.4 MB core module is one of them.
 */
const notInBundle: Plugin = {
  name: "not-in-bundle",
  setup(b) {
    b.onResolve(
      {
        filter:
          /^(oxc-minify|binaryen|typescript|rolldown|componentize-qjs|@bytecodealliance\/componentize-js.*|\.\.\/vendor\/wasm-tools\.js)$/,
      },
      (args) => ({ path: args.path, namespace: "not-in-bundle" }),
    );
    b.onLoad({ filter: /.*/, namespace: "not-in-bundle" }, (args) => ({
      contents: `const missing = () => { throw new Error(${JSON.stringify(`${args.path} is not in the agent bundle`)}); };
export const minify = missing; export const $init = Promise.resolve();
export const tools = new Proxy({}, { get: () => missing }); export default missing;`,
      loader: "js",
    }));
  },
};

/**
 * jco's transpile() as one module, plus the files it loads by URL relative to
 * itself (the bindgen and wasm-tools core wasm, preview2-shim's I/O worker),
 * laid out as a package the component runner imports by name.
 */
async function transpiler(root: string): Promise<[string, string | Buffer, number][]> {
  const dir = "node_modules/@bytecodealliance/jco";
  const result = await build({
    stdin: { contents: 'export { transpile } from "@bytecodealliance/jco";', resolveDir: root, loader: "js" },
    bundle: true,
    platform: "node",
    format: "esm",
    target: "node20",
    outfile: "/bundle/transpile.mjs",
    plugins: [notInBundle],
    banner: { js: BANNER },
    minify: true,
    legalComments: "none",
    write: false,
    logLevel: "silent",
  });
  const jco = installed(root, "@bytecodealliance/jco");
  const shim = installed(root, "@bytecodealliance/preview2-shim");
  const vendor = join(installed(root, "@bytecodealliance/jco-transpile"), "vendor");
  const { version } = JSON.parse(await readFile(join(jco, "package.json"), "utf8")) as { version: string };
  const wasm = (await readdir(vendor)).filter((f) => /^js-component-bindgen-component\..*wasm$/.test(f));
  const manifest = { name: "@bytecodealliance/jco", version, type: "module", exports: "./transpile.mjs" };
  return [
    [`${dir}/package.json`, `${JSON.stringify(manifest)}\n`, 0o644],
    [`${dir}/transpile.mjs`, result.outputFiles[0].text, 0o644],
    ...(await Promise.all(
      wasm.map(
        async (f): Promise<[string, Buffer, number]> => [
          `${dir}/${f}`,
          await readFile(join(vendor, f)),
          0o644,
        ],
      ),
    )),
    [`${dir}/worker-thread.bundle.js`, await readFile(join(shim, "dist/io/worker-thread.bundle.js")), 0o644],
  ];
}

/** A published package's files (package.json, dist/), as the tarball's entries under node_modules/<name>. */
async function packageFiles(root: string, name: string): Promise<[string, Buffer, number][]> {
  const pkg = installed(root, name);
  const files = [
    "package.json",
    ...(await readdir(join(pkg, "dist"), { recursive: true })).map((f) => join("dist", f)),
  ];
  const entries: [string, Buffer, number][] = [];
  for (const file of files.sort()) {
    if (!file.endsWith(".js") && file !== "package.json") continue;
    entries.push([
      `node_modules/${name}/${relative(pkg, join(pkg, file))}`,
      await readFile(join(pkg, file)),
      0o644,
    ]);
  }
  return entries;
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
  const runnerFiles = ["runner.cjs", "component-runner.mjs"];
  const [code, runners, proto, containerdTmpl, buildSh, jco, shim] = await Promise.all([
    programs({
      agent: join(root, "node-agent/src/cli.ts"),
      reset: join(root, "scripts/edgeplane/agent-reset.ts"),
    }),
    Promise.all(runnerFiles.map((f) => readFile(join(wasm, f)))),
    readFile(join(root, "node-agent/src/runtime/cri/api.proto")),
    readFile(join(root, "scripts/containerd/config.toml.tmpl")),
    readFile(join(root, "scripts/images/build.sh")),
    transpiler(root),
    packageFiles(root, "@bytecodealliance/preview2-shim"),
  ]);
  const tgz = await tarGz([
    ...code.map(([name, text]): [string, string, number] => [name, text, 0o644]),
    ...runnerFiles.map((name, i): [string, Buffer, number] => [name, runners[i], 0o644]),
    ["api.proto", proto, 0o644],
    ["scripts/containerd/config.toml.tmpl", containerdTmpl, 0o644],
    ["scripts/images/build.sh", buildSh, 0o755],
    ["VERSION", `${EDGEPLANE_VERSION}\n`, 0o644],
    ...jco,
    ...shim,
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
