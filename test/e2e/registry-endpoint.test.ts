/**
 * End-to-end: the loopback registry endpoint of `npm start` with the real
 * control plane (HTTPS, private CA), the real node agent joined with its own
 * node token, and a WASM pod whose image is in the built-in registry. The
 * endpoint holds no credential: the agent pulls through it with its node
 * token (--registry-login), and a pod needs no pull secret.
 */
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AgentProcess,
  removeWasmPods,
  sample,
  spawnAgent,
  until,
} from "../../node-agent/src/testing/agent-process.ts";
import { clusterFetch } from "../../scripts/lib/client.ts";
import { pushWasm } from "../../scripts/lib/oci-push.ts";
import { ensurePki, type LocalPki } from "../../scripts/local/pki.ts";
import { type RegistryProxy, startRegistryProxy } from "../../scripts/local/registry-proxy.ts";
import { ensureBootstrapToken } from "../../scripts/local/tokens.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = "registry-node-1";
let cp: ControlPlane;
let pki: LocalPki;
let dir: string;
let agent: AgentProcess;
let proxy: RegistryProxy;
let admin: ReturnType<typeof clusterFetch>;
let transport: ReturnType<typeof clusterFetch>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "registry-endpoint-e2e-"));
  pki = await ensurePki(join(dir, "pki"));
  cp = await startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } });
  const ca = await readFile(pki.caCert, "utf8");
  admin = clusterFetch({ server: cp.url, token: cp.token, ca });
  transport = clusterFetch({ server: cp.url, token: "", ca });
  proxy = await startRegistryProxy(0, transport);
  await pushWasm(admin, "e2e/hello", "v1", new Uint8Array(readFileSync(sample("hello"))));
  const tokenFile = join(dir, "pki", `${NODE}.token`);
  await ensureBootstrapToken(admin, tokenFile, { nodeName: NODE, description: "registry endpoint e2e" });
  const rc = await cp.kubectl(["apply", "-f", "-"], {
    input: "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: wasm\nhandler: wasm\n",
  });
  expect(rc.stderr).toBe("");
  agent = spawnAgent([
    "--server",
    cp.url,
    "--token-file",
    tokenFile,
    "--ca-file",
    pki.caCert,
    "--name",
    NODE,
    "--data-dir",
    join(dir, "agent"),
    "--node-ip",
    "127.0.0.1",
    "--registry-login",
    proxy.host,
  ]);
  await agent.waitFor(/tunnel connected/);
}, 120_000);

afterAll(async () => {
  await agent?.stop().catch(() => {});
  await removeWasmPods(join(dir, "agent"), NODE).catch(() => {});
  await proxy?.stop().catch(() => {});
  await admin?.close().catch(() => {});
  await transport?.close().catch(() => {});
  await cp?.stop().catch(() => {});
  rmSync(dir, { recursive: true, force: true });
}, 120_000);

describe("loopback registry endpoint", () => {
  it("refuses an anonymous pull, and a node pulls through it with its own token, no pull secret", async () => {
    const anonymous = await fetch(`http://${proxy.host}/v2/e2e/hello/manifests/v1`);
    expect(anonymous.status).toBe(401);
    expect(anonymous.headers.get("www-authenticate")).toMatch(/^Basic /);
    await anonymous.arrayBuffer();

    const apply = await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: v1
kind: Pod
metadata:
  name: hello
spec:
  nodeName: ${NODE}
  runtimeClassName: wasm
  restartPolicy: Never
  containers:
  - name: main
    image: ${proxy.host}/e2e/hello:v1
`,
    });
    expect(apply.stderr).toBe("");
    const phase = await until(
      async () => {
        const pod = (await (await cp.fetch("/api/v1/namespaces/default/pods/hello")).json()) as {
          status?: {
            phase?: string;
            containerStatuses?: { state: { waiting?: { reason: string; message?: string } } }[];
          };
        };
        const waiting = pod.status?.containerStatuses?.[0]?.state.waiting;
        if (waiting && /ErrImagePull|ImagePullBackOff/.test(waiting.reason))
          return `${waiting.reason}: ${waiting.message ?? ""}`;
        return pod.status?.phase === "Succeeded" ? "Succeeded" : undefined;
      },
      60_000,
      "hello Succeeded or a pull error",
    );
    expect(phase).toBe("Succeeded");
  });
});
