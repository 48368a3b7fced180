/**
 * The control plane on the local machine: the Worker (workers/index.ts,
 * bundled with esbuild as wrangler does) under Miniflare/workerd on loopback,
 * behind the local front end (scripts/local/front-end.ts: HTTPS on
 * 127.0.0.1, holding client connections as Cloudflare's edge does), with the
 * bindings from wrangler.toml and every Durable Object and R2 object
 * persisted under the state dir, plus the cron triggers fired on their
 * schedule (Miniflare, like `wrangler dev`, does not).
 */
import { createWriteStream, readFileSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import type { Readable } from "node:stream";
import { build } from "esbuild";
import { Log, LogLevel, Miniflare, type WorkerOptions } from "miniflare";
import { startCronLoop } from "./cron.ts";
import { startFrontEndThread } from "./front-end-thread.ts";
import { descendants } from "./process-tree.ts";

/** What startControlPlane needs. */
export interface ControlPlaneOptions {
  root: string;
  stateDir: string;
  port: number;
  /** The server certificate, and the CA whose certificates the Worker trusts on its outgoing fetches (webhooks). */
  tls: { certPath: string; keyPath: string; caPath?: string };
  /** Secrets and vars layered over wrangler.toml's [vars] (ADMIN_TOKEN). */
  secrets: Record<string, string>;
  /** Where workerd's stdout/stderr (the Worker's console) go. */
  logFile: string;
  /** Called with each cron run's outcome (for progress output). */
  onCron?: (cron: string, error?: unknown) => void;
  /** Called when workerd exits without stop() or restart() asking it to (scripts/local/supervise.ts restarts it). */
  onExit?: (pid: number | undefined) => void;
}

/** A running local control plane. */
export interface LocalControlPlane {
  /** https://127.0.0.1:<port>: the front end. */
  url: string;
  /** http://127.0.0.1:<port> of the Worker's ingress-only entrypoint (loopback; TLS goes in front). */
  ingressUrl: URL;
  crons: string[];
  /** Run the scheduled() handler once now, as a cron trigger would. */
  fireCron(cron: string): Promise<void>;
  /** workerd's process id (undefined while it is down). */
  pid(): number | undefined;
  /** Start workerd again on the same state, port, certificate and bindings (after it died). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * The Worker's outbound network: what workerd allows by default (public and
 * private addresses, the public CAs) plus `caPems`, so the Worker's fetch to
 * an admission webhook served with a certificate of the cluster's own CA
 * verifies. workerd takes trusted CAs per network, not per request: a
 * webhook's caBundle cannot be used by fetch, this is the closest it gets.
 */
export function outboundTrusting(caPems: string[]): WorkerOptions["outboundService"] {
  return {
    network: {
      allow: ["public", "private", "240.0.0.0/4"],
      deny: [],
      tlsOptions: { trustBrowserCas: true, trustedCertificates: caPems },
    },
  };
}

/** Bundle the Worker the way wrangler does for workerd (ESM, node:* and cloudflare:* left to the runtime). */
export async function bundleWorker(root: string): Promise<string> {
  const result = await build({
    entryPoints: [join(root, "workers/index.ts")],
    bundle: true,
    format: "esm",
    platform: "neutral",
    target: "es2022",
    mainFields: ["module", "main"],
    conditions: ["workerd", "worker", "browser"],
    external: ["cloudflare:*", "node:*"],
    write: false,
    logLevel: "silent",
  });
  return result.outputFiles[0].text;
}

const SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

/**
 * Run `fn` and drop any SIGINT/SIGTERM/SIGHUP handlers it installed. Importing
 * wrangler and constructing Miniflare both install handlers that exit the
 * process at once; Ctrl-C must instead first stop the node agents, then
 * workerd (scripts/local/main.ts owns the signals). Miniflare's exit hook,
 * which kills workerd if we die anyway, stays.
 */
async function withoutTheirSignalHandlers<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = new Map(SIGNALS.map((s) => [s, new Set(process.listeners(s))]));
  try {
    return await fn();
  } finally {
    for (const signal of SIGNALS) {
      for (const listener of process.listeners(signal)) {
        if (!before.get(signal)?.has(listener)) process.removeListener(signal, listener);
      }
    }
  }
}

/**
 * wrangler.toml read by wrangler's own config readers, so local bindings are exactly what `wrangler deploy`
 * ships: the Worker's Miniflare options and its cron schedule.
 */
export async function wranglerConfig(
  root: string,
): Promise<{ workerOptions: WorkerOptions; crons: string[] }> {
  const config = join(root, "wrangler.toml");
  const wrangler = await withoutTheirSignalHandlers(() => import("wrangler"));
  return {
    workerOptions: wrangler.unstable_getMiniflareWorkerOptions(config).workerOptions as WorkerOptions,
    crons: wrangler.unstable_readConfig({ config }).triggers?.crons ?? [],
  };
}

/** The Worker's named entrypoint serving only ingress (workers/index.ts). */
const INGRESS_ENTRYPOINT = "IngressEntrypoint";

/** Start the Worker on 127.0.0.1:<port> over HTTPS, and its cron schedule. */
export async function startControlPlane(options: ControlPlaneOptions): Promise<LocalControlPlane> {
  const script = await bundleWorker(options.root);
  const { workerOptions, crons } = await wranglerConfig(options.root);
  const persist = join(options.stateDir, "state");
  await mkdir(persist, { recursive: true });
  const log = createWriteStream(options.logFile, { flags: "a" });
  const worker = {
    ...workerOptions,
    name: "edgeplane",
    // The ingress front door alone, on a loopback port of its own (scripts/local/ingress-port.ts puts TLS in front).
    unsafeDirectSockets: [{ host: "127.0.0.1", port: 0, entrypoint: INGRESS_ENTRYPOINT }],
    modules: [{ type: "ESModule", path: join(options.root, "workers/index.js"), contents: script }],
    bindings: { ...((workerOptions.bindings as Record<string, unknown>) ?? {}), ...options.secrets },
    ...(options.tls.caPath && {
      outboundService: outboundTrusting([readFileSync(options.tls.caPath, "utf8")]),
    }),
  } as WorkerOptions;
  // workerd's stdout ends when it exits: that, outside stop() and restart(), is a crash.
  let expectExit = false;
  let workerdPid: number | undefined;
  const mfOptions = {
    workers: [worker],
    // Plain HTTP on loopback: the front end terminates TLS, as the edge does before the Worker.
    host: "127.0.0.1",
    port: 0,
    durableObjectsPersist: join(persist, "do"),
    r2Persist: join(persist, "r2"),
    kvPersist: join(persist, "kv"),
    cachePersist: join(persist, "cache"),
    // The Request.cf lookup needs the internet; a local cluster must not.
    cf: false,
    log: new Log(LogLevel.WARN),
    handleRuntimeStdio(stdout: Readable, stderr: Readable) {
      stdout.pipe(log, { end: false });
      stderr.pipe(log, { end: false });
      stdout.once("end", () => {
        const pid = workerdPid;
        workerdPid = undefined;
        if (!expectExit) options.onExit?.(pid);
      });
    },
  };
  const mf = await withoutTheirSignalHandlers(() => new Miniflare(mfOptions));
  let upstream: URL;
  let ingressUrl: URL;
  let front: Awaited<ReturnType<typeof startFrontEndThread>>;
  try {
    upstream = await mf.ready;
    ingressUrl = await mf.unsafeGetDirectURL("edgeplane", INGRESS_ENTRYPOINT);
    front = await startFrontEndThread({
      host: "127.0.0.1",
      port: options.port,
      tls: { cert: readFileSync(options.tls.certPath), key: readFileSync(options.tls.keyPath) },
      upstreams: [upstream],
    });
  } catch (error) {
    await mf.dispose().catch(() => {});
    log.end();
    throw error;
  }
  const url = front.url;
  workerdPid = findWorkerd();
  // A restart serves on the port the first start got, so the front end's upstream stays right.
  mfOptions.port = Number(upstream.port);

  const fireCron = async (cron: string) => {
    const w = await mf.getWorker("edgeplane");
    await w.scheduled({ cron, scheduledTime: new Date() });
  };
  const loop = startCronLoop(crons, async (cron) => {
    try {
      await fireCron(cron);
      options.onCron?.(cron);
    } catch (error) {
      if (!loop.stopped) options.onCron?.(cron, error);
    }
  });

  return {
    url,
    ingressUrl,
    crons,
    fireCron,
    pid: () => workerdPid,
    restart: async () => {
      expectExit = true;
      try {
        // setOptions kills what is left of the old workerd and starts a new one with the same config.
        await mf.setOptions(mfOptions);
        await mf.ready;
      } finally {
        expectExit = false;
      }
      workerdPid = findWorkerd();
    },
    stop: async () => {
      expectExit = true;
      loop.stop();
      await front.stop();
      await mf.dispose();
      await new Promise<void>((resolve) => log.end(resolve));
    },
  };
}

/** The workerd Miniflare spawned from this process (the newest, when a dead one has not been reaped yet). */
function findWorkerd(): number | undefined {
  const mine = descendants(process.pid).filter(
    (p) => p.ppid === process.pid && p.state !== "Z" && /workerd\S* serve/.test(p.command),
  );
  return mine.at(-1)?.pid;
}
