/**
 * End-to-end harness: starts the real Edgeplane Worker (workers/index.ts,
 * bundled with esbuild) under Miniflare/workerd on loopback, behind the same
 * front end `npm start` puts before it (scripts/local/front-end.ts: HTTPS on a
 * random port, client connections held as the edge holds them), with the
 * Durable Object, R2 and var bindings read from wrangler.toml, and drives it
 * with the real kubectl binaries.
 *
 * One control plane per test file (start in beforeAll, stop in afterAll).
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { Agent, fetch as undiciFetch } from "undici";
import { inject } from "vitest";
import { outboundTrusting } from "../../scripts/local/controlplane.ts";
import { startFrontEndThread } from "../../scripts/local/front-end-thread.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { startApiProcesses } from "../../scripts/local/split.ts";
import { buildWorker, type WorkerBuild } from "./worker-build.ts";

/** Repository root (test/e2e/ is two levels down). */
export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../..");

/** kubectl versions shipped next to the default binary. */
export type KubectlVersion = "1.27" | "1.28" | "1.29" | "1.30" | "1.31" | "1.32" | "1.33";

/** Result of one kubectl run. */
export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A running local control plane. */
export interface ControlPlane {
  /** https://127.0.0.1:<port>: the front end. */
  url: string;
  /** http://127.0.0.1:<port>: workerd itself (the first API process), behind the front end (what the front end protects clients from). */
  workerdUrl: string;
  /** The admin bearer token (random per start). */
  token: string;
  /** Path of a kubeconfig file holding url + token. */
  kubeconfig: string;
  mf: Miniflare;
  /** fetch() against the control plane (self-signed TLS accepted), with the admin token unless headers say otherwise. */
  fetch(path: string, init?: RequestInit): Promise<Response>;
  /** Run real kubectl against this control plane (own kubeconfig and a temp --cache-dir). */
  kubectl(
    args: string[],
    opts?: { version?: KubectlVersion; input?: string; timeoutMs?: number },
  ): Promise<KubectlResult>;
  /** Start a long-running kubectl (e.g. `get -w`) whose output can be awaited; always stop() it. */
  kubectlStream(args: string[], opts?: { version?: KubectlVersion }): KubectlStream;
  /** Stop workerd and remove temp files (persistDir is kept). */
  stop(): Promise<void>;
}

/** A running kubectl whose stdout is collected as it arrives. */
export interface KubectlStream {
  /** Everything printed on stdout so far. */
  output(): string;
  /** Resolve once stdout matches, or reject after timeoutMs (default 20 s) with the output so far. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** Kill the process and wait for it to exit. */
  stop(): Promise<void>;
}

/** Options for startControlPlane. */
export interface ControlPlaneOptions {
  /** Keep Durable Object/R2 state here (survives stop/start); default a temp dir removed on stop. */
  persistDir?: string;
  /** Extra or overriding bindings (vars/secrets), e.g. { ADMIN_TOKEN: "..." }. */
  env?: Record<string, string>;
  /** Serve HTTPS with this certificate (e.g. signed by a test CA) instead of a fresh self-signed one. */
  tls?: { certPath: string; keyPath: string };
  /** PEM CA certificates the Worker's outgoing fetches trust besides the public CAs (e.g. a test webhook's CA). */
  trustedCertificates?: string[];
  /** Open workerd's V8 inspector on this port (CPU profiles of the Worker; benchmarks, debugging). */
  inspectorPort?: number;
  /**
   * Run the API in this many workerd processes of its own, the Durable Objects in another
   * (scripts/local/split.ts, the edge's topology); 0, the default: all in one process. In split
   * mode the OCI registry's R2 bucket is per API process (not shared): for API benchmarks.
   * Default: EDGEPLANE_API_PROCESSES, else 0 (so a suite can be run split as it is).
   */
  apiProcesses?: number;
  /** false: no front end, workerd serves HTTPS itself (the path before the front end, for the bench's comparison). */
  frontEnd?: boolean;
}

let buildPromise: Promise<WorkerBuild> | undefined;

/**
 * Under vitest, the build the global setup made once for every test file (bundling and importing wrangler
 * cost each file seconds of its start); elsewhere (benchmarks), made here once per process.
 */
function workerBuild(): Promise<WorkerBuild> {
  const provided = process.env.VITEST ? inject("edgeplaneWorker") : undefined;
  buildPromise ??= provided ? Promise.resolve(provided) : buildWorker();
  return buildPromise;
}

/** Directory holding kubectl.1.27 ... kubectl.1.33 next to the real kubectl. */
async function kubectlDir(): Promise<string> {
  const real = await new Promise<string>((res, rej) =>
    execFile("sh", ["-c", 'readlink -f "$(command -v kubectl)"'], (err, out) =>
      err ? rej(err) : res(out.trim()),
    ),
  );
  return dirname(real);
}

/** Start the Worker under Miniflare on 127.0.0.1:<random port> and write a kubeconfig for it. */
export async function startControlPlane(options: ControlPlaneOptions = {}): Promise<ControlPlane> {
  options = {
    ...options,
    apiProcesses: options.apiProcesses ?? Number(process.env.EDGEPLANE_API_PROCESSES ?? 0),
  };
  const temp = await mkdtemp(join(tmpdir(), "edgeplane-e2e-"));
  const persist = options.persistDir ?? join(temp, "state");
  const token = options.env?.ADMIN_TOKEN ?? randomBytes(24).toString("hex");
  const [{ script, workerOptions }, binDir] = await Promise.all([workerBuild(), kubectlDir()]);
  const bindings = {
    ...((workerOptions.bindings as Record<string, unknown>) ?? {}),
    // Secrets are encrypted at rest, as under `npm start`: a fresh key per control plane unless the test brings one.
    ENCRYPTION_KEYS: `e2e:${randomBytes(32).toString("base64")}`,
    ...options.env,
    ADMIN_TOKEN: token,
  };
  const worker = {
    ...workerOptions,
    name: "edgeplane",
    modules: [{ type: "ESModule", path: join(ROOT, "workers/index.js"), contents: script }],
    bindings,
    ...(options.trustedCertificates && { outboundService: outboundTrusting(options.trustedCertificates) }),
  } as WorkerOptions;
  // Cron triggers are fired by tests explicitly (mf.dispatchFetch("/cdn-cgi/handler/scheduled")) when needed.
  const mf = new Miniflare({
    workers: [worker],
    // Plain HTTP on loopback: the front end below serves HTTPS (kubectl, client-go, sends bearer
    // tokens only over TLS; the kubeconfig skips verification for loopback).
    host: "127.0.0.1",
    port: 0,
    // No network here: placeholder Request.cf instead of fetching it from Cloudflare.
    cf: false,
    ...(options.inspectorPort ? { inspectorPort: options.inspectorPort } : {}),
    durableObjectsPersist: join(persist, "do"),
    r2Persist: join(persist, "r2"),
    kvPersist: join(persist, "kv"),
    cachePersist: join(persist, "cache"),
    // EDGEPLANE_LOG=warn|info|debug shows the Worker's console output (benchmarks, debugging); silent by default.
    log: logFromEnv(process.env.EDGEPLANE_LOG),
    ...(options.apiProcesses && { unsafeDevRegistryPath: join(temp, "registry") }),
    ...(options.frontEnd === false && { https: true }),
  });
  let url: string;
  let upstreams: URL[];
  const apis: Miniflare[] = [];
  let front: Awaited<ReturnType<typeof startFrontEndThread>> | undefined;
  try {
    upstreams = [await mf.ready];
    if (options.apiProcesses) {
      const split = await startApiProcesses({
        worker,
        count: options.apiProcesses,
        registryPath: join(temp, "registry"),
        log: logFromEnv(process.env.EDGEPLANE_LOG),
      });
      apis.push(...split.processes);
      upstreams = split.urls;
    }
    if (options.frontEnd === false) {
      url = upstreams[0].toString().replace(/\/$/, "");
    } else {
      const tls = options.tls ?? (await selfSigned(join(temp, "pki")));
      front = await startFrontEndThread({
        host: "127.0.0.1",
        port: 0,
        tls: { cert: await readFile(tls.certPath), key: await readFile(tls.keyPath) },
        upstreams,
      });
      url = front.url;
    }
  } catch (error) {
    await Promise.all([mf, ...apis].map((m) => m.dispose().catch(() => {})));
    await rm(temp, { recursive: true, force: true });
    throw error;
  }
  const kubeconfig = join(temp, "kubeconfig");
  await writeFile(kubeconfig, kubeconfigYaml(url, token), { mode: 0o600 });
  const cacheDir = join(temp, "kube-cache");

  const dispatcher = new Agent({ connect: { rejectUnauthorized: false } });
  return {
    url,
    workerdUrl: upstreams[0].toString().replace(/\/$/, ""),
    token,
    kubeconfig,
    mf,
    fetch: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has("Authorization")) headers.set("Authorization", `Bearer ${token}`);
      return undiciFetch(url + path, {
        ...(init as object),
        headers,
        dispatcher,
      } as never) as unknown as Promise<Response>;
    },
    kubectl: (args, opts = {}) =>
      runKubectl(
        join(binDir, opts.version ? `kubectl.${opts.version}` : "kubectl"),
        ["--kubeconfig", kubeconfig, "--cache-dir", join(cacheDir, opts.version ?? "default"), ...args],
        opts.input,
        opts.timeoutMs ?? 60_000,
      ),
    kubectlStream: (args, opts = {}) =>
      streamKubectl(join(binDir, opts.version ? `kubectl.${opts.version}` : "kubectl"), [
        "--kubeconfig",
        kubeconfig,
        "--cache-dir",
        join(cacheDir, opts.version ?? "default"),
        ...args,
      ]),
    stop: async () => {
      await front?.stop().catch(() => {});
      for (const api of apis) await api.dispose().catch(() => {});
      await mf.dispose().catch(() => {});
      await dispatcher.close().catch(() => {});
      await rm(temp, { recursive: true, force: true });
    },
  };
}

/** A certificate for 127.0.0.1 from a throwaway CA (scripts/local/pki.ts, as `npm start` makes its own). */
async function selfSigned(dir: string): Promise<{ certPath: string; keyPath: string }> {
  const pki = await ensurePki(dir);
  return { certPath: pki.serverCert, keyPath: pki.serverKey };
}

/** Miniflare's log at the level EDGEPLANE_LOG names, or none. */
function logFromEnv(level: string | undefined): Log | undefined {
  const levels: Record<string, LogLevel> = {
    warn: LogLevel.WARN,
    info: LogLevel.INFO,
    debug: LogLevel.DEBUG,
  };
  return level && levels[level] !== undefined ? new Log(levels[level]) : undefined;
}

/** A kubeconfig with one cluster/user/context for url + token. */
export function kubeconfigYaml(url: string, token: string): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: edgeplane",
    "  cluster:",
    `    server: ${url}`,
    ...(url.startsWith("https:") ? ["    insecure-skip-tls-verify: true"] : []),
    "users:",
    "- name: admin",
    "  user:",
    `    token: ${token}`,
    "contexts:",
    "- name: edgeplane",
    "  context:",
    "    cluster: edgeplane",
    "    user: admin",
    "current-context: edgeplane",
    "",
  ].join("\n");
}

function runKubectl(bin: string, args: string[], input: string | undefined, timeout: number) {
  return new Promise<KubectlResult>((res) => {
    const child = execFile(
      bin,
      args,
      { timeout, maxBuffer: 64 * 1024 * 1024, env: { ...process.env, KUBECONFIG: "" } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === "number" ? error.code : 1) : 0;
        res({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

function streamKubectl(bin: string, args: string[]): KubectlStream {
  const child = spawn(bin, args, {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, KUBECONFIG: "" },
  });
  let stdout = "";
  let stderr = "";
  const listeners = new Set<() => void>();
  child.stdout.on("data", (chunk) => {
    stdout += String(chunk);
    for (const l of listeners) l();
  });
  child.stderr.on("data", (chunk) => {
    stderr += String(chunk);
  });
  const exited = new Promise<void>((res) => child.once("exit", () => res()));
  return {
    output: () => stdout,
    waitFor: (pattern, timeoutMs = 20_000) =>
      new Promise<string>((res, rej) => {
        const check = () => {
          if (pattern.test(stdout)) {
            cleanup();
            res(stdout);
          }
        };
        const timer = setTimeout(() => {
          cleanup();
          rej(new Error(`kubectl output never matched ${pattern}:\n${stdout}\n${stderr}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill("SIGTERM");
      await exited;
    },
  };
}
