// Runs a WASI preview2 component (wasi:cli/run or wasi:http/incoming-handler)
// for runner.cjs, in the runner's own process: transpiled once per content
// digest with jco (cached under config.cacheDir), instantiated with
// preview2-shim's WASIShim sandbox (args, env, preopens = the pod's volumes
// only). preview2-shim writes the component's stdout/stderr with
// process.stdout/stderr.write on the main thread (and its I/O worker's
// console through the same streams), so replacing those two writes turns the
// output into CRI log lines without a second process (which doubled every
// component pod's memory: two Node runtimes, ~52 MiB PSS).
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { pathToFileURL } from "node:url";

/** Sends everything written to process.stdout/stderr to `log` as CRI lines of that stream. */
export function captureStdio(log, streams = { stdout: process.stdout, stderr: process.stderr }) {
  for (const [name, stream] of Object.entries(streams)) {
    stream.write = (chunk, encoding, callback) => {
      log.write(
        name,
        typeof chunk === "string"
          ? Buffer.from(chunk, typeof encoding === "string" ? encoding : "utf8")
          : chunk,
      );
      const done = typeof encoding === "function" ? encoding : callback;
      if (typeof done === "function") process.nextTick(done);
      return true;
    };
  }
}

/** Instantiates and runs (or serves) the component; its output goes to `log`. */
export async function runComponent(config, log, onReady = () => {}) {
  const moduleDir = await transpiled(config);
  captureStdio(log);
  // SIGTERM (the kubelet's stop) ends the process as the signal would, but after the last partial line is logged.
  for (const [signal, number] of [
    ["SIGTERM", 15],
    ["SIGINT", 2],
  ])
    process.on(signal, () => process.exit(128 + number));
  const { WASIShim } = await import("@bytecodealliance/preview2-shim/instantiation");
  const shim = new WASIShim({
    sandbox: {
      preopens: config.preopens,
      env: config.env,
      args: [config.name, ...config.args],
      enableNetwork: true,
    },
  });
  const { instantiate } = await import(pathToFileURL(join(moduleDir, "component.js")).href);
  const getCoreModule = (path) => WebAssembly.compile(readFileSync(join(moduleDir, path)));
  const instance = await instantiate(getCoreModule, shim.getImportObject());
  onReady();
  const handler = instance.incomingHandler ?? instance["wasi:http/incoming-handler@0.2.0"];
  if (handler) {
    const { HTTPServer } = await import("@bytecodealliance/preview2-shim/http");
    const server = new HTTPServer(handler);
    const port = config.httpPort ?? 8080;
    server.listen(port, "0.0.0.0");
    console.error(`serving wasi:http component on 0.0.0.0:${port}`);
    return;
  }
  const run = instance.run ?? instance["wasi:cli/run@0.2.0"];
  if (!run?.run) throw new Error("component exports neither wasi:cli/run nor wasi:http/incoming-handler");
  try {
    run.run();
  } catch (error) {
    // wasi:cli/exit surfaces as a ComponentError carrying the status.
    if (error?.payload?.tag === "err" || error?.message?.includes("exit")) process.exit(1);
    throw error;
  }
  process.exit(0);
}

/** The transpiled component for config.moduleDigest, building it on first use (the agent calls this at pull time). */
export async function transpiled(config) {
  const dir = join(config.cacheDir, config.moduleDigest.replace(":", "-"));
  if (existsSync(join(dir, "component.js"))) return dir;
  const { transpile } = await import("@bytecodealliance/jco");
  const out = await transpile(readFileSync(config.modulePath), {
    name: "component",
    instantiation: { tag: "async" },
    noTypescript: true,
  });
  const tmp = `${dir}.${process.pid}.tmp`;
  for (const [path, bytes] of Object.entries(out.files)) {
    mkdirSync(dirname(join(tmp, path)), { recursive: true });
    writeFileSync(join(tmp, path), bytes);
  }
  // Another pod may have won the race; either copy is complete.
  if (!existsSync(join(dir, "component.js"))) {
    mkdirSync(dirname(dir), { recursive: true });
    try {
      renameSync(tmp, dir);
    } catch {
      rmSync(tmp, { recursive: true, force: true });
    }
  } else rmSync(tmp, { recursive: true, force: true });
  return dir;
}

// `node component-runner.mjs --transpile <json>`: the agent's pull-time transpile, in its own process.
if (process.argv[2] === "--transpile") {
  await transpiled(JSON.parse(process.argv[3]));
  process.exit(0);
}
