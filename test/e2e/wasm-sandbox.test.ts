/**
 * End-to-end: WASM pods in their OS sandbox on the real kernel, through the
 * real control plane (workerd), the real agent CLI and real kubectl. The
 * agent gets its own CNI bridge and pod CIDR so it never meets other suites'
 * pods on this machine.
 */
import { execFile } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import {
  type AgentProcess,
  removeWasmPods,
  sample,
  spawnAgent,
  until,
  wasmPodNetns,
  wasmPoolNetns,
} from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { ensureComponents } from "../../wasm/build-components.mjs";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const execFileP = promisify(execFile);
const NODE = "wasm-sandbox-node";
const BRIDGE = `epwe${process.pid % 100000}`;
const SUBNET = `10.254.${process.pid % 250}`;
let cp: ControlPlane;
let registry: TestRegistry;
let pki: LocalPki;
let dir: string;
let agent: AgentProcess;
let loopback: Server;
const images: Record<string, string> = {};

type PodJson = {
  metadata: { uid: string };
  status?: {
    phase?: string;
    podIP?: string;
    podIPs?: { ip: string }[];
    conditions?: { type: string; status: string }[];
    containerStatuses?: { state: { terminated?: { exitCode: number; reason: string } } }[];
  };
};

async function getPod(name: string): Promise<PodJson | undefined> {
  const response = await cp.fetch(`/api/v1/namespaces/default/pods/${name}`);
  return response.status === 404 ? undefined : ((await response.json()) as PodJson);
}

async function podWhere(name: string, ok: (p: PodJson) => boolean, what: string): Promise<PodJson> {
  return until(
    async () => {
      const p = await getPod(name);
      return p && ok(p) ? p : undefined;
    },
    90_000,
    `${name} ${what}`,
  );
}

function podYaml(name: string, image: string, extra = "", container = ""): string {
  return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: { app: ${name.replace(/-\d$/, "")} }
spec:
  nodeName: ${NODE}
  runtimeClassName: wasm
  terminationGracePeriodSeconds: 5
${extra}  containers:
  - name: main
    image: ${image}
${container}`;
}

/** Runs a short Node script inside a pod's network namespace (the netns its sandbox record names). */
async function inPodNetns(uid: string, script: string): Promise<string> {
  const netns = wasmPodNetns(join(dir, "agent"), uid);
  if (!netns) throw new Error(`pod ${uid} has no network namespace`);
  const { stdout } = await execFileP("nsenter", [`--net=${netns}`, process.execPath, "-e", script]);
  return stdout.trim();
}

const connectScript = (host: string, port: number) => `
const s = require("node:net").connect(${port}, "${host}");
s.setTimeout(3000, () => { console.log("timeout"); process.exit(0); });
s.on("connect", () => { console.log("connected"); process.exit(0); });
s.on("error", (e) => { console.log(e.code); process.exit(0); });`;

/** The agent CLI with its own bridge and pod CIDR; the token comes from a file the pods must not read. */
function startAgent(): AgentProcess {
  return spawnAgent([
    "--server",
    cp.url,
    "--token-file",
    join(dir, "token"),
    "--ca-file",
    pki.caCert,
    "--name",
    NODE,
    "--data-dir",
    join(dir, "agent"),
    "--node-ip",
    "127.0.0.1",
    "--cni-bridge",
    BRIDGE,
    "--pod-cidr",
    `${SUBNET}.0/24`,
  ]);
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "wasm-sandbox-e2e-"));
  pki = await ensurePki(join(dir, "pki"));
  [cp, registry] = await Promise.all([
    startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
    startTestRegistry(),
  ]);
  for (const name of ["escape", "hog"])
    images[name] = registry.push(`samples/${name}`, "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample(name))) },
    ]).image;
  const { httpHello } = await ensureComponents();
  images.web = registry.push("samples/http-hello", "v1", [
    {
      mediaType: "application/vnd.bytecodealliance.wasm.component.layer.v0+wasm",
      bytes: new Uint8Array(readFileSync(httpHello)),
    },
  ]).image;
  const rc = await cp.kubectl(["apply", "-f", "-"], {
    input: `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata:
  name: wasm
handler: wasm
scheduling:
  nodeSelector:
    edgeplane.dev/runtime-wasm: "true"
`,
  });
  expect(rc.stderr).toBe("");
  // The agent's token lives in a file on the host: the pods must not be able to read it.
  writeFileSync(join(dir, "token"), cp.token);
  writeFileSync(join(dir, "canary"), "CANARY-on-the-host");
  agent = startAgent();
  await agent.waitFor(/tunnel connected/);
  loopback = createServer((socket) => {
    socket.on("error", () => {});
    socket.end("host loopback service\n");
  });
  await new Promise<void>((resolve) => loopback.listen(0, "127.0.0.1", resolve));
}, 180_000);

afterAll(async () => {
  loopback?.close();
  await agent?.stop().catch(() => {});
  await removeWasmPods(join(dir, "agent"), NODE).catch(() => {});
  await deleteBridge(BRIDGE).catch(() => {});
  await registry?.close().catch(() => {});
  await cp?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("WASM pods in an OS sandbox", () => {
  it("an escape module cannot read a host canary or the agent's token, nor write outside its volume", async () => {
    const targets = [join(dir, "canary"), join(dir, "token")];
    const args = [
      "R:inside-check",
      ...targets.flatMap((t) => [`R:root${t}`, `R:../../../../../../../..${t}`, `R:${t}`, `L:root${t}`]),
      `W:root${dir}/written`,
      "W:../../../../../../../../tmp/written",
      "W:mine",
    ];
    await cp.kubectl(["apply", "-f", "-"], {
      input: podYaml(
        "escape",
        images.escape,
        "  restartPolicy: Never\n  volumes:\n  - name: data\n    emptyDir: {}\n",
        `    args: ${JSON.stringify(args)}\n    volumeMounts:\n    - { name: data, mountPath: /data }\n`,
      ),
    });
    const pod = await podWhere("escape", (p) => p.status?.phase === "Succeeded", "Succeeded");
    expect(pod.status?.containerStatuses?.[0].state.terminated?.exitCode).toBe(0);
    const logs = (await cp.kubectl(["logs", "escape"])).stdout;
    expect(logs).toMatch(/symlink d -> OK/);
    expect(logs).toMatch(/W:mine -> OK pwned/);
    expect(logs).not.toContain("CANARY");
    expect(logs).not.toContain(cp.token);
    for (const t of targets) {
      expect(logs).toMatch(new RegExp(`R:root${t} -> ERR \\d+`));
      expect(logs).toMatch(new RegExp(`L:root${t} -> ERR \\d+`));
    }
    expect(logs).toMatch(/W:root.*\/written -> ERR \d+/);
    expect(existsSync(join(dir, "written"))).toBe(false);
  }, 120_000);

  it("gives each pod its own IP: two wasi:http pods reach each other by pod IP, not the host's loopback", async () => {
    const web = `    ports:
    - containerPort: 8080
    readinessProbe:
      httpGet: { path: /healthz, port: 8080 }
      periodSeconds: 1
`;
    await cp.kubectl(["apply", "-f", "-"], {
      input: `${podYaml("web-1", images.web, "", web)}---\n${podYaml("web-2", images.web, "", web)}`,
    });
    const ready = (p: PodJson) => p.status?.conditions?.find((c) => c.type === "Ready")?.status === "True";
    const [a, b] = await Promise.all([podWhere("web-1", ready, "Ready"), podWhere("web-2", ready, "Ready")]);
    const ipA = a.status?.podIP ?? "";
    const ipB = b.status?.podIP ?? "";
    expect(ipA.startsWith(`${SUBNET}.`)).toBe(true);
    expect(ipB.startsWith(`${SUBNET}.`)).toBe(true);
    expect(ipA).not.toBe(ipB);
    expect(a.status?.podIPs).toEqual([{ ip: ipA }]);

    const wide = await cp.kubectl(["get", "pods", "web-1", "web-2", "-o", "wide", "--no-headers"]);
    expect(wide.stdout).toContain(ipA);
    expect(wide.stdout).toContain(ipB);

    // From inside web-1's network namespace: web-2 by pod IP answers; the host's loopback listener is not there.
    const fetched = await inPodNetns(
      a.metadata.uid,
      `fetch("http://${ipB}:8080/from-a").then(async (r) => console.log(await r.text()))`,
    );
    expect(fetched).toBe("hello from a wasi:http component, path /from-a");
    const port = (loopback.address() as { port: number }).port;
    expect(await inPodNetns(a.metadata.uid, connectScript("127.0.0.1", port))).toBe("ECONNREFUSED");
    // Same port on the host itself: the listener is really there.
    expect(
      await execFileP(process.execPath, ["-e", connectScript("127.0.0.1", port)]).then((r) =>
        r.stdout.trim(),
      ),
    ).toBe("connected");

    // A Service over both: its Endpoints carry the two pod IPs.
    await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
`,
    });
    await until(
      async () => {
        const ep = await cp.kubectl([
          "get",
          "endpoints",
          "web",
          "-o",
          "jsonpath={.subsets[*].addresses[*].ip}",
        ]);
        const ips = ep.stdout.split(/\s+/).sort();
        return ips.join(" ") === [ipA, ipB].sort().join(" ") ? ips : undefined;
      },
      60_000,
      "endpoints with both pod IPs",
    );

    // The agent dies hard and comes back: the sandboxed pods were never tied to it, and are adopted as they are.
    const before = JSON.stringify((await getPod("web-1"))?.status?.containerStatuses);
    const netnsB = wasmPodNetns(join(dir, "agent"), b.metadata.uid ?? "");
    expect(netnsB && existsSync(netnsB)).toBe(true);
    await agent.stop("SIGKILL");
    // Prepared networks the dead agent held: the next agent tears them down before it serves pods.
    const pooled = wasmPoolNetns(join(dir, "agent"));
    expect(pooled.length).toBeGreaterThan(0);
    expect((await fetch(`http://${ipA}:8080/while-away`)).status).toBe(200);
    agent = startAgent();
    await agent.waitFor(/tunnel connected/);
    expect(pooled.filter((ns) => existsSync(ns))).toEqual([]);
    const adopted = await podWhere("web-1", ready, "Ready after adoption");
    expect(adopted.status?.podIP).toBe(ipA);
    const statuses = adopted.status?.containerStatuses as unknown as {
      containerID: string;
      restartCount: number;
    }[];
    expect(statuses[0].restartCount).toBe(0);
    expect(statuses[0].containerID).toBe(JSON.parse(before)[0].containerID);

    // Deleting a pod (now through the new agent) runs CNI DEL: its netns goes, its IP lease is released.
    const del = await cp.kubectl(["delete", "pod", "web-2", "--wait=true", "--timeout=60s"]);
    expect(del.code, del.stderr).toBe(0);
    await until(async () => !existsSync(netnsB ?? "") || undefined, 30_000, "netns gone");
    const leases = join(dir, "agent", "cri", "cni-ipam", "edgeplane");
    await until(async () => !existsSync(join(leases, ipB)) || undefined, 30_000, "lease released");
    expect(existsSync(join(leases, ipA))).toBe(true);
  }, 240_000);

  it("still kills a memory hog at its limit as OOMKilled, and the agent survives", async () => {
    await cp.kubectl(["apply", "-f", "-"], {
      input: `${podYaml("hog", images.hog, "  restartPolicy: Never\n")}    resources:
      limits: { memory: 32Mi }
`,
    });
    const pod = await podWhere("hog", (p) => p.status?.phase === "Failed", "Failed");
    expect(pod.status?.containerStatuses?.[0].state.terminated).toMatchObject({
      exitCode: 137,
      reason: "OOMKilled",
    });
    expect(agent.child.exitCode).toBeNull();
  }, 120_000);
});
