import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../network/cni.ts";
import { startTestRegistry, type TestRegistry } from "../../testing/oci-registry.ts";
import { makeTar } from "../../testing/tar.ts";
import type { ContainerConfig, SandboxConfig } from "../types.ts";
import { PullError } from "../types.ts";
import { WasmRuntime } from "./runtime.ts";

const wasmDir = join(dirname(fileURLToPath(import.meta.url)), "../../../../wasm");
const module = (name: string) => new Uint8Array(readFileSync(join(wasmDir, `${name}.wasm`)));

// A bridge and pod CIDR of this run's own: other suites on the machine use theirs.
const BRIDGE = `epwr${process.pid % 100000}`;
const POD_CIDR = `10.251.${process.pid % 250}.0/24`;
const options = () => ({
  dataDir,
  nodeName: `test-${process.pid}`,
  hostIP: "127.0.0.1",
  network: { podCidr: POD_CIDR, bridge: BRIDGE },
});

let registry: TestRegistry;
let dataDir: string;
let runtime: WasmRuntime;

/** Poll `check` until it returns a value (bounded): waits on the condition, not on time. */
async function until<T>(check: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 25));
  }
}

function readIfExists(path: string): string {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return "";
  }
}

function sandbox(uid: string): SandboxConfig {
  return {
    uid,
    namespace: "default",
    name: uid,
    hostname: uid,
    labels: {},
    annotations: {},
    ports: [],
    podDir: join(dataDir, "pods", uid),
  };
}

function container(image: string, name: string, extra: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    name,
    image,
    command: [],
    args: [],
    env: {},
    mounts: [],
    limits: {},
    requests: {},
    ports: [],
    logPath: join(dataDir, "logs", `${name}-${Math.random().toString(36).slice(2)}.log`),
    ...extra,
  };
}

async function runToExit(image: string, name: string, extra: Partial<ContainerConfig> = {}) {
  const sb = await runtime.runSandbox(sandbox(`pod-${name}`));
  const config = container(image, name, extra);
  const id = await runtime.createContainer(sb.id, config, sandbox(`pod-${name}`));
  await runtime.startContainer(id);
  const status = await until(async () => {
    const s = await runtime.containerStatus(id);
    return s?.state === "exited" ? s : undefined;
  }, 60_000);
  return { status, log: readFileSync(config.logPath, "utf8"), id };
}

beforeAll(async () => {
  registry = await startTestRegistry({ token: "pull-token" });
  dataDir = mkdtempSync(join(tmpdir(), "wasm-runtime-"));
  runtime = new WasmRuntime(options());
  for (const name of ["hello", "fail", "ticker", "hog"])
    registry.push(`samples/${name}`, "v1", [{ mediaType: "application/wasm", bytes: module(name) }]);
});

afterAll(async () => {
  for (const s of await runtime.listSandboxes()) await runtime.removeSandbox(s.id);
  for (const c of await runtime.listContainers()) await runtime.removeContainer(c.id);
  await deleteBridge(BRIDGE);
  await registry.close();
  rmSync(dataDir, { recursive: true, force: true });
});

describe("WasmRuntime", () => {
  it("pulls an artifact through bearer auth, verifies and caches it by digest", async () => {
    const image = `${registry.host}/samples/hello:v1`;
    const first = await runtime.pullImage(image, { policy: "IfNotPresent" });
    expect(first.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    const served = registry.requests.blobs;
    await runtime.pullImage(image, { policy: "IfNotPresent" });
    expect(registry.requests.blobs).toBe(served);
    await expect(
      runtime.pullImage(`${registry.host}/samples/nope:v1`, { policy: "IfNotPresent" }),
    ).rejects.toMatchObject({
      reason: "ErrImagePull",
    });
    await expect(
      runtime.pullImage(`${registry.host}/samples/other:v1`, { policy: "Never" }),
    ).rejects.toMatchObject({
      reason: "ErrImageNeverPull",
    });
  });

  it("runs a preview1 module to completion with its output in CRI log format", async () => {
    const image = `${registry.host}/samples/hello:v1`;
    await runtime.pullImage(image, { policy: "IfNotPresent" });
    const { status, log } = await runToExit(image, "hello");
    expect(status).toMatchObject({ state: "exited", exitCode: 0, reason: "Completed" });
    expect(log).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}Z stdout F hello from edgeplane wasm$/m);
    expect(log).toMatch(/ stderr F done$/m);
  });

  it("reports a failing module's exit code", async () => {
    const image = `${registry.host}/samples/fail:v1`;
    await runtime.pullImage(image, { policy: "IfNotPresent" });
    const { status, log } = await runToExit(image, "fail");
    expect(status).toMatchObject({ exitCode: 1, reason: "Error" });
    expect(log).toContain("stderr F about to fail");
  });

  it("kills a memory hog at its limit as OOMKilled (137)", async () => {
    const image = `${registry.host}/samples/hog:v1`;
    await runtime.pullImage(image, { policy: "IfNotPresent" });
    const { status } = await runToExit(image, "hog", { limits: { memoryBytes: 32 * 1024 * 1024 } });
    expect(status).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
  });

  it("without cgroups, a memory watchdog kills the hog as OOMKilled (137)", async () => {
    const noCgroups = new WasmRuntime({ ...options(), cgroups: false });
    expect(noCgroups.memoryEnforcement).toBe("watchdog");
    const image = `${registry.host}/samples/hog:v1`;
    await noCgroups.pullImage(image, { policy: "IfNotPresent" });
    const sb = await noCgroups.runSandbox(sandbox("pod-hog2"));
    const config = container(image, "hog2", { limits: { memoryBytes: 32 * 1024 * 1024 } });
    const id = await noCgroups.createContainer(sb.id, config, sandbox("pod-hog2"));
    await noCgroups.startContainer(id);
    const status = await until(async () => {
      const s = await noCgroups.containerStatus(id);
      return s?.state === "exited" ? s : undefined;
    }, 60_000);
    expect(status).toMatchObject({ exitCode: 137, reason: "OOMKilled" });
  });

  it("runs a wasi:cli/run component (transpiled once at pull time, cached by digest)", async () => {
    registry.push("samples/hello-component", "v1", [
      {
        mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
        bytes: module("hello.component"),
      },
    ]);
    const image = `${registry.host}/samples/hello-component:v1`;
    await runtime.pullImage(image, { policy: "IfNotPresent" });
    const { status, log } = await runToExit(image, "component");
    expect(status).toMatchObject({ state: "exited", exitCode: 0 });
    expect(log).toMatch(/ stdout F hello from edgeplane wasm$/m);
    expect(log).toMatch(/ stderr F done$/m);
  });

  it("stops a long-running module with SIGTERM and is adopted by a new runtime instance", async () => {
    const image = `${registry.host}/samples/ticker:v1`;
    await runtime.pullImage(image, { policy: "IfNotPresent" });
    const sb = await runtime.runSandbox(sandbox("pod-ticker"));
    const config = container(image, "ticker");
    const id = await runtime.createContainer(sb.id, config, sandbox("pod-ticker"));
    await runtime.startContainer(id);
    await until(async () => (readIfExists(config.logPath).includes("tick 2") ? true : undefined));
    // A second runtime over the same data dir (an agent restart) sees it running.
    const again = new WasmRuntime(options());
    const listed = await again.listContainers(sb.id);
    expect(listed).toMatchObject([{ id, state: "running", podUid: "pod-ticker", name: "ticker" }]);
    await again.stopContainer(id, 5);
    const status = await runtime.containerStatus(id);
    expect(status).toMatchObject({ state: "exited", exitCode: 143, reason: "Error" });
  });

  it("finds the module in an image filesystem and refuses layers that escape the root", async () => {
    const layer = await makeTar([
      { name: "app/", type: "directory" },
      { name: "app/main.wasm", content: module("hello") },
    ]);
    const ok = registry.push(
      "samples/fs",
      "v1",
      [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", bytes: gzipSync(layer) }],
      {
        config: { Entrypoint: ["/app/main.wasm"] },
      },
    );
    await runtime.pullImage(ok.image, { policy: "Always" });
    const { status, log } = await runToExit(ok.image, "fs");
    expect(status.exitCode).toBe(0);
    expect(log).toContain("hello from edgeplane wasm");

    for (const [tag, entries] of [
      ["dotdot", [{ name: "../../evil", content: new Uint8Array([1]) }]],
      ["symlink", [{ name: "link", type: "symlink" as const, linkname: "../../../etc" }]],
    ] as const) {
      const bad = registry.push("samples/bad", tag, [
        { mediaType: "application/vnd.oci.image.layer.v1.tar", bytes: await makeTar([...entries]) },
      ]);
      const error = await runtime.pullImage(bad.image, { policy: "Always" }).catch((e) => e);
      expect(error).toBeInstanceOf(PullError);
      expect(error.message).toMatch(/escapes|refusing/);
    }
  });
});
