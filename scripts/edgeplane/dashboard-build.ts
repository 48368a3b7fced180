/**
 * Build the dashboard (workers/dashboard/ui, Preact) into the Worker's static
 * assets: ui/index.html plus content-hashed ui/assets/app-<hash>.{js,css},
 * minified by esbuild. index.html loads them by absolute path with no inline
 * script or style, so the strict CSP of workers/dashboard holds.
 */
import { mkdir, readdir, rename, rm, writeFile } from "node:fs/promises";
import { basename, join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";

/** Where the build lands, relative to the repository root (wrangler.toml [assets] directory + ui/). */
export const DASHBOARD_ASSETS = "workers/join/assets/ui";

/** What one build produced. */
export interface DashboardBuild {
  /** Output file names under ui/assets/. */
  files: string[];
  /** Bytes of the JavaScript and CSS, raw and gzipped (the budget is on gzipped). */
  bytes: number;
  gzipBytes: number;
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
    outdir: assets,
    write: false,
    legalComments: "none",
    logLevel: "silent",
  });
  const files: string[] = [];
  let bytes = 0;
  let gzipBytes = 0;
  for (const file of result.outputFiles) {
    const name = basename(file.path);
    files.push(name);
    bytes += file.contents.byteLength;
    gzipBytes += gzipSync(file.contents, { level: 9 }).byteLength;
    await writeAtomically(join(assets, name), file.contents);
  }
  const script = files.find((f) => f.endsWith(".js"));
  const style = files.find((f) => f.endsWith(".css"));
  if (!script || !style)
    throw new Error(`dashboard build produced ${files.join(", ")}: want one .js and one .css`);
  await writeAtomically(join(out, "index.html"), indexHtml(script, style));
  // Old hashed files go once the new index.html no longer names them.
  for (const name of await readdir(assets))
    if (!files.includes(name)) await rm(join(assets, name), { force: true });
  return { files, bytes, gzipBytes };
}

function indexHtml(script: string, style: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
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
