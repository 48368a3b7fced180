import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createAuthenticator, TokenCache } from "./tokens.ts";

/** A MemoryStore that counts reads, to prove what the token cache saves. */
class CountingStore extends MemoryStore {
  reads = 0;
  override async get(key: string, revision?: number) {
    this.reads++;
    return super.get(key, revision);
  }
}

const b64 = (s: string) => btoa(s);
const SECRET = "0123456789abcdef";

/** Store a bootstrap-token Secret for `id` with these data fields (plain text; undefined = absent). */
async function putToken(store: MemoryStore, id: string, data: Record<string, string | undefined>) {
  const fields: Record<string, string> = {};
  for (const [k, v] of Object.entries({ "token-id": id, "token-secret": SECRET, ...data }))
    if (v !== undefined) fields[k] = k === "expiration" && v.startsWith("raw:") ? v.slice(4) : b64(v);
  const secret = {
    apiVersion: "v1",
    kind: "Secret",
    metadata: { name: `bootstrap-token-${id}`, namespace: "kube-system" },
    type: "bootstrap.kubernetes.io/token",
    data: fields,
  };
  await store.create(`/registry/core/secrets/kube-system/bootstrap-token-${id}`, JSON.stringify(secret));
}

const req = (token: string) =>
  new Request("http://test/api", { headers: { Authorization: `Bearer ${token}` } });
const NOW = new Date("2026-06-01T00:00:00Z");

describe("bootstrap tokens as kube validates them", () => {
  it("authenticate only with usage-bootstrap-authentication=true; absent or anything else is refused", async () => {
    const store = new MemoryStore();
    await putToken(store, "usetru", { "usage-bootstrap-authentication": "true" });
    await putToken(store, "useabs", {});
    await putToken(store, "usefal", { "usage-bootstrap-authentication": "false" });
    const auth = createAuthenticator({ store, cache: new TokenCache(), now: () => NOW });
    expect((await auth(req(`usetru.${SECRET}`)))?.name).toBe("system:bootstrap:usetru");
    expect(await auth(req(`useabs.${SECRET}`))).toBeUndefined();
    expect(await auth(req(`usefal.${SECRET}`))).toBeUndefined();
  });

  it("an expiration that does not parse as RFC 3339 is refused, not eternal; a past one is expired", async () => {
    const store = new MemoryStore();
    const usage = { "usage-bootstrap-authentication": "true" };
    await putToken(store, "future", { ...usage, expiration: "2026-06-02T00:00:00Z" });
    await putToken(store, "garble", { ...usage, expiration: "next tuesday" });
    await putToken(store, "nearly", { ...usage, expiration: "2026-06-02" });
    await putToken(store, "notb64", { ...usage, expiration: "raw:%%%not-base64%%%" });
    await putToken(store, "passed", { ...usage, expiration: "2026-05-31T23:59:59Z" });
    const auth = createAuthenticator({ store, cache: new TokenCache(), now: () => NOW });
    expect((await auth(req(`future.${SECRET}`)))?.name).toBe("system:bootstrap:future");
    for (const id of ["garble", "nearly", "notb64", "passed"])
      expect(await auth(req(`${id}.${SECRET}`)), id).toBeUndefined();
  });

  it("the token cache is a bounded LRU: more ids than the cap leave it at the cap, most recent kept", async () => {
    const store = new CountingStore();
    await putToken(store, "keeper", { "usage-bootstrap-authentication": "true" });
    const cache = new TokenCache({ max: 8 });
    const auth = createAuthenticator({ store, cache, now: () => NOW });
    expect(await auth(req(`keeper.${SECRET}`))).toBeDefined();
    for (let i = 0; i < 50; i++) {
      await auth(req(`${String(i).padStart(6, "x")}.${SECRET}`));
      // The real token stays most recently used, so the flood cannot push it out.
      expect(await auth(req(`keeper.${SECRET}`))).toBeDefined();
      expect(cache.size).toBeLessThanOrEqual(8);
    }
    expect(cache.size).toBe(8);
    expect(store.reads).toBe(51);
  });

  it("a refused token is remembered for a few seconds: repeating it costs no store read until then", async () => {
    const store = new CountingStore();
    let now = NOW.getTime();
    const cache = new TokenCache({ negativeTtlMs: 3000 });
    const auth = createAuthenticator({ store, cache, now: () => new Date(now) });
    const bad = req(`nosuch.${SECRET}`);
    expect(await auth(bad)).toBeUndefined();
    expect(store.reads).toBe(1);
    for (let i = 0; i < 100; i++) expect(await auth(req(`nosuch.${SECRET}`))).toBeUndefined();
    expect(store.reads).toBe(1);
    // Past the short window it is read again, so a token created meanwhile works soon after.
    await putToken(store, "nosuch", { "usage-bootstrap-authentication": "true" });
    now += 3000;
    expect((await auth(req(`nosuch.${SECRET}`)))?.name).toBe("system:bootstrap:nosuch");
    expect(store.reads).toBe(2);
  });
});
