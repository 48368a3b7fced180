/**
 * End-to-end ServiceAccount tokens with real kubectl: the local control plane
 * (workerd via Miniflare, HTTPS with a private CA, a signing key and the CA
 * as CLUSTER_CA_CERT), `kubectl create serviceaccount` / `create token`
 * (protobuf TokenRequest), TokenReview, and a busybox pod on the real node
 * agent with containerd + runc that reads its projected token, CA and
 * namespace; expired and tampered tokens are 401; automount false gives no
 * volume.
 */
import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { importPKCS8, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import {
  buildTestImages,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import {
  type AgentProcess,
  privateNetwork,
  sample,
  spawnAgent,
} from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { writeKubeconfig } from "../../scripts/lib/kubeconfig.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const NODE = `sa-node-${process.pid}`;
const MOUNT = "/var/run/secrets/kubernetes.io/serviceaccount";
const KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
  type: "pkcs8",
  format: "pem",
}) as string;
const ISSUER = "https://kubernetes.default.svc.cluster.local";
const CLI = join(import.meta.dirname, "../../scripts/edgeplane.mjs");

/** Run the edgeplane CLI: exit code, stdout, stderr. */
function edgeplane(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) =>
    execFile(process.execPath, [CLI, ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      res({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }),
    ),
  );
}

type Review = {
  status: {
    authenticated?: boolean;
    audiences?: string[];
    user?: { username?: string; groups?: string[]; extra?: Record<string, string[]> };
  };
};

describe("ServiceAccount tokens through kubectl, the API and a pod", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let wasmRegistry: TestRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let caPem: string;
  let bridge = "";

  const agentDir = () => join(dir, "agent");

  async function review(token: string, audiences?: string[]): Promise<Review> {
    const r = await cp.fetch("/apis/authentication.k8s.io/v1/tokenreviews", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenReview",
        spec: { token, audiences },
      }),
    });
    expect(r.status).toBe(201);
    return (await r.json()) as Review;
  }

  /** GET with `token` as the bearer: the status and the body. */
  async function asBearer(token: string, path = "/api") {
    const r = await cp.fetch(path, { headers: { Authorization: `Bearer ${token}` } });
    return { status: r.status, body: (await r.json()) as { kind?: string; reason?: string } };
  }

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, { input });
    expect(r.code, `kubectl ${args.join(" ")}: ${r.stderr}`).toBe(0);
    return r.stdout;
  }

  function pod(name: string, script: string, extra = ""): string {
    return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
spec:
  runtimeClassName: runc
  terminationGracePeriodSeconds: 1
${extra}  containers:
  - name: main
    image: ${busybox}
    command: ["sh", "-c", ${JSON.stringify(script)}]
`;
  }

  async function logsWhenRunning(name: string, pattern: RegExp): Promise<string> {
    return waitFor(
      async () => {
        const r = await cp.kubectl(["logs", name]);
        return r.code === 0 && pattern.test(r.stdout) ? r.stdout : undefined;
      },
      120_000,
      `${name} logs matching ${pattern}`,
    );
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-sa-tokens-"));
    const pki = await ensurePki(join(dir, "pki"));
    caPem = readFileSync(pki.caCert, "utf8");
    const images = await buildTestImages();
    [cp, registry, wasmRegistry] = await Promise.all([
      startControlPlane({
        tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
        env: { SERVICE_ACCOUNT_SIGNING_KEY: KEY, CLUSTER_CA_CERT: caPem },
      }),
      startLocalRegistry(join(dir, "registry")),
      startTestRegistry(),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: node.k8s.io/v1
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
`,
    );
    const network = privateNetwork();
    bridge = network.bridge;
    agent = spawnAgent(
      [
        "--server",
        cp.url,
        "--ca-file",
        pki.caCert,
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
        "--cni-bridge",
        network.bridge,
        "--pod-cidr",
        network.podCidr,
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    // One full controller pass: the default ServiceAccount and kube-root-ca.crt in every namespace.
    await (await cp.mf.getWorker()).scheduled({ cron: "* * * * *" });
  }, 240_000);

  afterAll(async () => {
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
      await agent.stop();
    }
    if (dir) await removeAgentPods(agentDir(), NODE);
    if (bridge) await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), wasmRegistry?.close(), cp?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (agent && agent.child.exitCode !== 0) console.log(agent.output().slice(-4000));
  }, 180_000);

  it("kubectl create token gives a token that authenticates as the ServiceAccount", async () => {
    await kubectl(["create", "serviceaccount", "bot"]);
    const token = (await kubectl(["create", "token", "bot"])).trim();
    const who = await review(token);
    expect(who.status).toMatchObject({
      authenticated: true,
      audiences: [ISSUER],
      user: {
        username: "system:serviceaccount:default:bot",
        groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
      },
    });
    // The token is a credential kubectl itself can use, with what RBAC grants the account.
    const denied = await cp.kubectl(["--token", token, "get", "configmaps", "-o", "name"]);
    expect(denied.stderr).toMatch(/Forbidden|forbidden/);
    await kubectl([
      "create",
      "rolebinding",
      "bot-view",
      "--clusterrole=view",
      "--serviceaccount=default:bot",
    ]);
    const listed = await waitFor(
      async () => {
        const r = await cp.kubectl(["--token", token, "get", "configmaps", "-o", "name"]);
        return r.code === 0 ? r : undefined;
      },
      30_000,
      "bot may list configmaps",
    );
    expect(listed.code, listed.stderr).toBe(0);
    expect(listed.stdout).toContain("configmap/kube-root-ca.crt");
    // --audience and --duration reach the token (kubectl 1.32+ sends this request as protobuf).
    const scoped = (
      await kubectl(["create", "token", "bot", "--audience", "vault", "--duration", "15m"])
    ).trim();
    const claims = JSON.parse(Buffer.from(scoped.split(".")[1], "base64url").toString());
    expect(claims.aud).toEqual(["vault"]);
    expect(claims.exp - claims.iat).toBe(900);
    expect((await review(scoped, ["vault"])).status.authenticated).toBe(true);
    expect((await asBearer(scoped)).status).toBe(401);
  });

  it("refuses expired and tampered tokens with a 401 Status", async () => {
    const token = (await kubectl(["create", "token", "bot"])).trim();
    const sa = JSON.parse(await kubectl(["get", "serviceaccount", "bot", "-o", "json"]));
    const key = await importPKCS8(KEY, "ES256");
    const now = Math.floor(Date.now() / 1000);
    const expired = await new SignJWT({
      "kubernetes.io": { namespace: "default", serviceaccount: { name: "bot", uid: sa.metadata.uid } },
    })
      .setProtectedHeader({ alg: "ES256" })
      .setIssuer(ISSUER)
      .setAudience(ISSUER)
      .setSubject("system:serviceaccount:default:bot")
      .setIssuedAt(now - 7200)
      .setExpirationTime(now - 3600)
      .sign(key);
    const [h, p, s] = token.split(".");
    const payload = JSON.parse(Buffer.from(p, "base64url").toString());
    payload.sub = "system:serviceaccount:kube-system:default";
    const tampered = `${h}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${s}`;
    for (const bad of [expired, tampered]) {
      expect(await asBearer(bad)).toEqual({
        status: 401,
        body: expect.objectContaining({ kind: "Status", reason: "Unauthorized" }),
      });
      const r = await cp.kubectl(["--token", bad, "get", "pods"]);
      expect(r.code).not.toBe(0);
      expect(r.stderr).toMatch(/Unauthorized|must be logged in/);
    }
    expect((await asBearer(token)).status).toBe(200);
  });

  it("mounts token, ca.crt and namespace into a container pod, and the token is accepted by the API", async () => {
    await waitFor(
      async () => (await cp.fetch("/api/v1/namespaces/default/configmaps/kube-root-ca.crt")).ok,
      60_000,
      "kube-root-ca.crt in default",
    );
    await kubectl(
      ["apply", "-f", "-"],
      pod(
        "reader",
        `echo "NS=$(cat ${MOUNT}/namespace)"; echo "CA=$(head -1 ${MOUNT}/ca.crt)"; echo "TOKEN=$(cat ${MOUNT}/token)"; ` +
          `touch ${MOUNT}/x 2>/dev/null && echo WRITABLE || echo READONLY; sleep 3600`,
      ),
    );
    const logs = await logsWhenRunning("reader", /TOKEN=\S+\n(READONLY|WRITABLE)/);
    expect(logs).toContain("NS=default\n");
    expect(logs).toContain(`CA=${caPem.split("\n")[0]}\n`);
    expect(logs).toContain("READONLY");
    const token = /TOKEN=(\S+)/.exec(logs)?.[1] ?? "";
    const podJson = JSON.parse(await kubectl(["get", "pod", "reader", "-o", "json"]));
    const volume = podJson.spec.volumes.find((v: { name: string }) => v.name.startsWith("kube-api-access-"));
    expect(volume.projected.sources[0]).toEqual({
      serviceAccountToken: { expirationSeconds: 3607, path: "token" },
    });
    expect((await asBearer(token)).status).toBe(200);
    const who = await review(token);
    expect(who.status.user?.username).toBe("system:serviceaccount:default:default");
    expect(who.status.user?.extra?.["authentication.kubernetes.io/pod-name"]).toEqual(["reader"]);
    expect(who.status.user?.extra?.["authentication.kubernetes.io/node-name"]).toEqual([NODE]);
    // The token is bound to the pod: once the pod is gone, so is the token.
    await kubectl(["delete", "pod", "reader", "--grace-period=0", "--force", "--wait=true"]);
    expect((await asBearer(token)).status).toBe(401);
  });

  it("gives a pod with automountServiceAccountToken: false no token volume", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      pod(
        "quiet",
        `ls ${MOUNT} 2>/dev/null && echo MOUNTED || echo NONE; sleep 3600`,
        "  automountServiceAccountToken: false\n",
      ),
    );
    const logs = await logsWhenRunning("quiet", /MOUNTED|NONE/);
    expect(logs).toContain("NONE");
    const podJson = JSON.parse(await kubectl(["get", "pod", "quiet", "-o", "json"]));
    expect((podJson.spec.volumes ?? []).map((v: { name: string }) => v.name)).toEqual([]);
  });

  it("edgeplane kubeconfig mints a user's expiring kubeconfig that real kubectl uses", async () => {
    const admin = join(dir, "admin.kubeconfig");
    await writeKubeconfig(admin, "local", { server: cp.url, token: cp.token, ca: caPem });
    const minted = await edgeplane([
      "kubeconfig",
      "--user",
      "alice",
      "--group",
      "dev",
      "--ttl",
      "1h",
      "--kubeconfig",
      admin,
    ]);
    expect(minted.code, minted.stderr).toBe(0);
    const alice = join(dir, "alice.kubeconfig");
    const { writeFileSync } = await import("node:fs");
    writeFileSync(alice, minted.stdout, { mode: 0o600 });
    const r = await cp.kubectl(["--kubeconfig", alice, "get", "--raw", "/api"]);
    expect(r.code, r.stderr).toBe(0);
    const token = /token: (\S+)/.exec(minted.stdout)?.[1] ?? "";
    const claims = JSON.parse(Buffer.from(token.split(".")[1], "base64url").toString());
    expect(claims.exp - claims.iat).toBe(3600);
    expect((await review(token)).status).toMatchObject({
      authenticated: true,
      user: { username: "alice", groups: ["dev", "system:authenticated"] },
    });
    // Alice is no admin: she cannot mint tokens herself.
    const denied = await edgeplane([
      "kubeconfig",
      "--user",
      "mallory",
      "--group",
      "system:masters",
      "--kubeconfig",
      alice,
    ]);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/403/);
  });

  it("writes the projected token for a WASM pod too", async () => {
    const image = wasmRegistry.push("samples/hello", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("hello"))) },
    ]).image;
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata:
  name: wasm-reader
spec:
  runtimeClassName: wasm
  restartPolicy: Never
  containers:
  - name: main
    image: ${image}
`,
    );
    const done = await waitFor(
      async () => {
        const p = JSON.parse(await kubectl(["get", "pod", "wasm-reader", "-o", "json"]));
        return p.status?.phase === "Succeeded" ? p : undefined;
      },
      120_000,
      "wasm-reader Succeeded",
    );
    const volume = done.spec.volumes.find((v: { name: string }) => v.name.startsWith("kube-api-access-"));
    const files = join(agentDir(), "pods", done.metadata.uid, "volumes", volume.name);
    expect(readFileSync(join(files, "namespace"), "utf8")).toBe("default");
    const who = await review(readFileSync(join(files, "token"), "utf8"));
    expect(who.status.user?.extra?.["authentication.kubernetes.io/pod-name"]).toEqual(["wasm-reader"]);
  });
});
