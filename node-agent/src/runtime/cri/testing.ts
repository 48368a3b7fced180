/**
 * Test support for the container runtime: detects whether this machine can
 * run real containers, and starts a disposable environment (private
 * containerd + CNI bridge on its own subnet + loopback docker-registry with
 * the locally built busybox image) that cleans up after itself.
 */
import { execFile, spawn } from "node:child_process";
import { randomBytes, randomUUID } from "node:crypto";
import { closeSync, existsSync, mkdirSync, openSync, rmSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { createServer as createHttpServer, request as httpRequest } from "node:http";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { deleteBridge, writeCniConfig } from "../../network/cni.ts";
import { removeWasmPods } from "../../testing/agent-process.ts";
import type { ContainerConfig, SandboxConfig } from "../types.ts";
import { removeCgroup } from "./cgroups.ts";
import type { CriClient } from "./client.ts";
import { ensureSandboxImage, type ManagedContainerd, startContainerd } from "./containerd.ts";
import { CriRuntime } from "./index.ts";

const execFileP = promisify(execFile);

/** Repository root (this file is node-agent/src/runtime/cri/testing.ts). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "../../../..");

/** Where scripts/images/build.sh caches the test images. */
export const IMAGES_DIR = join(REPO_ROOT, ".edgeplane", "images");

const NEEDED_BINARIES = ["containerd", "runc", "ctr", "umoci", "skopeo", "busybox", "docker-registry", "ip"];

function onPath(bin: string): boolean {
  return (process.env.PATH ?? "/usr/bin:/bin")
    .split(":")
    .concat(["/usr/sbin", "/sbin"])
    .some((d) => existsSync(join(d, bin)));
}

/** Why real containers cannot run here, or undefined when they can. */
export function criUnavailableReason(): string | undefined {
  if (process.platform !== "linux") return `containers need Linux (this is ${process.platform})`;
  if (process.getuid?.() !== 0) return "containers need root (containerd, runc, CNI)";
  const missing = NEEDED_BINARIES.filter((b) => !onPath(b));
  if (missing.length) return `missing ${missing.join(", ")} (run scripts/setup-host.sh)`;
  if (!existsSync("/usr/lib/cni/bridge"))
    return "missing CNI plugins in /usr/lib/cni (containernetworking-plugins)";
  if (!existsSync("/sys/fs/cgroup/memory") && !existsSync("/sys/fs/cgroup/cgroup.controllers"))
    return "no cgroup memory controller";
  return undefined;
}

/** The network namespace path of a sandbox, from the runtime's verbose info (containerd's OCI spec). */
export async function sandboxNetns(client: CriClient, sandboxId: string): Promise<string | undefined> {
  const info = JSON.parse((await client.podSandboxInfo(sandboxId)).info ?? "{}") as {
    runtimeSpec?: { linux?: { namespaces?: { type: string; path?: string }[] } };
  };
  return info.runtimeSpec?.linux?.namespaces?.find((n) => n.type === "network")?.path;
}

/** Polls `check` until it returns a truthy value or `timeoutMs` passes; resolves to that value. */
export async function waitFor<T>(
  check: () => Promise<T> | T,
  timeoutMs: number,
  what: string,
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ""}`,
      );
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Builds (once per machine, cached) the busybox and pause images. */
export async function buildTestImages(): Promise<string> {
  await execFileP("bash", [join(REPO_ROOT, "scripts/images/build.sh"), IMAGES_DIR]);
  return IMAGES_DIR;
}

/** A free loopback TCP port (the OS picks it). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = createServer();
    srv.once("error", rej);
    srv.listen(0, "127.0.0.1", () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => res(port));
    });
  });
}

/** A Debian docker-registry on a random loopback port. */
export interface LocalRegistry {
  /** "127.0.0.1:<port>" */
  host: string;
  /** skopeo-copies a tag of an OCI layout to `name` ("repo:tag") in the registry; resolves to the full reference. */
  push(layoutDir: string, tag: string, name: string): Promise<string>;
  stop(): Promise<void>;
}

/** Starts docker-registry (distribution) bound to 127.0.0.1, storing under `dir`. */
export async function startLocalRegistry(dir: string): Promise<LocalRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  mkdirSync(join(dir, "data"), { recursive: true });
  const config = join(dir, "config.yml");
  await writeFile(
    config,
    [
      "version: 0.1",
      "log:",
      "  level: error",
      "storage:",
      "  filesystem:",
      `    rootdirectory: ${join(dir, "data")}`,
      "  delete:",
      "    enabled: true",
      "http:",
      `  addr: ${host}`,
      "",
    ].join("\n"),
  );
  const child = spawn("docker-registry", ["serve", config], { stdio: "ignore" });
  let exited = false;
  child.on("exit", () => {
    exited = true;
  });
  await waitFor(
    async () => {
      if (exited) throw new Error("docker-registry exited");
      const r = await fetch(`http://${host}/v2/`);
      return r.status === 200;
    },
    15_000,
    "docker-registry",
  );
  return {
    host,
    async push(layoutDir, tag, name) {
      const ref = `${host}/${name}`;
      await execFileP("skopeo", [
        "copy",
        "--quiet",
        "--dest-tls-verify=false",
        `oci:${layoutDir}:${tag}`,
        `docker://${ref}`,
      ]);
      return ref;
    },
    async stop() {
      if (exited) return;
      const done = new Promise<void>((r) => child.once("exit", () => r()));
      child.kill("SIGTERM");
      await done;
    },
  };
}

/**
 * A registry front that demands HTTP Basic credentials and forwards to
 * `target` ("127.0.0.1:PORT"): proves pull-secret credentials travel through
 * the CRI to containerd.
 */
export async function startBasicAuthProxy(
  target: string,
  username: string,
  password: string,
): Promise<{ host: string; stop(): Promise<void> }> {
  const expected = `Basic ${Buffer.from(`${username}:${password}`).toString("base64")}`;
  const server = createHttpServer((req, res) => {
    if (req.headers.authorization !== expected) {
      res.writeHead(401, {
        "www-authenticate": 'Basic realm="edgeplane-test"',
        "content-type": "application/json",
      });
      res.end(JSON.stringify({ errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] }));
      return;
    }
    const [hostname, port] = target.split(":");
    const headers = { ...req.headers, host: target };
    delete headers.authorization;
    const up = httpRequest(
      { hostname, port: Number(port), path: req.url, method: req.method, headers },
      (r) => {
        res.writeHead(r.statusCode ?? 502, r.headers);
        r.pipe(res);
      },
    );
    up.on("error", () => {
      res.writeHead(502);
      res.end();
    });
    req.pipe(up);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const host = `127.0.0.1:${(server.address() as { port: number }).port}`;
  return {
    host,
    stop: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}

const SUBNET_LOCKS = join(tmpdir(), "edgeplane-cri-subnets");

/** Claims a /24 (10.245.N.0/24) no other test environment on this machine holds. */
export function claimSubnet(): { cidr: string; release(): void } {
  mkdirSync(SUBNET_LOCKS, { recursive: true });
  for (let tries = 0; tries < 256; tries++) {
    const n = 1 + Math.floor(Math.random() * 254);
    const lock = join(SUBNET_LOCKS, String(n));
    try {
      closeSync(openSync(lock, "wx"));
    } catch {
      continue;
    }
    return { cidr: `10.245.${n}.0/24`, release: () => rmSync(lock, { force: true }) };
  }
  throw new Error(`no free test subnet (stale locks in ${SUBNET_LOCKS}?)`);
}

/** A disposable container environment. */
export interface CriTestEnv {
  dir: string;
  containerd: ManagedContainerd;
  runtime: CriRuntime;
  registry: LocalRegistry;
  /** Reference of the busybox image in the registry ("127.0.0.1:<port>/edgeplane/busybox:1"). */
  busybox: string;
  podCidr: string;
  bridge: string;
  /** Pod cgroups' root for this environment. */
  cgroupRoot: string;
  /** Removes every sandbox, stops containerd and the registry, deletes the bridge and the temp dir. */
  stop(): Promise<void>;
}

/** Starts containerd + CNI + registry and pushes the busybox image. Options pass through to CriRuntime. */
export async function startCriTestEnv(options: { allowPrivileged?: boolean } = {}): Promise<CriTestEnv> {
  const images = await buildTestImages();
  const dir = await mkdtemp(join(tmpdir(), "ep-cri-"));
  const id = randomBytes(3).toString("hex");
  const bridge = `epc${id}`;
  const cgroupRoot = `/edgeplane-test-${id}`;
  const subnet = claimSubnet();
  const cleanups: (() => Promise<void> | void)[] = [
    () => subnet.release(),
    () => rm(dir, { recursive: true, force: true }),
  ];
  const runCleanups = async () => {
    for (const c of cleanups.reverse()) {
      try {
        await c();
      } catch (err) {
        console.warn(`cri test env cleanup: ${String(err)}`);
      }
    }
  };
  try {
    const cniConfDir = join(dir, "cni", "net.d");
    await writeCniConfig({
      confDir: cniConfDir,
      podCidr: subnet.cidr,
      bridge,
      networkName: `edgeplane-${id}`,
      ipamDataDir: join(dir, "cni", "ipam"),
    });
    cleanups.push(() => deleteBridge(bridge));
    const containerd = await startContainerd({ dataDir: join(dir, "containerd"), cniConfDir });
    cleanups.push(() => containerd.stop());
    await ensureSandboxImage(containerd.socket, join(images, "pause.tar"));
    const registry = await startLocalRegistry(join(dir, "registry"));
    cleanups.push(() => registry.stop());
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const runtime = new CriRuntime({
      endpoint: containerd.socket,
      cgroupRoot,
      allowPrivileged: options.allowPrivileged,
    });
    cleanups.push(async () => {
      for (const s of await runtime.listSandboxes()) {
        await runtime.stopSandbox(s.id);
        await runtime.removeSandbox(s.id);
      }
      await runtime.close();
      removeCgroup(cgroupRoot);
    });
    return {
      dir,
      containerd,
      runtime,
      registry,
      busybox,
      podCidr: subnet.cidr,
      bridge,
      cgroupRoot,
      stop: runCleanups,
    };
  } catch (err) {
    await runCleanups();
    throw err;
  }
}

/** A SandboxConfig for a test pod (fresh UID, pod dir under the environment's temp dir). */
export function testSandbox(env: CriTestEnv, name: string, over: Partial<SandboxConfig> = {}): SandboxConfig {
  const uid = randomUUID();
  return {
    uid,
    namespace: "default",
    name,
    hostname: name,
    labels: { app: name },
    annotations: {},
    ports: [],
    podDir: join(env.dir, "pods", uid),
    ...over,
  };
}

/** A ContainerConfig running the busybox image; its log goes to <podDir>/logs/<name>/<n>.log. */
export function testContainer(
  env: CriTestEnv,
  sandbox: SandboxConfig,
  name: string,
  over: Partial<ContainerConfig> = {},
): ContainerConfig {
  return {
    name,
    image: env.busybox,
    command: [],
    args: [],
    env: {},
    mounts: [],
    limits: {},
    requests: {},
    ports: [],
    logPath: join(sandbox.podDir, "logs", name, `${randomBytes(2).toString("hex")}.log`),
    ...over,
  };
}

/** Pulls the image (IfNotPresent), runs the sandbox, creates and starts each container; resolves to their ids. */
export async function runTestPod(
  env: CriTestEnv,
  sandbox: SandboxConfig,
  containers: ContainerConfig[],
): Promise<{ sandboxId: string; ip?: string; containerIds: string[] }> {
  for (const c of containers) await env.runtime.pullImage(c.image, { policy: "IfNotPresent" });
  const s = await env.runtime.runSandbox(sandbox);
  const containerIds: string[] = [];
  for (const c of containers) {
    const id = await env.runtime.createContainer(s.id, c, sandbox);
    await env.runtime.startContainer(id);
    containerIds.push(id);
  }
  return { sandboxId: s.id, ip: s.ip, containerIds };
}

/** Waits until a container has exited; resolves to its status. */
export async function waitExited(env: CriTestEnv, containerId: string, timeoutMs = 20_000) {
  return waitFor(
    async () => {
      const s = await env.runtime.containerStatus(containerId);
      return s?.state === "exited" ? s : undefined;
    },
    timeoutMs,
    `container ${containerId.slice(0, 12)} to exit`,
  );
}

/**
 * After an e2e test stopped its agent: remove what the agent left running under `dataDir`, its containers (through
 * a containerd started on the agent's own state) and its WASM pods, so nothing outlives the test.
 */
export async function removeAgentPods(dataDir: string, nodeName: string): Promise<void> {
  if (existsSync(join(dataDir, "cri", "containerd", "config.toml"))) {
    const containerd = await startContainerd({ dataDir: join(dataDir, "cri", "containerd") }).catch(
      () => undefined,
    );
    if (containerd) {
      const rt = new CriRuntime({ endpoint: containerd.socket, cgroupRoot: "/edgeplane" });
      await rt.removeOrphans(new Set()).catch(() => []);
      await rt.close();
      await containerd.stop();
    }
  }
  await removeWasmPods(dataDir, nodeName).catch(() => {});
}
