/**
 * Storage end to end: the local control plane (workerd via Miniflare), the
 * real agent CLI with containerd + runc, real kubectl. The default
 * StorageClass local-path provisions a directory on the node of a claim's
 * first consumer; a busybox pod writes into it, a second pod reads it back,
 * deleting the claim removes the PV and the directory; a StatefulSet's
 * volumeClaimTemplates get their claims Bound.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, sample, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = `storage-node-${randomBytes(2).toString("hex")}`;

type Obj = {
  metadata: { name: string; annotations?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: { phase?: string };
};

describe("local-path storage through kubectl, the agent and containerd", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let escapeImage: string;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let releaseSubnet: () => void = () => {};
  const bridge = `eps${randomBytes(3).toString("hex")}`;
  const agentDir = () => join(dir, "agent");

  async function get(path: string): Promise<Obj | undefined> {
    const r = await cp.fetch(path);
    if (r.status === 404) return undefined;
    return (await r.json()) as Obj;
  }
  const pod = (name: string) => get(`/api/v1/namespaces/default/pods/${name}`);
  const claim = (name: string) => get(`/api/v1/namespaces/default/persistentvolumeclaims/${name}`);

  async function apply(yaml: string): Promise<void> {
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
  }

  const podYaml = (name: string, restart: string, script: string) => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: runc
  restartPolicy: ${restart}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${busybox}
    command: ["sh", "-c", "${script}"]
    volumeMounts: [{ name: data, mountPath: /data }]
  volumes:
  - name: data
    persistentVolumeClaim: { claimName: data }
`;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-storage-"));
    const subnet = claimSubnet();
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    escapeImage = wasmRegistry.push("samples/escape", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("escape"))) },
    ]).image;
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    await apply(`apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: runc
handler: runc
scheduling:
  nodeSelector:
    edgeplane.dev/runtime-runc: "true"
---
apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
scheduling:
  nodeSelector:
    edgeplane.dev/runtime-wasm: "true"
`);
    agent = spawnAgent(
      [
        ...["--server", cp.url, "--ca-file", pki.caCert, "--name", NODE, "--data-dir", agentDir()],
        ...["--node-ip", "127.0.0.1", "--runtimes", "wasm,cri", "--containerd", "managed"],
        ...["--pod-cidr", subnet.cidr, "--cni-bridge", bridge],
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
  }, 180_000);

  afterAll(async () => {
    if (cp && agent) {
      await cp.kubectl(["delete", "statefulsets,pods", "--all", "--wait=true", "--timeout=60s"], {
        timeoutMs: 70_000,
      });
      await agent.stop();
    }
    if (dir) await removeAgentPods(agentDir(), NODE);
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (agent && agent.child.exitCode !== 0) console.log(agent.output().slice(-4000));
  }, 180_000);

  it("serves the default local-path StorageClass", async () => {
    const sc = await waitFor(
      async () => {
        const r = await cp.kubectl(["get", "storageclass"]);
        if (r.stdout.includes("local-path (default)")) return r.stdout;
        throw new Error(`kubectl get storageclass: ${r.stdout}${r.stderr}`);
      },
      30_000,
      "default StorageClass",
    );
    expect(sc).toMatch(/local-path \(default\)\s+rancher\.io\/local-path\s+Delete\s+WaitForFirstConsumer/);
  });

  it("binds a claim on its first consumer's node; data outlives the pod; deleting the claim removes the PV and the directory", async () => {
    await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: data
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 64Mi } }
`);
    // WaitForFirstConsumer: no volume before a pod uses the claim.
    expect((await claim("data"))?.status?.phase).toBe("Pending");
    await apply(podYaml("writer", "Never", "echo kept > /data/f"));
    await waitFor(
      async () => (await pod("writer"))?.status?.phase === "Succeeded",
      90_000,
      "writer Succeeded",
    );
    const bound = await waitFor(
      async () => {
        const c = await claim("data");
        return c?.status?.phase === "Bound" ? c : undefined;
      },
      30_000,
      "claim Bound",
    );
    expect(bound.metadata.annotations?.["volume.kubernetes.io/selected-node"]).toBe(NODE);
    const pvName = bound.spec?.volumeName as string;
    const pv = (await get(`/api/v1/persistentvolumes/${pvName}`)) as Obj;
    const hostDir = join(agentDir(), "storage", pvName);
    expect(pv.spec).toMatchObject({
      storageClassName: "local-path",
      persistentVolumeReclaimPolicy: "Delete",
      hostPath: { path: hostDir },
      nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ values: [NODE] }] }] } },
    });
    expect(readFileSync(join(hostDir, "f"), "utf8")).toBe("kept\n");

    expect((await cp.kubectl(["delete", "pod", "writer", "--wait=true"])).code).toBe(0);
    await apply(podYaml("reader", "Never", "cat /data/f"));
    await waitFor(
      async () => (await pod("reader"))?.status?.phase === "Succeeded",
      90_000,
      "reader Succeeded",
    );
    expect((await cp.kubectl(["logs", "reader"])).stdout).toBe("kept\n");
    expect((await cp.kubectl(["delete", "pod", "reader", "--wait=true"])).code).toBe(0);

    expect((await cp.kubectl(["delete", "pvc", "data", "--wait=true"])).code).toBe(0);
    await waitFor(async () => !(await get(`/api/v1/persistentvolumes/${pvName}`)), 60_000, "PV gone");
    expect(existsSync(hostDir)).toBe(false);
  }, 300_000);

  it("mounts a claim into a WASM pod too: what the module writes lands in the volume's directory", async () => {
    await apply(`apiVersion: v1
kind: PersistentVolumeClaim
metadata:
  name: wasm-data
spec:
  accessModes: [ReadWriteOnce]
  resources: { requests: { storage: 16Mi } }
---
apiVersion: v1
kind: Pod
metadata:
  name: wasm-writer
spec:
  runtimeClassName: wasm
  restartPolicy: Never
  containers:
  - name: main
    image: ${escapeImage}
    args: ["W:mine"]
    volumeMounts: [{ name: data, mountPath: /data }]
  volumes:
  - name: data
    persistentVolumeClaim: { claimName: wasm-data }
`);
    await waitFor(
      async () => (await pod("wasm-writer"))?.status?.phase === "Succeeded",
      90_000,
      "wasm-writer Succeeded",
    );
    const pvName = (await claim("wasm-data"))?.spec?.volumeName as string;
    expect(readFileSync(join(agentDir(), "storage", pvName, "mine"), "utf8")).toBe("pwned\n");
  }, 120_000);

  it("gives a StatefulSet's pods their claims from volumeClaimTemplates, Bound", async () => {
    await apply(`apiVersion: apps/v1
kind: StatefulSet
metadata:
  name: web
spec:
  replicas: 2
  podManagementPolicy: Parallel
  serviceName: web
  selector: { matchLabels: { app: web } }
  template:
    metadata: { labels: { app: web } }
    spec:
      runtimeClassName: runc
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: ${busybox}
        command: ["sh", "-c", "hostname > /www/name; exec sleep 3600"]
        volumeMounts: [{ name: www, mountPath: /www }]
  volumeClaimTemplates:
  - metadata: { name: www }
    spec:
      accessModes: [ReadWriteOnce]
      resources: { requests: { storage: 16Mi } }
`);
    for (const name of ["www-web-0", "www-web-1"])
      await waitFor(async () => (await claim(name))?.status?.phase === "Bound", 90_000, `${name} Bound`);
    const r = await cp.kubectl(["rollout", "status", "statefulset/web", "--timeout=90s"], {
      timeoutMs: 100_000,
    });
    expect(r.code, r.stderr).toBe(0);
    const pvc = (await claim("www-web-1")) as Obj;
    expect(readFileSync(join(agentDir(), "storage", pvc.spec?.volumeName as string, "name"), "utf8")).toBe(
      "web-1\n",
    );
  }, 200_000);
});
