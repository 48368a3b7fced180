/**
 * End-to-end: static pods. The real control plane (workerd via Miniflare), the
 * real node agent CLI joined with a node-bound bootstrap token (so every
 * mirror pod write goes through the node authorizer and NodeRestriction), a
 * real WASM module from an OCI registry, real kubectl. A manifest dropped in
 * the agent's default manifest directory runs and shows up as a mirror pod;
 * deleting the mirror pod leaves the static pod running and brings the mirror
 * back; removing the file stops the pod; an invalid file is an Event on the
 * Node; and the node's token can create no other pod.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { WasmRuntime } from "../../node-agent/src/runtime/wasm/runtime.ts";
import {
  type AgentProcess,
  removeWasmPods,
  sample,
  spawnAgent,
  until,
} from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { ensureBootstrapToken } from "../../scripts/local/tokens.ts";
import { type ControlPlane, kubeconfigYaml, startControlPlane } from "./harness.ts";

const NODE = "static-node-1";
const MIRROR = `ticker-${NODE}`;
let cp: ControlPlane;
let registry: TestRegistry;
let pki: LocalPki;
let dir: string;
let dataDir: string;
let manifests: string;
let agent: AgentProcess;
let image: string;
let nodeKubeconfig: string;
let agentArgs: string[];

type PodJson = {
  metadata: {
    uid: string;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string; uid: string; controller?: boolean }[];
  };
  spec: { nodeName?: string; serviceAccountName?: string };
  status?: {
    phase?: string;
    containerStatuses?: { containerID?: string; restartCount: number; state: { running?: object } }[];
  };
};

/** The pod as real kubectl prints it, or undefined when kubectl says NotFound. */
async function kubectlPod(name: string): Promise<PodJson | undefined> {
  const r = await cp.kubectl(["get", "pod", name, "-o", "json"]);
  if (r.code !== 0) {
    if (/NotFound/.test(r.stderr)) return undefined;
    throw new Error(r.stderr);
  }
  return JSON.parse(r.stdout) as PodJson;
}

/** A running mirror pod (not the one with uid `not`), once there is one. */
function runningMirror(not?: string): Promise<PodJson> {
  return until(
    async () => {
      const pod = await kubectlPod(MIRROR);
      return pod && pod.metadata.uid !== not && pod.status?.phase === "Running" ? pod : undefined;
    },
    90_000,
    `mirror pod ${MIRROR} Running`,
  );
}

const manifest = (name: string, img: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: { tier: static }
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: main
    image: ${img}
`;

async function sandboxUids(): Promise<string[]> {
  const runtime = new WasmRuntime({ dataDir, nodeName: NODE, hostIP: "127.0.0.1" });
  return (await runtime.listSandboxes()).map((s) => s.podUid);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "static-e2e-"));
  dataDir = join(dir, "agent");
  // The default manifest directory: <data-dir>/manifests.
  manifests = join(dataDir, "manifests");
  mkdirSync(manifests, { recursive: true });
  pki = await ensurePki(join(dir, "pki"));
  [cp, registry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startTestRegistry(),
  ]);
  image = registry.push("samples/ticker", "v1", [
    { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
  ]).image;
  const tokenFile = join(dir, "node-token");
  const nodeToken = await ensureBootstrapToken(cp.fetch, tokenFile, {
    nodeName: NODE,
    description: "static e2e",
  });
  nodeKubeconfig = join(dir, "node-kubeconfig");
  writeFileSync(nodeKubeconfig, kubeconfigYaml(cp.url, nodeToken), { mode: 0o600 });
  agentArgs = [
    "--server",
    cp.url,
    "--token-file",
    tokenFile,
    "--ca-file",
    pki.caCert,
    "--name",
    NODE,
    "--data-dir",
    dataDir,
    "--node-ip",
    "127.0.0.1",
  ];
  agent = spawnAgent(agentArgs);
  await agent.waitFor(/tunnel connected/, 60_000);
}, 180_000);

afterAll(async () => {
  await agent?.stop().catch(() => {});
  if (dataDir) await removeWasmPods(dataDir, NODE).catch(() => {});
  await registry?.close().catch(() => {});
  await cp?.stop().catch(() => {});
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("static pods", () => {
  let first: PodJson;

  it("a manifest dropped in the directory runs, and its mirror pod appears Running with the kubelet's annotations", async () => {
    writeFileSync(join(manifests, "ticker.yaml"), manifest("ticker", image));
    first = await runningMirror();
    const a = first.metadata.annotations ?? {};
    expect(a["kubernetes.io/config.source"]).toBe("file");
    expect(a["kubernetes.io/config.mirror"]).toMatch(/^[0-9a-f]{32}$/);
    expect(a["kubernetes.io/config.hash"]).toBe(a["kubernetes.io/config.mirror"]);
    expect(a["kubernetes.io/config.seen"]).toBeTruthy();
    expect(first.spec.nodeName).toBe(NODE);
    expect(first.spec.serviceAccountName).toBeUndefined();
    const node = JSON.parse((await cp.kubectl(["get", "node", NODE, "-o", "json"])).stdout);
    expect(first.metadata.ownerReferences).toEqual([
      { apiVersion: "v1", kind: "Node", name: NODE, uid: node.metadata.uid, controller: true },
    ]);
    expect(first.status?.containerStatuses?.[0].state.running).toBeTruthy();
    // The agent runs the static pod (UID = the hash), not the mirror pod as a second pod.
    expect(await sandboxUids()).toEqual([a["kubernetes.io/config.hash"]]);
    const listed = await cp.kubectl(["get", "pods", "-l", "tier=static", "-o", "name"]);
    expect(listed.stdout.trim()).toBe(`pod/${MIRROR}`);
    // kubectl logs names the mirror pod; the agent serves the static pod's log.
    const logs = await until(
      async () => {
        const r = await cp.kubectl(["logs", MIRROR, "--tail=1"]);
        if (r.code !== 0) throw new Error(r.stderr);
        return /^tick \d+\n$/.test(r.stdout) ? r.stdout : undefined;
      },
      30_000,
      "kubectl logs of the mirror pod",
    );
    expect(logs).toMatch(/^tick/);
  });

  it("kubectl delete of the mirror pod brings it back; the static pod keeps running", async () => {
    // --wait=false: kubectl's wait for the deletion sometimes misses it while the agent recreates the mirror pod
    // under the same name (a known race, not yet diagnosed: the note on issue 16); the test waits on the new pod.
    const deleted = await cp.kubectl(["delete", "pod", MIRROR, "--wait=false"], { timeoutMs: 90_000 });
    expect(deleted.stderr).toBe("");
    expect(deleted.stdout).toContain(`pod "${MIRROR}" deleted`);
    const again = await runningMirror(first.metadata.uid);
    expect(again.metadata.annotations?.["kubernetes.io/config.mirror"]).toBe(
      first.metadata.annotations?.["kubernetes.io/config.mirror"],
    );
    // Same container, never restarted: only the API's copy was replaced.
    const [before] = first.status?.containerStatuses ?? [];
    const [after] = again.status?.containerStatuses ?? [];
    expect(after.containerID).toBe(before.containerID);
    expect(after.restartCount).toBe(0);
  });

  it("an agent restart adopts the static pod: same container, same mirror pod", async () => {
    const before = await runningMirror();
    await agent.stop();
    agent = spawnAgent(agentArgs);
    await agent.waitFor(/tunnel connected/, 60_000);
    await agent.waitFor(/static pod default\/ticker-static-node-1: starting from its manifest/, 30_000);
    const after = await until(
      async () => {
        const pod = await kubectlPod(MIRROR);
        return pod?.status?.containerStatuses?.[0].state.running ? pod : undefined;
      },
      60_000,
      "mirror pod running after restart",
    );
    expect(after.metadata.uid).toBe(before.metadata.uid);
    expect(after.status?.containerStatuses?.[0].containerID).toBe(
      before.status?.containerStatuses?.[0].containerID,
    );
    expect(after.status?.containerStatuses?.[0].restartCount).toBe(0);
    expect(await sandboxUids()).toEqual([before.metadata.annotations?.["kubernetes.io/config.hash"]]);
  });

  it("a changed manifest is a new pod: the old one stops, the mirror pod is replaced with the new hash", async () => {
    const before = await runningMirror();
    const oldHash = before.metadata.annotations?.["kubernetes.io/config.hash"] ?? "";
    writeFileSync(
      join(manifests, "ticker.yaml"),
      manifest("ticker", image).replace("tier: static", 'tier: static, v: "2"'),
    );
    const after = await until(
      async () => {
        const pod = await kubectlPod(MIRROR);
        const hash = pod?.metadata.annotations?.["kubernetes.io/config.mirror"];
        return hash && hash !== oldHash && pod?.status?.phase === "Running" ? pod : undefined;
      },
      60_000,
      "mirror pod of the new version",
    );
    const newHash = after.metadata.annotations?.["kubernetes.io/config.hash"];
    await until(
      async () => (await sandboxUids()).join() === newHash,
      60_000,
      "only the new version's sandbox",
    );
    first = after;
  });

  it("an invalid manifest is an Event on the Node; the agent and the other static pod carry on", async () => {
    writeFileSync(join(manifests, "broken.yaml"), "apiVersion: v1\nkind: Pod\nmetadata: {}\nspec: {}\n");
    const event = await until(
      async () => {
        const r = await cp.kubectl([
          "get",
          "events",
          "--field-selector",
          `involvedObject.kind=Node,involvedObject.name=${NODE},reason=FailedStaticPod`,
          "-o",
          "json",
        ]);
        const items = JSON.parse(r.stdout || '{"items":[]}').items as { message: string; type: string }[];
        return items.find((e) => e.message.includes("broken.yaml"));
      },
      60_000,
      "FailedStaticPod event",
    );
    expect(event.type).toBe("Warning");
    expect(event.message).toContain("metadata.name");
    expect(agent.child.exitCode).toBeNull();
    expect((await kubectlPod(MIRROR))?.status?.phase).toBe("Running");
    unlinkSync(join(manifests, "broken.yaml"));
  });

  it("removing the manifest stops the pod and deletes its mirror pod", async () => {
    const hash = first.metadata.annotations?.["kubernetes.io/config.hash"] ?? "";
    unlinkSync(join(manifests, "ticker.yaml"));
    await until(async () => (await kubectlPod(MIRROR)) === undefined, 60_000, "mirror pod gone");
    await until(async () => !(await sandboxUids()).includes(hash), 60_000, "static pod's sandbox gone");
    expect(agent.child.exitCode).toBeNull();
  });

  it("the node's token may create neither a pod that is not a mirror pod nor a mirror pod for another node", async () => {
    const node = JSON.parse((await cp.kubectl(["get", "node", NODE, "-o", "json"])).stdout);
    const pod = (name: string, nodeName: string, mirror: boolean) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: {
          name,
          annotations: mirror ? { "kubernetes.io/config.mirror": "x" } : {},
          ownerReferences: [
            { apiVersion: "v1", kind: "Node", name: nodeName, uid: node.metadata.uid, controller: true },
          ],
        },
        spec: { nodeName, containers: [{ name: "c", image }] },
      });
    const create = (body: string) =>
      cp.kubectl(["--kubeconfig", nodeKubeconfig, "create", "-f", "-"], { input: body });
    const plain = await create(pod("plain", NODE, false));
    expect(plain.code).not.toBe(0);
    expect(plain.stderr).toMatch(/Forbidden.*can only create mirror pods/);
    const elsewhere = await create(pod("elsewhere", "other-node", true));
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/Forbidden.*spec.nodeName set to itself/);
    // Its own mirror pod it may create; with no static pod behind it, its agent deletes it as an orphan.
    const own = await create(pod("own", NODE, true));
    expect(own.stderr).toBe("");
    await until(async () => (await kubectlPod("own")) === undefined, 60_000, "orphan mirror pod deleted");
  });
});
