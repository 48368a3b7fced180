import { generateKeyPairSync } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createApiServer } from "../../workers/apiserver/app.ts";
import { authorize } from "../../workers/apiserver/authorize.ts";
import { RESOURCES } from "../../workers/apiserver/kinds/index.ts";
import { serviceAccountAdmission } from "../../workers/apiserver/serviceaccount/admission.ts";
import { authentication } from "../../workers/apiserver/serviceaccount/wiring.ts";
import { TokenCache } from "../../workers/apiserver/tokens.ts";
import { createKubeClient, type KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import type { Pod } from "./pod/k8s.ts";
import { apiSources, preparePod } from "./prepare.ts";
import { requiresRefresh, ServiceAccountTokens } from "./service-account-tokens.ts";

const KEY = generateKeyPairSync("ec", { namedCurve: "P-256" }).privateKey.export({
  type: "pkcs8",
  format: "pem",
}) as string;

/** The real API server in-process: "admin" is the admin token, "abcdef.0123456789abcdef" node n1's. */
async function cluster(now: () => Date) {
  const store = new MemoryStore();
  const { authenticate, tokens } = authentication({ SERVICE_ACCOUNT_SIGNING_KEY: KEY }, store, {
    adminToken: "admin",
    cache: new TokenCache(),
    now,
  });
  const app = createApiServer({
    store,
    resources: RESOURCES,
    authenticate,
    authorize,
    services: { tokens },
    admission: [serviceAccountAdmission({ mountTokens: true })],
    now,
  });
  const client = (token: string) =>
    createKubeClient({
      baseUrl: "http://api",
      token,
      fetch: async (url, init) => app.fetch(new Request(url, init)),
    });
  const admin = client("admin");
  await admin.create(R.secrets, "kube-system", {
    metadata: { name: "bootstrap-token-abcdef" },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      "token-id": "abcdef",
      "token-secret": "0123456789abcdef",
      "usage-bootstrap-authentication": "true",
      "node-name": "n1",
    },
  } as KubeObject);
  await admin.create(R.serviceaccounts, "default", { metadata: { name: "bot" } });
  const pod = await admin.create<Pod & KubeObject>(R.pods, "default", {
    metadata: { name: "p" },
    spec: { serviceAccountName: "bot", nodeName: "n1", containers: [{ name: "c", image: "busybox" }] },
  } as KubeObject);
  const review = async (token: string) =>
    (
      await admin.create<KubeObject & { status: { authenticated: boolean; user?: { username?: string } } }>(
        { group: "authentication.k8s.io", version: "v1", resource: "tokenreviews", namespaced: false },
        undefined,
        { apiVersion: "authentication.k8s.io/v1", kind: "TokenReview", spec: { token } } as KubeObject,
      )
    ).status;
  return { node: client("abcdef.0123456789abcdef"), pod, review };
}

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

describe("projected ServiceAccount tokens on the node", () => {
  it("refreshes after 80 % of the lifetime (or 24 h), as the kubelet", () => {
    const t = { issuedAt: 0, expiresAt: 3600_000 };
    expect(requiresRefresh(t, 2880_000)).toBe(false);
    expect(requiresRefresh(t, 2880_001)).toBe(true);
    expect(requiresRefresh({ issuedAt: 0, expiresAt: 48 * 3600_000 }, 24 * 3600_000 + 1)).toBe(true);
  });

  it("writes the pod-bound token, CA and namespace into the volume and requests a new token at 80 %", async () => {
    let now = new Date("2026-12-01T00:00:00Z");
    const c = await cluster(() => now);
    const volume = c.pod.spec.volumes?.find((v) => v.name.startsWith("kube-api-access-"));
    expect(volume).toBeDefined();
    const tokens = new ServiceAccountTokens(c.node, { now: () => now });
    dir = mkdtempSync(join(tmpdir(), "sa-token-"));
    const sources = {
      ...apiSources(c.node, tokens),
      // The root-CA publisher's ConfigMap, as the node would read it.
      configMap: async () => ({ "ca.crt": Buffer.from("CA PEM") }),
    };
    const mountOf = async () => {
      const prepared = await preparePod(c.pod, "10.0.0.9", dir!, "192.0.2.1", sources);
      const [mount] = prepared.mounts(c.pod.spec.containers[0]);
      return mount;
    };
    const mount = await mountOf();
    expect(mount).toMatchObject({
      containerPath: "/var/run/secrets/kubernetes.io/serviceaccount",
      readOnly: true,
    });
    const first = readFileSync(join(mount.hostPath, "token"), "utf8");
    expect(readFileSync(join(mount.hostPath, "ca.crt"), "utf8")).toBe("CA PEM");
    expect(readFileSync(join(mount.hostPath, "namespace"), "utf8")).toBe("default");
    expect(statSync(join(mount.hostPath, "token")).mode & 0o777).toBe(0o644);
    expect(await c.review(first)).toMatchObject({
      authenticated: true,
      user: { username: "system:serviceaccount:default:bot" },
    });
    const claims = JSON.parse(Buffer.from(first.split(".")[1], "base64url").toString());
    expect(claims.exp - claims.iat).toBe(3607);
    expect(claims["kubernetes.io"].pod).toEqual({ name: "p", uid: c.pod.metadata.uid });
    // Before 80 % the cached token is written again; after it, a new one is requested.
    now = new Date(now.getTime() + 2800_000);
    expect(readFileSync(join((await mountOf()).hostPath, "token"), "utf8")).toBe(first);
    now = new Date(now.getTime() + 100_000);
    const second = readFileSync(join((await mountOf()).hostPath, "token"), "utf8");
    expect(second).not.toBe(first);
    expect((await c.review(second)).authenticated).toBe(true);
  });

  it("makes a missing ServiceAccount the pod's configuration error", async () => {
    const c = await cluster(() => new Date());
    const tokens = new ServiceAccountTokens(c.node, { now: () => new Date() });
    dir = mkdtempSync(join(tmpdir(), "sa-token-"));
    const orphan: Pod = { ...c.pod, spec: { ...c.pod.spec, serviceAccountName: "gone" } };
    const sources = { ...apiSources(c.node, tokens), configMap: async () => ({ "ca.crt": Buffer.from("") }) };
    await expect(preparePod(orphan, "10.0.0.9", dir, "192.0.2.1", sources)).rejects.toThrow(
      /failed to fetch token for service account "gone"/,
    );
  });
});
