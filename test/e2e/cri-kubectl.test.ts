/**
 * End-to-end with real kubectl: the local control plane (workerd via
 * Miniflare, HTTPS with a private CA), the real node agent CLI with
 * `--runtimes wasm,cri --containerd managed`, real containerd + runc + CNI,
 * images from a loopback registry. Container pods are chosen by RuntimeClass
 * `runc`; WASM pods by `wasm`, on the same node.
 */
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { existingCgroupDirs } from "../../node-agent/src/runtime/cri/cgroups.ts";
import { CriClient } from "../../node-agent/src/runtime/cri/client.ts";
import { startContainerd } from "../../node-agent/src/runtime/cri/containerd.ts";
import { CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  sandboxNetns,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import {
  type AgentProcess,
  removeWasmPods,
  sample,
  spawnAgent,
} from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = `cri-node-${randomBytes(2).toString("hex")}`;

type ContainerStatusJson = {
  name: string;
  restartCount: number;
  containerID?: string;
  imageID?: string;
  state: {
    running?: { startedAt: string };
    waiting?: { reason: string; message?: string };
    terminated?: { exitCode: number; reason: string };
  };
  lastState: { terminated?: { exitCode: number; reason: string } };
};
type PodJson = {
  metadata: { name: string; uid: string };
  status?: { phase?: string; podIP?: string; containerStatuses?: ContainerStatusJson[] };
};

describe("container pods through kubectl, the agent and containerd", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let podCidr: string;
  let releaseSubnet: () => void = () => {};
  const bridge = `epk${randomBytes(3).toString("hex")}`;
  const cgroupRoot = "/edgeplane";

  const agentDir = () => join(dir, "agent");
  const socket = () => join(agentDir(), "cri", "containerd", "containerd.sock");

  async function getPod(name: string): Promise<PodJson | undefined> {
    const r = await cp.fetch(`/api/v1/namespaces/default/pods/${name}`);
    if (r.status === 404) return undefined;
    return (await r.json()) as PodJson;
  }

  async function apply(yaml: string): Promise<void> {
    const r = await cp.kubectl(["apply", "-f", "-"], { input: yaml });
    expect(r.code, r.stderr).toBe(0);
  }

  function podYaml(name: string, container: string, extra = ""): string {
    return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: runc
  terminationGracePeriodSeconds: 5
${extra}  containers:
  - name: main
    image: ${busybox}
${container}`;
  }

  async function untilPod(name: string, what: string, ok: (p: PodJson) => boolean, timeoutMs = 60_000) {
    return waitFor(
      async () => {
        const p = await getPod(name);
        return p && ok(p) ? p : undefined;
      },
      timeoutMs,
      `${name}: ${what}`,
    );
  }

  let caCert = "";
  const startAgent = () =>
    spawnAgent(
      [
        "--server",
        cp.url,
        "--ca-file",
        caCert,
        "--name",
        NODE,
        "--data-dir",
        agentDir(),
        "--node-ip",
        "127.0.0.1",
        "--runtimes",
        "wasm,cri",
        "--containerd",
        "managed",
        "--pod-cidr",
        podCidr,
        "--cni-bridge",
        bridge,
      ],
      { token: cp.token },
    );

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-cri-kubectl-"));
    const subnet = claimSubnet();
    podCidr = subnet.cidr;
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    caCert = pki.caCert;
    const images = await buildTestImages();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
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
    agent = startAgent();
    await agent.waitFor(/tunnel connected/, 90_000);
  }, 180_000);

  afterAll(async () => {
    // Pods outlive the agent by design: delete them through the API first, then sweep what is left.
    if (cp && agent) {
      await cp.kubectl(["delete", "deployments,pods", "--all", "--wait=true", "--timeout=60s"], {
        timeoutMs: 70_000,
      });
      await agent.stop();
    }
    if (dir && existsSync(join(agentDir(), "cri", "containerd", "config.toml"))) {
      const containerd = await startContainerd({ dataDir: join(agentDir(), "cri", "containerd") }).catch(
        () => undefined,
      );
      if (containerd) {
        const rt = new CriRuntime({ endpoint: containerd.socket, cgroupRoot });
        await rt.removeOrphans(new Set()).catch(() => []);
        await rt.close();
        await containerd.stop();
      }
      await removeWasmPods(agentDir(), NODE).catch(() => {});
    }
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (agent && agent.child.exitCode !== 0) console.log(agent.output().slice(-4000));
  }, 180_000);

  it("registers the node with both runtimes", async () => {
    const node = JSON.parse((await cp.kubectl(["get", "node", NODE, "-o", "json"])).stdout);
    expect(node.metadata.labels).toMatchObject({
      "edgeplane.dev/runtime-wasm": "true",
      "edgeplane.dev/runtime-runc": "true",
    });
  });

  it("runs a Deployment of a busybox HTTP server: Running with pod IPs, logs through kubectl, reachable pod to pod", async () => {
    await apply(`apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      runtimeClassName: runc
      terminationGracePeriodSeconds: 5
      containers:
      - name: httpd
        image: ${busybox}
        command: ["sh", "-c", "echo serving on $(hostname); exec httpd -f -p 8080 -h /www"]
        ports: [{ containerPort: 8080 }]
`);
    const rollout = await cp.kubectl(["rollout", "status", "deployment/web", "--timeout=90s"], {
      timeoutMs: 100_000,
    });
    expect(rollout.code, rollout.stderr).toBe(0);
    const list = JSON.parse((await cp.kubectl(["get", "pods", "-l", "app=web", "-o", "json"])).stdout) as {
      items: PodJson[];
    };
    expect(list.items).toHaveLength(2);
    const prefix = podCidr.replace(/0\/24$/, "");
    const ips = list.items.map((p) => p.status?.podIP ?? "");
    for (const ip of ips) expect(ip.startsWith(prefix)).toBe(true);
    expect(new Set(ips).size).toBe(2);
    for (const p of list.items) {
      expect(p.status?.phase).toBe("Running");
      expect(p.status?.containerStatuses?.[0].containerID).toMatch(/^containerd:\/\/[0-9a-f]{64}$/);
    }
    const name = list.items[0].metadata.name;
    const logs = await waitFor(
      async () => {
        const r = await cp.kubectl(["logs", name]);
        return r.stdout.includes("serving on") ? r.stdout : undefined;
      },
      20_000,
      "kubectl logs",
    );
    expect(logs).toBe(`serving on ${name}\n`);

    // A client pod fetches from the first web pod by pod IP.
    await apply(
      podYaml(
        "client",
        `    command: ["wget", "-q", "-O", "-", "http://${ips[0]}:8080/"]\n`,
        "  restartPolicy: Never\n",
      ),
    );
    await untilPod("client", "Succeeded", (p) => p.status?.phase === "Succeeded");
    expect((await cp.kubectl(["logs", "client"])).stdout).toBe("hello from edgeplane busybox\n");
  });

  it("restarts a failing container with back-off (CrashLoopBackOff) and keeps the previous logs", async () => {
    await apply(podYaml("crasher", `    command: ["sh", "-c", "echo about to fail; exit 1"]\n`));
    const pod = await untilPod(
      "crasher",
      "CrashLoopBackOff with restartCount >= 1",
      (p) => {
        const s = p.status?.containerStatuses?.[0];
        return !!s && s.restartCount >= 1 && s.state.waiting?.reason === "CrashLoopBackOff";
      },
      60_000,
    );
    expect(pod.status?.containerStatuses?.[0].lastState.terminated).toMatchObject({
      exitCode: 1,
      reason: "Error",
    });
    expect((await cp.kubectl(["logs", "crasher", "--previous"])).stdout).toBe("about to fail\n");
  });

  it("OOM-kills a memory hog at its limit (OOMKilled, 137) while the node stays Ready", async () => {
    await apply(
      `${podYaml("hog", `    command: ["tail", "/dev/zero"]\n`, "  restartPolicy: Never\n")}    resources:\n      limits: { memory: 32Mi }\n`,
    );
    const pod = await untilPod("hog", "Failed", (p) => p.status?.phase === "Failed");
    expect(pod.status?.containerStatuses?.[0].state.terminated).toMatchObject({
      exitCode: 137,
      reason: "OOMKilled",
    });
    expect(agent.child.exitCode).toBeNull();
    const ready = await cp.kubectl([
      "get",
      "node",
      NODE,
      "-o",
      'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
    ]);
    expect(ready.stdout).toBe("True");
  });

  it("restarts a container whose exec liveness probe fails", async () => {
    await apply(
      podYaml(
        "liveness",
        `    command: ["sh", "-c", "touch /tmp/healthy; sleep 2; rm /tmp/healthy; exec sleep 3600"]
    livenessProbe:
      exec: { command: ["cat", "/tmp/healthy"] }
      periodSeconds: 1
      failureThreshold: 1
`,
      ),
    );
    const pod = await untilPod("liveness", "restarted by liveness", (p) => {
      const s = p.status?.containerStatuses?.[0];
      return !!s && s.restartCount >= 1;
    });
    expect(pod.status?.containerStatuses?.[0].lastState.terminated?.exitCode).toBe(137);
  });

  it("reports a missing image as ErrImagePull / ImagePullBackOff", async () => {
    await apply(podYaml("missing", "").replace(busybox, `${registry.host}/edgeplane/does-not-exist:1`));
    const pod = await untilPod("missing", "ImagePullBackOff", (p) =>
      ["ImagePullBackOff"].includes(p.status?.containerStatuses?.[0].state.waiting?.reason ?? ""),
    );
    expect(pod.status?.containerStatuses?.[0].state.waiting?.message).toMatch(/does-not-exist/);
    const events = await cp.kubectl(["get", "pod", "missing", "-o", "jsonpath={.status.phase}"]);
    expect(events.stdout).toBe("Pending");
  });

  it("applies the security context (runAsUser, readOnlyRootFilesystem) and refuses privileged containers", async () => {
    await apply(
      podYaml(
        "secure",
        `    command: ["sh", "-c", "id -u; touch /x 2>/dev/null && echo writable || echo read-only"]
    securityContext: { readOnlyRootFilesystem: true }
`,
        "  restartPolicy: Never\n  securityContext: { runAsUser: 65534, runAsGroup: 65534 }\n",
      ),
    );
    await untilPod("secure", "Succeeded", (p) => p.status?.phase === "Succeeded");
    expect((await cp.kubectl(["logs", "secure"])).stdout).toBe("65534\nread-only\n");
    // Pod Security (baseline by default) would refuse it at the API; opting the namespace into
    // privileged shows the node's own refusal behind it.
    const label = "pod-security.kubernetes.io/enforce";
    await cp.kubectl(["label", "namespace", "default", `${label}=privileged`, "--overwrite"]);
    try {
      await apply(
        podYaml("privileged", `    command: ["sleep", "3600"]\n    securityContext: { privileged: true }\n`),
      );
    } finally {
      await cp.kubectl(["label", "namespace", "default", `${label}-`]);
    }
    const pod = await untilPod(
      "privileged",
      "CreateContainerConfigError",
      (p) => p.status?.containerStatuses?.[0].state.waiting?.reason === "CreateContainerConfigError",
    );
    expect(pod.status?.containerStatuses?.[0].state.waiting?.message).toMatch(/privileged/);
  });

  it("refuses a subPath that an init container turned into a link out of its emptyDir", async () => {
    // kubelet's CVE-2017-1002101: one container plants a link, the next mounts the subPath through it.
    const outside = mkdtempSync(join(tmpdir(), "ep-subpath-canary-"));
    writeFileSync(join(outside, "canary"), "canary");
    try {
      await apply(
        podYaml(
          "subpath-link",
          `    command: ["sh", "-c", "echo pwned > /data/canary; echo pwned > /data/created"]
    volumeMounts:
    - { name: scratch, mountPath: /data, subPath: work }
`,
          `  restartPolicy: Never
  volumes:
  - { name: scratch, emptyDir: {} }
  initContainers:
  - name: plant
    image: ${busybox}
    command: ["ln", "-s", "${outside}", "/scratch/work"]
    volumeMounts:
    - { name: scratch, mountPath: /scratch }
`,
        ),
      );
      const pod = await untilPod(
        "subpath-link",
        "CreateContainerConfigError",
        (p) => p.status?.containerStatuses?.[0]?.state.waiting?.reason === "CreateContainerConfigError",
      );
      expect(pod.status?.containerStatuses?.[0].state.waiting?.message).toMatch(
        /failed to prepare subPath for volumeMount "scratch" of container "main": .*points outside the volume/,
      );
      expect(readdirSync(outside)).toEqual(["canary"]);
      expect(readFileSync(join(outside, "canary"), "utf8")).toBe("canary");
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("mounts a configMap volume read-only even when the pod asks for read-write", async () => {
    await apply(`apiVersion: v1
kind: ConfigMap
metadata:
  name: ro-cfg
data:
  key: value
`);
    await apply(
      podYaml(
        "ro-cfg",
        `    command: ["sh", "-c", "cat /cfg/key; echo; touch /cfg/new 2>/dev/null && echo writable || echo read-only"]
    volumeMounts:
    - { name: cfg, mountPath: /cfg, readOnly: false }
`,
        "  restartPolicy: Never\n  volumes:\n  - { name: cfg, configMap: { name: ro-cfg } }\n",
      ),
    );
    await untilPod("ro-cfg", "Succeeded", (p) => p.status?.phase === "Succeeded");
    expect((await cp.kubectl(["logs", "ro-cfg"])).stdout).toBe("value\nread-only\n");
  });

  it("gives a pod with dnsPolicy None its own resolv.conf and its hostname", async () => {
    await apply(
      podYaml(
        "dns",
        `    command: ["sh", "-c", "hostname; cat /etc/resolv.conf"]\n`,
        `  restartPolicy: Never
  hostname: custom-host
  dnsPolicy: "None"
  dnsConfig:
    nameservers: ["10.96.0.10"]
    searches: ["default.svc.cluster.local"]
    options: [{ name: ndots, value: "5" }]
`,
      ),
    );
    await untilPod("dns", "Succeeded", (p) => p.status?.phase === "Succeeded");
    const out = (await cp.kubectl(["logs", "dns"])).stdout;
    expect(out).toMatch(/^custom-host\n/);
    expect(out).toContain("nameserver 10.96.0.10");
    expect(out).toContain("search default.svc.cluster.local");
    expect(out).toContain("options ndots:5");
  });

  it("runs WASM and container pods side by side on one node, chosen by RuntimeClass", async () => {
    const wasm = wasmRegistry.push("samples/hello", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("hello"))) },
    ]).image;
    await apply(`apiVersion: v1
kind: Pod
metadata:
  name: mixed-wasm
spec:
  runtimeClassName: wasm
  restartPolicy: Never
  containers:
  - name: main
    image: ${wasm}
---
${podYaml("mixed-container", `    command: ["sh", "-c", "echo hello from a container"]\n`, "  restartPolicy: Never\n")}`);
    const [w, c] = await Promise.all([
      untilPod("mixed-wasm", "Succeeded", (p) => p.status?.phase === "Succeeded"),
      untilPod("mixed-container", "Succeeded", (p) => p.status?.phase === "Succeeded"),
    ]);
    expect(w.status?.containerStatuses?.[0].state.terminated?.reason).toBe("Completed");
    expect(c.status?.containerStatuses?.[0].containerID).toMatch(/^containerd:\/\//);
    expect((await cp.kubectl(["logs", "mixed-wasm"])).stdout).toBe("hello from edgeplane wasm\ndone\n");
    expect((await cp.kubectl(["logs", "mixed-container"])).stdout).toBe("hello from a container\n");
    const nodes = await cp.kubectl([
      "get",
      "pods",
      "mixed-wasm",
      "mixed-container",
      "-o",
      "jsonpath={.items[*].spec.nodeName}",
    ]);
    expect(nodes.stdout).toBe(`${NODE} ${NODE}`);
  });

  it("keeps container pods running across an agent kill and restart (adopted, not restarted)", async () => {
    await apply(podYaml("survivor", `    command: ["sleep", "3600"]\n`));
    const running = await untilPod("survivor", "Running", (p) => p.status?.phase === "Running");
    const was = running.status?.containerStatuses?.[0];
    await agent.stop("SIGKILL");
    agent = startAgent();
    await agent.waitFor(/tunnel connected/, 90_000);
    // The new agent serves pods end to end (so it has listed and taken over this node's pods)...
    await apply(
      podYaml("after-restart", `    command: ["sh", "-c", "echo still here"]\n`, "  restartPolicy: Never\n"),
    );
    await untilPod("after-restart", "Succeeded", (p) => p.status?.phase === "Succeeded");
    expect((await cp.kubectl(["logs", "after-restart"])).stdout).toBe("still here\n");
    // ...and adopted the survivor's sandbox: same container, no restart, same start time, still running.
    const now = (await getPod("survivor"))?.status?.containerStatuses?.[0];
    expect(now?.containerID).toBe(was?.containerID);
    expect(now?.restartCount).toBe(0);
    expect(now?.state.running?.startedAt).toBe(was?.state.running?.startedAt);
    const client = new CriClient(socket());
    try {
      const id = (was?.containerID ?? "").replace("containerd://", "");
      expect((await client.containerStatus(id)).state).toBe("CONTAINER_RUNNING");
    } finally {
      client.close();
    }
  });

  it("stops a container pod within its grace period on kubectl delete, leaving no sandbox, container, netns or cgroup", async () => {
    await apply(
      podYaml("doomed", `    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.2; done"]\n`),
    );
    const pod = await untilPod("doomed", "Running", (p) => p.status?.phase === "Running");
    const uid = pod.metadata.uid;
    const client = new CriClient(socket());
    try {
      const sandboxes = await client.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid } });
      expect(sandboxes).toHaveLength(1);
      const netns = await sandboxNetns(client, sandboxes[0].id);
      expect(netns && existsSync(netns)).toBe(true);
      expect(existingCgroupDirs(`${cgroupRoot}/pod${uid}`).length).toBeGreaterThan(0);
      const del = await cp.kubectl(["delete", "pod", "doomed", "--wait=true", "--timeout=30s"], {
        timeoutMs: 40_000,
      });
      expect(del.code, del.stderr).toBe(0);
      expect(await getPod("doomed")).toBeUndefined();
      expect(await client.listPodSandbox({ labelSelector: { "io.kubernetes.pod.uid": uid } })).toEqual([]);
      expect(await client.listContainers({ labelSelector: { "io.kubernetes.pod.uid": uid } })).toEqual([]);
      expect(existingCgroupDirs(`${cgroupRoot}/pod${uid}`)).toEqual([]);
      expect(existsSync(netns!)).toBe(false);
    } finally {
      client.close();
    }
  });
});
