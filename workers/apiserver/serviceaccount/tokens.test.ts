import { createLocalJWKSet, exportPKCS8, generateKeyPair, jwtVerify, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { createApiServer } from "../app.ts";
import { authorize } from "../authorize.ts";
import { RESOURCES } from "../kinds/index.ts";
import { TokenCache } from "../tokens.ts";
import { serviceAccountAdmission } from "./admission.ts";
import { tokenSigner } from "./config.ts";
import { TokenIssuer } from "./issuer.ts";
import { parseTokenKeys } from "./keys.ts";
import { authentication } from "./wiring.ts";

const ISSUER = "https://issuer.test";
const ADMIN = "admin-token";
let signingKey = "";
let foreignKey = "";

beforeAll(async () => {
  const pem = async (alg: string) =>
    exportPKCS8((await generateKeyPair(alg, { extractable: true })).privateKey);
  signingKey = await pem("ES256");
  foreignKey = await pem("ES256");
});

// biome-ignore lint/suspicious/noExplicitAny: response bodies are read field by field in assertions
type Json = Record<string, any>;

/** An API server with tokens configured, the real resource table, authorizer and ServiceAccount admission. */
function cluster(options: { now?: () => Date; audiences?: string } = {}) {
  const store = new MemoryStore();
  const { authenticate, tokens } = authentication(
    {
      SERVICE_ACCOUNT_SIGNING_KEY: signingKey,
      SERVICE_ACCOUNT_ISSUER: ISSUER,
      API_AUDIENCES: options.audiences,
    },
    store,
    { adminToken: ADMIN, cache: new TokenCache(), now: options.now },
  );
  const app = createApiServer({
    store,
    resources: RESOURCES,
    authenticate,
    authorize,
    services: { tokens },
    admission: [serviceAccountAdmission({ mountTokens: true })],
    now: options.now,
  });
  const call = async (
    method: string,
    path: string,
    body?: unknown,
    token = ADMIN,
    type = "application/json",
  ) => {
    const response = await app.request(`http://test${path}`, {
      method,
      headers: { Authorization: `Bearer ${token}`, "Content-Type": type },
      body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text ? JSON.parse(text) : {}) as Json };
  };
  const requestToken = async (sa: string, spec: Json = {}, token = ADMIN, ns = "default") =>
    call(
      "POST",
      `/api/v1/namespaces/${ns}/serviceaccounts/${sa}/token`,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        spec,
      },
      token,
    );
  const review = (token: string, audiences?: string[]) =>
    call("POST", "/apis/authentication.k8s.io/v1/tokenreviews", {
      apiVersion: "authentication.k8s.io/v1",
      kind: "TokenReview",
      spec: { token, audiences },
    });
  return { call, requestToken, review, tokens, store };
}

const SA = (name: string, extra: Json = {}) => ({ metadata: { name }, ...extra });
const POD = (name: string, extra: Json = {}, spec: Json = {}) => ({
  metadata: { name, ...extra },
  spec: { containers: [{ name: "c", image: "busybox" }], ...spec },
});

describe("TokenRequest (serviceaccounts/NAME/token)", () => {
  it("issues a signed token with kube's claims that authenticates as the ServiceAccount", async () => {
    const c = cluster();
    const sa = await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("bot"));
    expect(sa.status).toBe(201);
    const res = await c.requestToken("bot");
    expect(res.status).toBe(201);
    expect(res.body.kind).toBe("TokenRequest");
    expect(res.body.spec).toMatchObject({ audiences: [ISSUER], expirationSeconds: 3600 });
    const token = res.body.status.token as string;
    const jwks = (await c.call("GET", "/openid/v1/jwks")).body;
    const { payload, protectedHeader } = await jwtVerify(token, createLocalJWKSet(jwks as never), {
      issuer: ISSUER,
      audience: ISSUER,
    });
    expect(protectedHeader.kid).toBe(jwks.keys[0].kid);
    expect(payload.sub).toBe("system:serviceaccount:default:bot");
    expect((payload.exp ?? 0) - (payload.iat ?? 0)).toBe(3600);
    expect(payload["kubernetes.io"]).toEqual({
      namespace: "default",
      serviceaccount: { name: "bot", uid: sa.body.metadata.uid },
    });
    expect(Date.parse(res.body.status.expirationTimestamp)).toBe((payload.exp ?? 0) * 1000);
    // The token works as a bearer (discovery is every authenticated user's), and TokenReview says who it is.
    expect((await c.call("GET", "/api", undefined, token)).status).toBe(200);
    // RBAC decides the rest: nothing until a RoleBinding grants "view"; the issuer's keys by default.
    const configmaps = "/api/v1/namespaces/default/configmaps";
    expect((await c.call("GET", configmaps, undefined, token)).status).toBe(403);
    await c.call("POST", "/apis/rbac.authorization.k8s.io/v1/namespaces/default/rolebindings", {
      metadata: { name: "bot-view" },
      roleRef: { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" },
      subjects: [{ kind: "ServiceAccount", name: "bot", namespace: "default" }],
    });
    expect((await c.call("GET", configmaps, undefined, token)).status).toBe(200);
    expect((await c.call("GET", "/openid/v1/jwks", undefined, token)).status).toBe(200);
    const review = await c.review(token);
    expect(review.status).toBe(201);
    expect(review.body.status).toMatchObject({
      authenticated: true,
      audiences: [ISSUER],
      user: {
        username: "system:serviceaccount:default:bot",
        uid: sa.body.metadata.uid,
        groups: ["system:serviceaccounts", "system:serviceaccounts:default", "system:authenticated"],
      },
    });
  });

  it("decodes kubectl's protobuf body (audiences, expirationSeconds, boundObjectRef)", async () => {
    const c = cluster();
    await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("bot"));
    const pod = await c.call(
      "POST",
      "/api/v1/namespaces/default/pods",
      POD("p", {}, { serviceAccountName: "bot" }),
    );
    const enc = new TextEncoder();
    const varint = (n: number) => {
      const out: number[] = [];
      while (n > 0x7f) {
        out.push((n & 0x7f) | 0x80);
        n >>>= 7;
      }
      return [...out, n];
    };
    const field = (num: number, bytes: number[] | Uint8Array) => [
      ...varint((num << 3) | 2),
      ...varint(bytes.length),
      ...bytes,
    ];
    const spec = [
      ...field(1, enc.encode("vault")),
      ...field(3, [
        ...field(1, enc.encode("Pod")),
        ...field(2, enc.encode("v1")),
        ...field(3, enc.encode("p")),
      ]),
      ...varint((4 << 3) | 0),
      ...varint(1200),
    ];
    const body = new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...field(2, [...field(1, []), ...field(2, spec)])]);
    const res = await c.call(
      "POST",
      "/api/v1/namespaces/default/serviceaccounts/bot/token",
      body,
      ADMIN,
      "application/vnd.kubernetes.protobuf",
    );
    expect(res.status).toBe(201);
    expect(res.body.spec).toMatchObject({ audiences: ["vault"], expirationSeconds: 1200 });
    const review = await c.review(res.body.status.token, ["vault"]);
    expect(review.body.status.authenticated).toBe(true);
    expect(review.body.status.user.extra).toMatchObject({
      "authentication.kubernetes.io/pod-name": ["p"],
      "authentication.kubernetes.io/pod-uid": [pod.body.metadata.uid],
    });
  });

  it("answers bad requests with kube's Status codes", async () => {
    const c = cluster();
    await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("bot"));
    await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("other"));
    await c.call("POST", "/api/v1/namespaces/default/pods", POD("p", {}, { serviceAccountName: "other" }));
    const cases: [Json, number, string][] = [
      [{ expirationSeconds: 60 }, 422, "Invalid"],
      [{ boundObjectRef: { kind: "Pod", name: "p" } }, 400, "BadRequest"],
      [{ boundObjectRef: { kind: "Pod", name: "missing" } }, 404, "NotFound"],
      [{ boundObjectRef: { kind: "Deployment", name: "x" } }, 400, "BadRequest"],
    ];
    for (const [spec, code, reason] of cases) {
      const res = await c.requestToken("bot", spec);
      expect([JSON.stringify(spec), res.status, res.body.reason]).toEqual([
        JSON.stringify(spec),
        code,
        reason,
      ]);
    }
    const missing = await c.requestToken("nobody");
    expect([missing.status, missing.body.reason]).toEqual([404, "NotFound"]);
    const uid = await c.requestToken("other", { boundObjectRef: { kind: "Pod", name: "p", uid: "wrong" } });
    expect([uid.status, uid.body.reason]).toEqual([409, "Conflict"]);
    const garbage = await c.call("POST", "/api/v1/namespaces/default/serviceaccounts/bot/token", "x", ADMIN);
    expect(garbage.status).toBe(400);
  });

  it("lets a node request tokens only bound to its own pods, for their ServiceAccount", async () => {
    const c = cluster();
    // A node identity: a bootstrap token bound to node n1.
    await c.call("POST", "/api/v1/namespaces/kube-system/secrets", {
      metadata: { name: "bootstrap-token-abcdef" },
      type: "bootstrap.kubernetes.io/token",
      stringData: {
        "token-id": "abcdef",
        "token-secret": "0123456789abcdef",
        "usage-bootstrap-authentication": "true",
        "node-name": "n1",
      },
    });
    const NODE = "abcdef.0123456789abcdef";
    const node = await c.call("POST", "/api/v1/nodes", { metadata: { name: "n1" } });
    await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("bot"));
    const mine = await c.call(
      "POST",
      "/api/v1/namespaces/default/pods",
      POD("mine", {}, { serviceAccountName: "bot", nodeName: "n1" }),
    );
    const theirs = await c.call(
      "POST",
      "/api/v1/namespaces/default/pods",
      POD("theirs", {}, { serviceAccountName: "bot", nodeName: "n2" }),
    );
    const bound = (pod: Json) => ({
      boundObjectRef: { kind: "Pod", name: pod.metadata.name, uid: pod.metadata.uid },
    });
    const ok = await c.requestToken("bot", bound(mine.body), NODE);
    expect(ok.status).toBe(201);
    const review = await c.review(ok.body.status.token);
    expect(review.body.status.user.extra["authentication.kubernetes.io/node-name"]).toEqual(["n1"]);
    expect(review.body.status.user.extra["authentication.kubernetes.io/node-uid"]).toEqual([
      node.body.metadata.uid,
    ]);
    for (const spec of [{}, bound(theirs.body), { boundObjectRef: { kind: "Pod", name: "mine" } }]) {
      const res = await c.requestToken("bot", spec, NODE);
      expect([JSON.stringify(spec), res.status]).toEqual([JSON.stringify(spec), 403]);
    }
    // No pod of n1 runs as "default": the node authorizer refuses before the body is read.
    const other = await c.requestToken("default", bound(mine.body), NODE);
    expect([other.status, other.body.reason]).toEqual([403, "Forbidden"]);
  });
});

describe("JWT authentication", () => {
  it("refuses malformed, foreign-signed, expired, wrong-audience, wrong-issuer and orphaned tokens with 401", async () => {
    let now = new Date("2026-12-01T00:00:00Z");
    const c = cluster({ now: () => now });
    const sa = await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("bot"));
    const uid = sa.body.metadata.uid as string;
    await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("gone"));
    const pod = await c.call(
      "POST",
      "/api/v1/namespaces/default/pods",
      POD("p", {}, { serviceAccountName: "bot" }),
    );
    const good = (await c.requestToken("bot")).body.status.token as string;
    const forPod = (await c.requestToken("bot", { boundObjectRef: { kind: "Pod", name: "p" } })).body.status
      .token;
    const orphan = (await c.requestToken("gone")).body.status.token as string;
    const otherAudience = (await c.requestToken("bot", { audiences: ["vault"] })).body.status.token as string;
    const claims = {
      sub: "system:serviceaccount:default:bot",
      "kubernetes.io": { namespace: "default", serviceaccount: { name: "bot", uid } },
    };
    const sign = async (pem: string, payload: Json, exp: number, iss = ISSUER) => {
      const [key] = await parseTokenKeys(pem);
      const iat = Math.floor(now.getTime() / 1000);
      return new SignJWT(payload)
        .setProtectedHeader({ alg: key.alg, kid: key.kid })
        .setIssuer(iss)
        .setAudience(ISSUER)
        .setIssuedAt(iat)
        .setExpirationTime(iat + exp)
        .sign(key.privateKey!);
    };
    const [header, body] = good.split(".");
    const tampered = `${header}.${btoa(
      JSON.stringify({
        ...JSON.parse(atob(body.replace(/-/g, "+").replace(/_/g, "/"))),
        sub: "system:serviceaccount:kube-system:admin",
      }),
    )
      .replace(/=+$/, "")
      .replace(/\+/g, "-")
      .replace(/\//g, "_")}.${good.split(".")[2]}`;
    const unsigned = `${btoa(JSON.stringify({ alg: "none" })).replace(/=+$/, "")}.${body}.`;
    const cases: Record<string, string> = {
      malformed: "eyJhbGciOi.not-a-jwt.x",
      tampered,
      "alg none": unsigned,
      "foreign key": await sign(foreignKey, claims, 600),
      expired: await sign(signingKey, claims, -120),
      "wrong issuer": await sign(signingKey, claims, 600, "https://other.test"),
      "wrong audience": otherAudience,
      "uid of a recreated account": await sign(
        signingKey,
        { ...claims, "kubernetes.io": { namespace: "default", serviceaccount: { name: "bot", uid: "old" } } },
        600,
      ),
    };
    await c.call("DELETE", "/api/v1/namespaces/default/serviceaccounts/gone");
    cases["deleted account"] = orphan;
    await c.call("DELETE", "/api/v1/namespaces/default/pods/p?gracePeriodSeconds=0");
    cases["deleted bound pod"] = forPod;
    for (const [what, token] of Object.entries(cases)) {
      const res = await c.call("GET", "/api", undefined, token);
      expect([what, res.status, res.body.kind, res.body.reason]).toEqual([
        what,
        401,
        "Status",
        "Unauthorized",
      ]);
      expect((await c.review(token)).body.status.authenticated, what).toBe(false);
    }
    expect(pod.status).toBe(201);
    expect((await c.call("GET", "/api", undefined, good)).status).toBe(200);
    // After its hour (plus kube's minute of leeway) the issued token expires too.
    now = new Date(now.getTime() + 3661_000);
    expect((await c.call("GET", "/api", undefined, good)).status).toBe(401);
  });

  it("keeps the admin token working and reviews it for the API audiences only", async () => {
    const c = cluster({ audiences: `${ISSUER},api` });
    const admin = await c.review(ADMIN);
    expect(admin.body.status).toMatchObject({
      authenticated: true,
      user: { username: "system:admin" },
      audiences: [ISSUER, "api"],
    });
    expect((await c.review(ADMIN, ["vault"])).body.status.authenticated).toBe(false);
    expect((await c.review("")).status).toBe(400);
    expect((await c.call("GET", "/apis/authentication.k8s.io/v1/tokenreviews")).status).toBe(405);
  });
});

describe("legacy Secret-based tokens", () => {
  it("authenticate while their Secret holds them for the same account, and die with the Secret", async () => {
    const c = cluster();
    const sa = await c.call("POST", "/api/v1/namespaces/default/serviceaccounts", SA("legacy"));
    const uid = sa.body.metadata.uid as string;
    // What the tokens controller signs and stores (controllers/tokens).
    const sign = tokenSigner({ SERVICE_ACCOUNT_SIGNING_KEY: signingKey, SERVICE_ACCOUNT_ISSUER: ISSUER });
    const token = await sign!({
      iss: "kubernetes/serviceaccount",
      "kubernetes.io/serviceaccount/namespace": "default",
      "kubernetes.io/serviceaccount/secret.name": "legacy-token",
      "kubernetes.io/serviceaccount/service-account.name": "legacy",
      "kubernetes.io/serviceaccount/service-account.uid": uid,
      sub: "system:serviceaccount:default:legacy",
    });
    const secret = (name: string, value: string, saUid = uid) =>
      c.call("POST", "/api/v1/namespaces/default/secrets", {
        metadata: {
          name,
          annotations: {
            "kubernetes.io/service-account.name": "legacy",
            "kubernetes.io/service-account.uid": saUid,
          },
        },
        type: "kubernetes.io/service-account-token",
        data: { token: btoa(value) },
      });
    // Not yet stored in its Secret: refused.
    expect((await c.call("GET", "/api", undefined, token)).status).toBe(401);
    expect((await secret("legacy-token", token)).status).toBe(201);
    expect((await c.call("GET", "/api", undefined, token)).status).toBe(200);
    expect((await c.review(token)).body.status).toMatchObject({
      authenticated: true,
      user: { username: "system:serviceaccount:default:legacy", uid },
    });
    await c.call("DELETE", "/api/v1/namespaces/default/secrets/legacy-token");
    expect((await c.call("GET", "/api", undefined, token)).status).toBe(401);
  });
});

describe("OIDC discovery", () => {
  it("serves the discovery document and the JWKS to authenticated users only", async () => {
    const c = cluster();
    const doc = await c.call("GET", "/.well-known/openid-configuration");
    expect(doc.status).toBe(200);
    expect(doc.body).toMatchObject({
      issuer: ISSUER,
      jwks_uri: `${ISSUER}/openid/v1/jwks`,
      id_token_signing_alg_values_supported: ["ES256"],
    });
    const jwks = (await c.call("GET", "/openid/v1/jwks")).body;
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kty: "EC", crv: "P-256", alg: "ES256", use: "sig" });
    expect(jwks.keys[0].d).toBeUndefined();
    expect((await c.call("GET", "/openid/v1/jwks", undefined, "nobody")).status).toBe(401);
  });

  it("verifies with every listed key and signs with the first private one (rotation)", async () => {
    const keys = await parseTokenKeys(`${foreignKey}\n${signingKey}`);
    const issuer = new TokenIssuer({ issuer: ISSUER, audiences: [], keys });
    const old = new TokenIssuer({ issuer: ISSUER, audiences: [], keys: await parseTokenKeys(signingKey) });
    const now = new Date();
    const claims = { iss: ISSUER, aud: [ISSUER], exp: Math.floor(now.getTime() / 1000) + 60 };
    await expect(issuer.verify(await old.sign(claims), ISSUER, [ISSUER], now)).resolves.toMatchObject(claims);
    expect(issuer.jwks().keys.map((k) => k.kid)).toEqual(keys.map((k) => k.kid));
    await expect(old.verify(await issuer.sign(claims), ISSUER, [ISSUER], now)).rejects.toThrow();
  });
});

describe("ServiceAccount admission", () => {
  it("defaults the account and mounts the kube-api-access volume read-only in every container", async () => {
    const c = cluster();
    const res = await c.call("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: "p" },
      spec: {
        initContainers: [{ name: "init", image: "busybox" }],
        containers: [
          { name: "a", image: "busybox" },
          {
            name: "b",
            image: "busybox",
            volumeMounts: [{ name: "own", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" }],
          },
        ],
        volumes: [{ name: "own", emptyDir: {} }],
      },
    });
    expect(res.status).toBe(201);
    const spec = res.body.spec;
    expect(spec.serviceAccountName).toBe("default");
    const volume = spec.volumes.find((v: Json) => v.name.startsWith("kube-api-access-"));
    expect(volume.name).toMatch(/^kube-api-access-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(volume.projected).toEqual({
      defaultMode: 420,
      sources: [
        { serviceAccountToken: { expirationSeconds: 3607, path: "token" } },
        { configMap: { name: "kube-root-ca.crt", items: [{ key: "ca.crt", path: "ca.crt" }] } },
        {
          downwardAPI: {
            items: [{ path: "namespace", fieldRef: { apiVersion: "v1", fieldPath: "metadata.namespace" } }],
          },
        },
      ],
    });
    const mount = {
      name: volume.name,
      readOnly: true,
      mountPath: "/var/run/secrets/kubernetes.io/serviceaccount",
    };
    expect(spec.initContainers[0].volumeMounts).toEqual([mount]);
    expect(spec.containers[0].volumeMounts).toEqual([mount]);
    expect(spec.containers[1].volumeMounts).toEqual([
      { name: "own", mountPath: "/var/run/secrets/kubernetes.io/serviceaccount" },
    ]);
  });

  it("honours automountServiceAccountToken on the pod, then on the account, and refuses a missing account", async () => {
    const c = cluster();
    await c.call(
      "POST",
      "/api/v1/namespaces/default/serviceaccounts",
      SA("quiet", { automountServiceAccountToken: false, imagePullSecrets: [{ name: "reg" }] }),
    );
    const volumes = async (name: string, spec: Json) => {
      const res = await c.call("POST", "/api/v1/namespaces/default/pods", POD(name, {}, spec));
      expect(res.status).toBe(201);
      return {
        volumes: (res.body.spec.volumes ?? []).map((v: Json) => v.name.slice(0, 16)),
        pull: res.body.spec.imagePullSecrets,
      };
    };
    expect(await volumes("a", { automountServiceAccountToken: false })).toEqual({
      volumes: [],
      pull: undefined,
    });
    expect(await volumes("b", { serviceAccountName: "quiet" })).toEqual({
      volumes: [],
      pull: [{ name: "reg" }],
    });
    expect(
      (await volumes("c", { serviceAccountName: "quiet", automountServiceAccountToken: true })).volumes,
    ).toEqual(["kube-api-access-"]);
    const missing = await c.call(
      "POST",
      "/api/v1/namespaces/default/pods",
      POD("d", {}, { serviceAccountName: "nobody" }),
    );
    expect([missing.status, missing.body.reason]).toEqual([403, "Forbidden"]);
  });
});

describe("user tokens (POST /edgeplane/v1/usertokens)", () => {
  it("mints an expiring token for a user and groups, for system:masters only", async () => {
    let now = new Date("2026-12-01T00:00:00Z");
    const c = cluster({ now: () => now });
    const minted = await c.call("POST", "/edgeplane/v1/usertokens", {
      user: "alice",
      groups: ["dev"],
      expirationSeconds: 3600,
    });
    expect(minted.status).toBe(201);
    expect(minted.body).toMatchObject({
      user: "alice",
      groups: ["dev"],
      expirationTimestamp: "2026-12-01T01:00:00Z",
    });
    const token = minted.body.token as string;
    expect((await c.call("GET", "/api", undefined, token)).status).toBe(200);
    expect((await c.review(token)).body.status).toMatchObject({
      authenticated: true,
      user: { username: "alice", groups: ["dev", "system:authenticated"] },
    });
    // A user may not mint tokens, nor may a ServiceAccount.
    const again = await c.call(
      "POST",
      "/edgeplane/v1/usertokens",
      { user: "root", groups: ["system:masters"] },
      token,
    );
    expect([again.status, again.body.reason]).toEqual([403, "Forbidden"]);
    // Bad requests are 422 with every field error; a token that looks like an SA's is refused.
    const bad = await c.call("POST", "/edgeplane/v1/usertokens", {
      user: "system:serviceaccount:default:bot",
      groups: [""],
      expirationSeconds: 5,
    });
    expect([bad.status, bad.body.reason, bad.body.details.causes.map((x: Json) => x.field)]).toEqual([
      422,
      "Invalid",
      ["user", "groups", "expirationSeconds"],
    ]);
    now = new Date(now.getTime() + 3661_000);
    expect((await c.call("GET", "/api", undefined, token)).status).toBe(401);
  });
});

describe("OIDC issuers (AUTHENTICATION_JWT)", () => {
  it("verifies ID tokens with the issuer's discovered JWKS and maps username and groups with prefixes", async () => {
    const idp = await generateKeyPair("ES256", { extractable: true });
    const { exportJWK } = await import("jose");
    const jwk = { ...(await exportJWK(idp.publicKey)), kid: "k1", alg: "ES256" };
    const fetched: string[] = [];
    const fetcher = async (url: string) => {
      fetched.push(url);
      if (url === "https://idp.test/.well-known/openid-configuration")
        return Response.json({ issuer: "https://idp.test", jwks_uri: "https://idp.test/keys" });
      if (url === "https://idp.test/keys") return Response.json({ keys: [jwk] });
      return new Response("no", { status: 404 });
    };
    const store = new MemoryStore();
    const { authenticate } = authentication(
      {
        AUTHENTICATION_JWT: JSON.stringify([
          {
            issuer: { url: "https://idp.test", audiences: ["edgeplane"] },
            claimMappings: {
              username: { claim: "email", prefix: "oidc:" },
              groups: { claim: "groups", prefix: "oidc:" },
            },
          },
        ]),
      },
      store,
      { fetch: fetcher },
    );
    const idToken = (claims: Json, aud = "edgeplane") =>
      new SignJWT(claims)
        .setProtectedHeader({ alg: "ES256", kid: "k1" })
        .setIssuer("https://idp.test")
        .setAudience(aud)
        .setIssuedAt()
        .setExpirationTime("10m")
        .sign(idp.privateKey);
    const who = (token: string) =>
      authenticate(new Request("http://x/", { headers: { Authorization: `Bearer ${token}` } }));
    expect(
      await who(await idToken({ email: "ann@example.com", email_verified: true, groups: ["ops"] })),
    ).toEqual({
      name: "oidc:ann@example.com",
      groups: ["oidc:ops", "system:authenticated"],
      extra: {},
    });
    expect(fetched).toEqual(["https://idp.test/.well-known/openid-configuration", "https://idp.test/keys"]);
    expect(await who(await idToken({ email: "ann@example.com" }, "other"))).toBeUndefined();
    expect(await who(await idToken({ email: "ann@example.com", email_verified: false }))).toBeUndefined();
    // With an empty group prefix, a "system:masters" group from the identity provider is dropped.
    const { authenticate: plain } = authentication(
      {
        AUTHENTICATION_JWT: JSON.stringify([
          {
            issuer: { url: "https://idp.test", audiences: ["edgeplane"] },
            claimMappings: {
              username: { claim: "sub", prefix: "" },
              groups: { claim: "groups", prefix: "" },
            },
          },
        ]),
      },
      store,
      { fetch: fetcher },
    );
    const elevated = await idToken({ sub: "bob", groups: ["system:masters", "dev"] });
    expect(
      await plain(new Request("http://x/", { headers: { Authorization: `Bearer ${elevated}` } })),
    ).toEqual({
      name: "bob",
      groups: ["dev", "system:authenticated"],
      extra: {},
    });
    const admin = await idToken({ sub: "system:admin" });
    expect(
      await plain(new Request("http://x/", { headers: { Authorization: `Bearer ${admin}` } })),
    ).toBeUndefined();
    const forged = await new SignJWT({ email: "ann@example.com" })
      .setProtectedHeader({ alg: "ES256", kid: "k1" })
      .setIssuer("https://idp.test")
      .setAudience("edgeplane")
      .setExpirationTime("10m")
      .sign((await generateKeyPair("ES256")).privateKey);
    expect(await who(forged)).toBeUndefined();
  });
});
