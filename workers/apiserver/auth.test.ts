import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { R } from "../client/resources.ts";
import { createApiServer } from "./app.ts";
import { ADMIN_USER, constantTimeEqual, createAuthenticator } from "./auth.ts";
import { inProcessClient } from "./index.ts";
import { RESOURCES } from "./kinds/index.ts";

const b64 = (s: string) => btoa(s);

async function storeWithToken(id: string, secret: string, extra: Record<string, string> = {}) {
  const store = new MemoryStore();
  const app = createApiServer({ store, resources: RESOURCES, authenticate: async () => ADMIN_USER });
  const response = await app.request("http://test/api/v1/namespaces/kube-system/secrets", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({
      metadata: { name: `bootstrap-token-${id}` },
      type: "bootstrap.kubernetes.io/token",
      data: {
        "token-id": b64(id),
        "token-secret": b64(secret),
        "usage-bootstrap-authentication": b64("true"),
        ...Object.fromEntries(Object.entries(extra).map(([k, v]) => [k, b64(v)])),
      },
    }),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return store;
}

const req = (token?: string) =>
  new Request("http://test/api", { headers: token ? { Authorization: `Bearer ${token}` } : {} });

describe("authentication", () => {
  it("accepts the admin token and rejects others, comparing in constant time", async () => {
    const auth = createAuthenticator({ adminToken: "admin-secret" });
    expect(await auth(req("admin-secret"))).toEqual(ADMIN_USER);
    expect(await auth(req("admin-secreT"))).toBeUndefined();
    expect(await auth(req())).toBeUndefined();
    expect(await constantTimeEqual("a", "a")).toBe(true);
    expect(await constantTimeEqual("a", "b")).toBe(false);
  });

  it("authenticates bootstrap tokens from kube-system Secrets", async () => {
    const store = await storeWithToken("abcdef", "0123456789abcdef", {
      "auth-extra-groups": "system:bootstrappers:worker",
    });
    const auth = createAuthenticator({ adminToken: "admin-secret", store });
    const user = await auth(req("abcdef.0123456789abcdef"));
    expect(user?.name).toBe("system:bootstrap:abcdef");
    expect(user?.groups).toEqual(
      expect.arrayContaining(["system:bootstrappers", "system:nodes", "system:bootstrappers:worker"]),
    );
    expect(await auth(req("abcdef.0123456789abcdee"))).toBeUndefined();
    expect(await auth(req("zzzzzz.0123456789abcdef"))).toBeUndefined();
    expect(await auth(req("not-a-token"))).toBeUndefined();
  });

  it("rejects expired bootstrap tokens", async () => {
    const store = await storeWithToken("expire", "0123456789abcdef", { expiration: "2020-01-01T00:00:00Z" });
    const auth = createAuthenticator({ store });
    expect(await auth(req("expire.0123456789abcdef"))).toBeUndefined();
  });

  it("the Worker requires a token for the API but not for health and version", async () => {
    expect((await SELF.fetch("http://edgeplane/api/v1/namespaces")).status).toBe(401);
    expect((await SELF.fetch("http://edgeplane/healthz")).status).toBe(200);
    expect((await SELF.fetch("http://edgeplane/version")).status).toBe(200);
    const ok = await SELF.fetch("http://edgeplane/api/v1/namespaces", {
      headers: { Authorization: `Bearer ${env.ADMIN_TOKEN}` },
    });
    expect(ok.status).toBe(200);
  });

  it("the in-process client is authenticated without any token over the durable store", async () => {
    const client = inProcessClient(env, undefined);
    const list = await client.list(R.namespaces);
    expect(list.items.map((n) => n.metadata?.name)).toEqual(
      expect.arrayContaining(["default", "kube-system"]),
    );
    const cm = await client.create(R.configmaps, "default", {
      metadata: { name: "inproc" },
      data: { a: "1" },
    });
    expect(cm.metadata?.managedFields).toBeDefined();
  });
});
