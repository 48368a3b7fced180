/**
 * What the store holds, read raw through the Durable Object store under the
 * API server: Secrets encrypted (aesgcm, rotation, plaintext fallback, wrong
 * key), Events attached to a lease that the store expires.
 */
import { env, runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { createDurableStore } from "../../durable-objects/store/client.ts";
import type { StoreObject } from "../../durable-objects/store/object.ts";
import { LEASE_AUTHORITY } from "../../durable-objects/store/rpc.ts";
import type { Env } from "../env.ts";
import { authenticate } from "./auth.ts";
import { apiServerForEnv } from "./index.ts";

const ADMIN = (env as unknown as Env).ADMIN_TOKEN!;

function randomKey(name: string): string {
  return `${name}:${btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))))}`;
}

/** Call the API server built for `vars` over the test's real STORE binding. */
async function call(
  vars: Partial<Env>,
  method: string,
  path: string,
  body?: unknown,
  token = ADMIN,
  // biome-ignore lint/suspicious/noExplicitAny: Status and object bodies are read loosely in assertions
): Promise<{ status: number; json: Record<string, any> }> {
  const app = apiServerForEnv({ ...(env as unknown as Env), ...vars }, undefined);
  const init: RequestInit = { method, headers: { Authorization: `Bearer ${token}` } };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    (init.headers as Record<string, string>)["Content-Type"] = "application/json";
  }
  const response = await app.request(`http://test${path}`, init);
  const text = await response.text();
  return { status: response.status, json: text ? JSON.parse(text) : {} };
}

const raw = () => createDurableStore(env.STORE);
const SECRETS = "/api/v1/namespaces/default/secrets";
const PLAIN = "correct-horse-battery-staple";

describe("Secrets encrypted at rest", () => {
  it("stores k8s:enc:aesgcm:v1:<key>: + ciphertext, never the plaintext, and reads it back", async () => {
    const k1 = randomKey("k1");
    const created = await call({ ENCRYPTION_KEYS: k1 }, "POST", SECRETS, {
      metadata: { name: "s1" },
      stringData: { password: PLAIN },
    });
    expect(created.status).toBe(201);
    const { kv } = await raw().get("/registry/core/secrets/default/s1");
    expect(kv!.value.startsWith("k8s:enc:aesgcm:v1:k1:")).toBe(true);
    expect(kv!.value).not.toContain(PLAIN);
    expect(kv!.value).not.toContain(btoa(PLAIN));
    // No JSON at all: base64 has no quotes, so a quoted name or field would be plaintext leaking.
    expect(kv!.value).not.toContain('"s1"');
    expect(kv!.value).not.toContain('"metadata"');
    const read = await call({ ENCRYPTION_KEYS: k1 }, "GET", `${SECRETS}/s1`);
    expect(read.json.data).toEqual({ password: btoa(PLAIN) });
  });

  it("watches and lists of Secrets carry the decrypted objects (MODIFIED and DELETED included)", async () => {
    const vars = { ENCRYPTION_KEYS: randomKey("w1") };
    const created = await call(vars, "POST", SECRETS, {
      metadata: { name: "watched" },
      data: { a: btoa(PLAIN) },
    });
    const app = apiServerForEnv({ ...(env as unknown as Env), ...vars }, undefined);
    const response = await app.request(
      `http://test${SECRETS}?watch=true&resourceVersion=${created.json.metadata.resourceVersion}`,
      { headers: { Authorization: `Bearer ${ADMIN}` } },
    );
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    const next = async () => {
      for (;;) {
        const nl = buffer.indexOf("\n");
        if (nl >= 0) {
          const line = buffer.slice(0, nl);
          buffer = buffer.slice(nl + 1);
          if (line.trim()) return JSON.parse(line);
          continue;
        }
        const { value, done } = await reader.read();
        if (done) return undefined;
        buffer += value;
      }
    };
    await call(vars, "PUT", `${SECRETS}/watched`, { ...created.json, data: { a: btoa("second") } });
    await call(vars, "DELETE", `${SECRETS}/watched`);
    expect(await next()).toMatchObject({ type: "MODIFIED", object: { data: { a: btoa("second") } } });
    expect(await next()).toMatchObject({ type: "DELETED", object: { data: { a: btoa("second") } } });
    await reader.cancel();
    // A list decrypts every Secret it reads: kube-public holds only this test's (other tests use other keys).
    const own = "/api/v1/namespaces/kube-public/secrets";
    await call(vars, "POST", own, { metadata: { name: "listed" }, data: { a: btoa(PLAIN) } });
    const list = await call(vars, "GET", own);
    expect(list.json.items.map((i: { data: unknown }) => i.data)).toEqual([{ a: btoa(PLAIN) }]);
  });

  it("rotates: a second key reads the old, an unchanged replace rewrites with the first key", async () => {
    const k1 = randomKey("old");
    const k2 = randomKey("new");
    await call({ ENCRYPTION_KEYS: k1 }, "POST", SECRETS, {
      metadata: { name: "rot" },
      data: { a: btoa(PLAIN) },
    });
    const both = { ENCRYPTION_KEYS: `${k2},${k1}` };
    const current = await call(both, "GET", `${SECRETS}/rot`);
    expect(current.json.data).toEqual({ a: btoa(PLAIN) });
    // kubectl get secrets -A -o json | kubectl replace -f -: the same object back.
    const replaced = await call(both, "PUT", `${SECRETS}/rot`, current.json);
    expect(replaced.status).toBe(200);
    expect(replaced.json.metadata.resourceVersion).not.toBe(current.json.metadata.resourceVersion);
    expect((await raw().get("/registry/core/secrets/default/rot")).kv!.value).toMatch(
      /^k8s:enc:aesgcm:v1:new:/,
    );
    // Now the old key can go.
    const onlyNew = await call({ ENCRYPTION_KEYS: k2 }, "GET", `${SECRETS}/rot`);
    expect(onlyNew.json.data).toEqual({ a: btoa(PLAIN) });
    // Already under the first key: an unchanged replace stays a no-op.
    const again = await call({ ENCRYPTION_KEYS: k2 }, "PUT", `${SECRETS}/rot`, onlyNew.json);
    expect(again.json.metadata.resourceVersion).toBe(onlyNew.json.metadata.resourceVersion);
  });

  it("reads plaintext written before encryption, and encrypts it on the next replace", async () => {
    const k1 = randomKey("k1");
    const legacy = {
      apiVersion: "v1",
      kind: "Secret",
      metadata: {
        name: "legacy",
        namespace: "default",
        uid: "u-1",
        creationTimestamp: "2026-01-01T00:00:00Z",
      },
      type: "Opaque",
      data: { a: btoa(PLAIN) },
    };
    await raw().create("/registry/core/secrets/default/legacy", JSON.stringify(legacy));
    const read = await call({ ENCRYPTION_KEYS: k1 }, "GET", `${SECRETS}/legacy`);
    expect(read.json.data).toEqual({ a: btoa(PLAIN) });
    await call({ ENCRYPTION_KEYS: k1 }, "PUT", `${SECRETS}/legacy`, read.json);
    const { kv } = await raw().get("/registry/core/secrets/default/legacy");
    expect(kv!.value).toMatch(/^k8s:enc:aesgcm:v1:k1:/);
    expect(kv!.value).not.toContain(btoa(PLAIN));
  });

  it("a missing or wrong key is a 500 InternalError Status naming the key, never the key or the plaintext", async () => {
    const k1 = randomKey("prod1");
    await call({ ENCRYPTION_KEYS: k1 }, "POST", SECRETS, {
      metadata: { name: "locked" },
      data: { a: btoa(PLAIN) },
    });
    const impostor = randomKey("prod1");
    for (const vars of [{ ENCRYPTION_KEYS: randomKey("other") }, { ENCRYPTION_KEYS: impostor }, {}]) {
      const res = await call(vars, "GET", `${SECRETS}/s-none`.replace("s-none", "locked"));
      expect(res.status).toBe(500);
      expect(res.json).toMatchObject({ kind: "Status", reason: "InternalError", code: 500 });
      expect(res.json.message).toContain('"prod1"');
      const text = JSON.stringify(res.json);
      for (const secret of [k1.split(":")[1], impostor.split(":")[1], PLAIN, btoa(PLAIN)])
        expect(text).not.toContain(secret);
    }
    const list = await call({}, "GET", SECRETS);
    expect(list.status).toBe(500);
    expect(JSON.stringify(list.json)).not.toContain(btoa(PLAIN));
  });

  it("bootstrap-token Secrets are encrypted too and still authenticate", async () => {
    const k1 = randomKey("k1");
    const id = "abcdeg";
    const secret = "0123456789abcdef";
    const created = await call({ ENCRYPTION_KEYS: k1 }, "POST", "/api/v1/namespaces/kube-system/secrets", {
      metadata: { name: `bootstrap-token-${id}` },
      type: "bootstrap.kubernetes.io/token",
      stringData: { "token-id": id, "token-secret": secret, "usage-bootstrap-authentication": "true" },
    });
    expect(created.status).toBe(201);
    const { kv } = await raw().get(`/registry/core/secrets/kube-system/bootstrap-token-${id}`);
    expect(kv!.value).toMatch(/^k8s:enc:aesgcm:v1:k1:/);
    expect(kv!.value).not.toContain(btoa(secret));
    // The registry and tunnel endpoints authenticate through auth.ts: it must read through the transform too.
    // (First: the authenticator caches what it read.)
    const user = await authenticate(
      new Request("http://test/v2/", { headers: { Authorization: `Bearer ${id}.${secret}` } }),
      { ...(env as unknown as Env), ENCRYPTION_KEYS: k1 },
    );
    expect(user?.name).toMatch(/^system:bootstrap:/);
    const asToken = await call({ ENCRYPTION_KEYS: k1 }, "GET", "/api", undefined, `${id}.${secret}`);
    expect(asToken.status).toBe(200);
  });
});

describe("Events expire through store leases", () => {
  const authority = () =>
    env.STORE.get(env.STORE.idFromName(LEASE_AUTHORITY)) as DurableObjectStub<StoreObject>;

  it("every Event write attaches a lease, and the store deletes the Event when it expires", async () => {
    const vars = { EVENT_TTL_SECONDS: "60" };
    const event = (name: string) => ({
      metadata: { name },
      involvedObject: { kind: "Pod", name: "p", namespace: "default" },
      reason: "Tested",
      message: "hello",
      type: "Normal",
    });
    const core = "/api/v1/namespaces/default/events";
    const v1 = "/apis/events.k8s.io/v1/namespaces/default/events";
    expect((await call(vars, "POST", core, event("e1"))).status).toBe(201);
    expect(
      (
        await call(vars, "POST", v1, {
          metadata: { name: "e2" },
          eventTime: "2026-01-01T00:00:00.000000Z",
          reportingController: "test",
          reportingInstance: "test-1",
          action: "Test",
          reason: "Tested",
          regarding: { kind: "Pod", name: "p", namespace: "default" },
          type: "Normal",
        })
      ).status,
    ).toBe(201);
    const e1 = await raw().get("/registry/core/events/default/e1");
    const e2 = await raw().get("/registry/events.k8s.io/events/default/e2");
    expect(e1.kv!.lease).toBeGreaterThan(0);
    expect(e2.kv!.lease).toBeGreaterThan(0);
    // An update keeps the Event on a lease (a put without one would detach it, as in etcd).
    const patched = await call(vars, "GET", `${core}/e1`);
    patched.json.message = "again";
    expect((await call(vars, "PUT", `${core}/e1`, patched.json)).status).toBe(200);
    expect((await raw().get("/registry/core/events/default/e1")).kv!.lease).toBeGreaterThan(0);
    // Not yet: the lease lives at least the TTL.
    await runInDurableObject(authority(), (o: StoreObject) => {
      o.clockOffsetMs += 50_000;
    });
    await runDurableObjectAlarm(authority());
    expect((await call(vars, "GET", `${core}/e1`)).status).toBe(200);
    // TTL plus the lease-reuse window (5% of 60 s) later, both are gone.
    await runInDurableObject(authority(), (o: StoreObject) => {
      o.clockOffsetMs += 14_000;
    });
    await runDurableObjectAlarm(authority());
    expect((await call(vars, "GET", `${core}/e1`)).status).toBe(404);
    expect((await call(vars, "GET", `${v1}/e2`)).status).toBe(404);
    // A new Event after that gets a fresh lease (the reused one was revoked under the API server).
    expect((await call(vars, "POST", core, event("e3"))).status).toBe(201);
    expect((await raw().get("/registry/core/events/default/e3")).kv!.lease).toBeGreaterThan(0);
  });
});
