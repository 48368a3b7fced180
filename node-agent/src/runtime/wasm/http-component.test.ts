/**
 * A wasi:http/incoming-handler component served on its containerPort by the
 * WASM runtime. The component is built once with `jco componentize`
 * (wasm/build-components.mjs, cached in wasm/build/: slow, never rebuilt
 * when present).
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ensureComponents } from "../../../../wasm/build-components.mjs";
import { deleteBridge } from "../../network/cni.ts";
import { until } from "../../testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../testing/oci-registry.ts";
import { WasmRuntime } from "./runtime.ts";

let registry: TestRegistry;
let dataDir: string;
let runtime: WasmRuntime;
let image: string;

// A bridge and pod CIDR of this run's own: other suites on the machine use theirs.
const BRIDGE = `epwh${process.pid % 100000}`;
const POD_CIDR = `10.252.${process.pid % 250}.0/24`;

function shimPid(containerId: string): number {
  return JSON.parse(readFileSync(join(dataDir, "wasm", "containers", containerId, "state.json"), "utf8"))
    .shimPid;
}

/** Host pids of the node processes in the process tree below `pid`. */
function nodeProcessesBelow(pid: number): number[] {
  const pids = [pid];
  const found: number[] = [];
  for (let i = 0; i < pids.length; i++) {
    if (i > 0 && readFileSync(`/proc/${pids[i]}/cmdline`, "utf8").split("\0")[0] === "/usr/bin/node")
      found.push(pids[i]);
    const children = readFileSync(`/proc/${pids[i]}/task/${pids[i]}/children`, "utf8").trim();
    for (const c of children.split(/\s+/)) if (Number(c) > 0) pids.push(Number(c));
  }
  return found;
}

beforeAll(async () => {
  const { httpHello } = await ensureComponents();
  registry = await startTestRegistry();
  dataDir = mkdtempSync(join(tmpdir(), "wasm-http-"));
  runtime = new WasmRuntime({
    dataDir,
    nodeName: `http-${process.pid}`,
    hostIP: "127.0.0.1",
    network: { podCidr: POD_CIDR, bridge: BRIDGE },
  });
  image = registry.push("samples/http-hello", "v1", [
    {
      mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
      bytes: new Uint8Array(readFileSync(httpHello)),
    },
  ]).image;
}, 600_000);

afterAll(async () => {
  for (const s of (await runtime?.listSandboxes()) ?? []) await runtime.removeSandbox(s.id);
  for (const c of (await runtime?.listContainers()) ?? []) await runtime.removeContainer(c.id);
  await deleteBridge(BRIDGE);
  await registry?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
});

it("serves HTTP requests from a wasi:http component on its pod IP and containerPort, and stops on SIGTERM", async () => {
  await runtime.pullImage(image, { policy: "IfNotPresent" });
  // Every pod has its own network namespace, so a fixed port cannot clash with the host or other pods.
  const port = 8080;
  const sandbox = {
    uid: "http-pod",
    namespace: "default",
    name: "http",
    hostname: "http",
    labels: {},
    annotations: {},
    ports: [],
    podDir: join(dataDir, "pods", "http-pod"),
  };
  const sb = await runtime.runSandbox(sandbox);
  expect(sb.ip).toMatch(new RegExp(`^10\\.252\\.${process.pid % 250}\\.\\d+$`));
  const id = await runtime.createContainer(
    sb.id,
    {
      name: "web",
      image,
      command: [],
      args: [],
      env: {},
      mounts: [],
      limits: {},
      requests: {},
      ports: [{ containerPort: port, protocol: "TCP" }],
      logPath: join(dataDir, "logs", "web.log"),
    },
    sandbox,
  );
  await runtime.startContainer(id);
  const body = await until(
    async () => {
      const response = await fetch(`http://${sb.ip}:${port}/greet?x=1`);
      return response.status === 200 ? await response.text() : undefined;
    },
    30_000,
    "component answering",
  );
  expect(body).toBe("hello from a wasi:http component, path /greet?x=1\n");
  // More than one request per instance (incoming-handler, not the one-shot fetch-event style).
  expect(await (await fetch(`http://${sb.ip}:${port}/again`)).text()).toContain("path /again");
  // One Node.js process per component pod (it was two: a runner re-executing itself to pipe stdio).
  const runners = nodeProcessesBelow(shimPid(id));
  expect(runners).toHaveLength(1);
  // Components run on V8's baseline wasm compiler only (runtime.ts COMPONENT_FLAGS: ~30 MiB less per pod).
  expect(readFileSync(`/proc/${runners[0]}/cmdline`, "utf8").split("\0")).toContain("--liftoff-only");
  // The runner's own line reaches the CRI log from inside that process.
  expect(readFileSync(join(dataDir, "logs", "web.log"), "utf8")).toMatch(
    / stderr F serving wasi:http component on 0\.0\.0\.0:8080$/m,
  );
  await runtime.stopContainer(id, 5);
  expect(await runtime.containerStatus(id)).toMatchObject({ state: "exited", exitCode: 143 });
});
