// Builds the sample components that need `jco componentize` (JS → component:
// 6–27 s and ~0.7 GB here, so never inside a test): wasm/build/http-hello.wasm.
// Output is git-ignored and rebuilt only when missing (tests call ensureComponents()).
import { cpSync, existsSync, mkdirSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "build");

/** Path of the built HTTP component, building it first when missing. */
export async function ensureComponents() {
  const target = join(out, "http-hello.wasm");
  if (existsSync(target)) return { httpHello: target };
  const jcoWit = join(
    here,
    "..",
    "node_modules",
    "@bytecodealliance",
    "jco",
    "lib",
    "wit",
    "builtin",
    "0.2.12",
  );
  const wit = join(out, "wit-http-hello");
  rmSync(wit, { recursive: true, force: true });
  mkdirSync(join(wit, "deps"), { recursive: true });
  cpSync(join(here, "src", "http-hello", "world.wit"), join(wit, "world.wit"));
  for (const pkg of [
    "wasi-cli",
    "wasi-clocks",
    "wasi-filesystem",
    "wasi-http",
    "wasi-io",
    "wasi-random",
    "wasi-sockets",
  ])
    cpSync(join(jcoWit, pkg), join(wit, "deps", pkg), { recursive: true });
  // componentize-js reads files through the WASI shim, which sees only its preopens (RUNTIMES.md).
  const { _setPreopens } = await import("@bytecodealliance/preview2-shim/filesystem");
  _setPreopens({ "/": "/" });
  const { componentize } = await import("@bytecodealliance/componentize-js");
  const { component } = await componentize({
    sourcePath: join(here, "src", "http-hello", "handler.js"),
    witPath: wit,
    worldName: "http-hello",
    disableFeatures: ["random", "clocks", "http", "fetch-event"],
  });
  const tmp = `${target}.${process.pid}.tmp`;
  writeFileSync(tmp, component);
  renameSync(tmp, target);
  return { httpHello: target };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const t0 = Date.now();
  const built = await ensureComponents();
  console.log(`built ${built.httpHello} in ${Date.now() - t0} ms`);
}
