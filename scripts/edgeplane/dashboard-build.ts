/**
 * Build the dashboard (workers/dashboard/ui, Preact) into the Worker's static
 * assets: ui/index.html plus content-hashed ui/assets/app-<hash>.{js,css} and
 * the lazily loaded chunks (the terminal), minified by esbuild. index.html
 * loads them by absolute path with no inline script or style, so the strict
 * CSP of workers/dashboard holds; its style-nonce placeholder is filled per
 * response by the Worker (xterm.js's <style> elements need it).
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { STYLE_NONCE_PLACEHOLDER } from "../../workers/dashboard/nonce.ts";

/** Where the build lands, relative to the repository root (wrangler.toml [assets] directory + ui/). */
export const DASHBOARD_ASSETS = "workers/join/assets/ui";

/** What one build produced. */
export interface DashboardBuild {
  /** Output file names under ui/assets/. */
  files: string[];
  /** Bytes of what a page load fetches (entry JS, its static chunks, CSS), raw and gzipped: the budget is on gzipped. */
  bytes: number;
  gzipBytes: number;
  /** Gzipped bytes fetched only when a terminal opens (xterm.js). */
  lazyGzipBytes: number;
}

/** Bundle the app from `root` into `root/DASHBOARD_ASSETS` (index.html written last, so a reader never sees it early). */
export async function buildDashboard(root: string): Promise<DashboardBuild> {
  const out = join(root, DASHBOARD_ASSETS);
  const assets = join(out, "assets");
  await mkdir(assets, { recursive: true });
  const result = await build({
    absWorkingDir: root,
    entryPoints: { app: "workers/dashboard/ui/main.tsx" },
    bundle: true,
    minify: true,
    format: "esm",
    target: "es2022",
    jsx: "automatic",
    jsxImportSource: "preact",
    entryNames: "[name]-[hash]",
    chunkNames: "[name]-[hash]",
    splitting: true,
    metafile: true,
    outdir: assets,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const files: string[] = [];
  const gzipped = new Map<string, number>();
  let rawInitial = 0;
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    files.push(name);
    gzipped.set(name, gzipSync(file.contents, { level: 9 }).byteLength);
    await writeAtomically(join(assets, name), file.contents);
  }
  const script = files.find((f) => /^app-.*\.js$/.test(f));
  const style = files.find((f) => f.endsWith(".css"));
  if (!script || !style)
    throw new Error(`dashboard build produced ${files.join(", ")}: want app-*.js and a .css`);
  // What a page load fetches: the entry, the chunks it imports statically (transitively), and the CSS.
  const outputs = result.metafile.outputs;
  const initial = new Set<string>([style]);
  const visit = (name: string) => {
    if (initial.has(name)) return;
    initial.add(name);
    const meta = Object.entries(outputs).find(([path]) => basename(path) === name)?.[1];
    for (const i of meta?.imports ?? []) if (i.kind === "import-statement") visit(basename(i.path));
  };
  visit(script);
  let gzipBytes = 0;
  let lazyGzipBytes = 0;
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    if (initial.has(name)) {
      rawInitial += file.contents.byteLength;
      gzipBytes += gzipped.get(name) ?? 0;
    } else if (!name.endsWith(".map")) lazyGzipBytes += gzipped.get(name) ?? 0;
  }
  await writeAtomically(join(out, "index.html"), indexHtml(script, style));
  // Old hashed files go once the new index.html no longer names them; another build's files in flight (.tmp)
  // stay (the e2e test and wrangler's [build] may build at once from the same sources, so the same names).
  for (const name of await readdir(assets))
    if (!files.includes(name) && !name.endsWith(".tmp")) await rm(join(assets, name), { force: true });
  return { files, bytes: rawInitial, gzipBytes, lazyGzipBytes };
}

function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="style-nonce" content="${STYLE_NONCE_PLACEHOLDER}">
<title>Edgeplane dashboard</title>
<link rel="stylesheet" href="/ui/assets/${style}">
<script type="module" src="/ui/assets/${script}"></script>
</head>
<body>
<div id="app"><noscript>The Edgeplane dashboard needs JavaScript.</noscript></div>
</body>
</html>
`;
}

async function writeAtomically(path: string, contents: Uint8Array | string): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, contents);
  await rename(tmp, path);
}
