/** The join routes through the whole Worker (workers/index.ts routing) in workerd: static assets, the CA, the credential exchange. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };
const BASE = "https://edgeplane.test";
const CREDENTIAL = `${BASE}/edgeplane/v1/join/credential`;

/** A bootstrap-token Secret as `edgeplane token create` writes it; returns "id.secret". */
async function bootstrapToken(id: string, extra: Record<string, string>): Promise<string> {
  const secret = "0123456789abcdef";
  const response = await SELF.fetch(`${BASE}/api/v1/namespaces/kube-system/secrets`, {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify({
      metadata: { name: `bootstrap-token-${id}` },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": id,
        "token-secret": secret,
        "usage-bootstrap-authentication": "true",
        expiration: "2099-01-01T00:00:00Z",
        ...extra,
      },
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return `${id}.${secret}`;
}

async function secretData(name: string): Promise<Record<string, string> | undefined> {
  const response = await SELF.fetch(`${BASE}/api/v1/namespaces/kube-system/secrets/${name}`, {
    headers: ADMIN,
  });
  if (response.status === 404) return undefined;
  const data = ((await response.json()) as { data: Record<string, string> }).data;
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [k, atob(v)]));
}

describe("join routes", () => {
  it("serve join.sh without a token, and a Status for the CA when the certificate is public", async () => {
    const script = await SELF.fetch(`${BASE}/join.sh`);
    expect(script.status).toBe(200);
    expect(await script.text()).toMatch(/^#!\/bin\/sh\n/);
    const ca = await SELF.fetch(`${BASE}/edgeplane/v1/join/ca.crt`);
    expect(ca.status).toBe(404);
    const status = (await ca.json()) as { kind: string; message: string };
    expect(status.kind).toBe("Status");
    expect(status.message).toContain("its certificate is public");
  });

  it("trade a node-bound join token, once, for a credential of the same node without expiration", async () => {
    const join = await bootstrapToken("jn0001", { "node-name": "host-a" });
    const issued = await SELF.fetch(CREDENTIAL, {
      method: "POST",
      headers: { Authorization: `Bearer ${join}` },
    });
    expect(issued.status).toBe(201);
    const { token } = (await issued.json()) as { token: string };
    expect(token).toMatch(/^[a-z0-9]{6}\.[a-z0-9]{16}$/);
    const [id, secret] = token.split(".");
    const stored = await secretData(`bootstrap-token-${id}`);
    expect(stored).toMatchObject({
      "node-name": "host-a",
      "token-secret": secret,
      "usage-bootstrap-authentication": "true",
    });
    expect(stored?.expiration).toBeUndefined();
    expect(await secretData("bootstrap-token-jn0001")).toBeUndefined();
    // The new credential is the node's: the API takes it as system:node:host-a.
    const self = await SELF.fetch(`${BASE}/api/v1/nodes/host-a`, {
      headers: { Authorization: `Bearer ${token}` },
    });
    expect(self.status).toBe(404);
    // A second use of the join token gives no second credential.
    const again = await SELF.fetch(CREDENTIAL, {
      method: "POST",
      headers: { Authorization: `Bearer ${join}` },
    });
    expect([401, 409]).toContain(again.status);
    expect(((await again.json()) as { kind: string }).kind).toBe("Status");
  });

  it("refuse anyone but a node-bound token, with a Status", async () => {
    const unbound = await bootstrapToken("jn0002", {});
    for (const [headers, code] of [
      [{}, 401],
      [{ Authorization: "Bearer nope00.0000000000000000" }, 401],
      [{ Authorization: "Bearer test-admin-token" }, 403],
      [{ Authorization: `Bearer ${unbound}` }, 403],
    ] as const) {
      const response = await SELF.fetch(CREDENTIAL, { method: "POST", headers });
      expect(response.status).toBe(code);
      expect(((await response.json()) as { kind: string }).kind).toBe("Status");
    }
    const get = await SELF.fetch(CREDENTIAL);
    expect(get.status).toBe(405);
    expect(await secretData("bootstrap-token-jn0002")).toBeDefined();
  });
});
