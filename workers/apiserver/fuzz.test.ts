/**
 * Fuzz: the real resource table, authenticator and authorizer over a
 * MemoryStore, fed seeded malformed requests (routes × methods × bodies,
 * paths, headers, queries) as an admin, a node and nobody. Every answer must
 * be below 500, every error a Kubernetes Status with its own code, and the
 * store byte-for-byte unchanged. Deterministic: a failure prints its case.
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createApiServer } from "./app.ts";
import { authorize } from "./authorize.ts";
import { MAX_BODY_BYTES } from "./decode.ts";
import { RESOURCES } from "./kinds/index.ts";
import { schemaServices } from "./openapi/index.ts";
import { collectionPrefix } from "./registry/keys.ts";
import { createAuthenticator } from "./tokens.ts";

const ADMIN_TOKEN = "fuzz-admin-token";
const NODE_TOKEN = "fuzzid.0123456789abcdef";
const CASES = 3000;

/** mulberry32: a small seeded generator, so every run sends the same requests. */
function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)];
  return { next, pick };
}

const NAMES = [
  "fuzz-missing",
  "%",
  "%zz",
  "%e0%80",
  "..",
  "%2e%2e",
  "a%2Fb",
  "x".repeat(300),
  "UPPER",
  "-bad-",
];
const SUBRESOURCES = [
  "",
  "",
  "status",
  "scale",
  "binding",
  "eviction",
  "log",
  "exec",
  "finalize",
  "%",
  "bogus",
];
const METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "PROPFIND"];
const QUERIES = [
  "",
  "resourceVersion=abc",
  "resourceVersion=-1",
  "resourceVersion=99999999999999999999",
  "resourceVersionMatch=Bogus&resourceVersion=1",
  "limit=-5",
  "limit=abc",
  "limit=1e309",
  "continue=%",
  "continue=not-base64!!",
  "continue=eyJ2IjoxfQ",
  "labelSelector=%",
  "labelSelector=a%20in%20(",
  "labelSelector=!!!",
  "labelSelector=a,,b==",
  "fieldSelector=metadata.name==x==y",
  "fieldSelector=bogus.field=1",
  "fieldSelector=%",
  "timeoutSeconds=-1",
  "timeoutSeconds=abc",
  "watch=true&timeoutSeconds=abc",
  "watch=maybe",
  "fieldValidation=Strict",
  "fieldValidation=Bogus",
  "dryRun=Bogus",
  "gracePeriodSeconds=-7",
  "gracePeriodSeconds=abc",
  "propagationPolicy=Sideways",
  "fieldManager=%",
  "force=maybe",
  "pretty=%",
  "%=%",
];
const CONTENT_TYPES = [
  "application/json",
  "application/yaml",
  "application/merge-patch+json",
  "application/strategic-merge-patch+json",
  "application/json-patch+json",
  "application/apply-patch+yaml",
  "application/vnd.kubernetes.protobuf",
  "text/plain",
  "application/json; charset=%",
  "",
  "multipart/form-data; boundary=x",
];

/** Bodies that are each broken in at least one way, so no write may succeed. */
function bodies(r: ReturnType<typeof rng>, resource: string, kind: string, apiVersion: string): string[] {
  const name = "fuzz-missing";
  const valid = { apiVersion, kind, metadata: { name, namespace: "default" } };
  return [
    "",
    "{",
    "null",
    "[]",
    '"string"',
    "12",
    "{nope",
    "a: [1,\n",
    "a: &a [*a]",
    "\u0000\u0001\u0002",
    "[".repeat(100_000),
    "{a: ".repeat(50_000),
    "- ".repeat(100_000),
    `${'{"a":'.repeat(600)}1${"}".repeat(600)}`,
    [
      "a: &a [x,x,x,x,x,x,x,x,x]",
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: [*c,*c,*c,*c,*c,*c,*c,*c]",
    ].join("\n"),
    JSON.stringify({ ...valid, kind: "NotAKind" }),
    JSON.stringify({ ...valid, apiVersion: "bogus/v9" }),
    JSON.stringify({ ...valid, metadata: { name: "%zz!!" } }),
    JSON.stringify({ ...valid, metadata: "string" }),
    JSON.stringify({ ...valid, metadata: null }),
    JSON.stringify({ ...valid, metadata: { name, labels: "str", annotations: 5 }, spec: "x", status: [] }),
    JSON.stringify({ ...valid, metadata: { name, ownerReferences: "x", finalizers: "x", generateName: 5 } }),
    JSON.stringify({ ...valid, metadata: { name, namespace: 7, resourceVersion: 9, uid: [] } }),
    JSON.stringify({ ...valid, metadata: { name, labels: { "": ["x"] } }, spec: 5 }),
    `{"apiVersion":"${apiVersion}","kind":"${kind}","kind":"${kind}","metadata":{"name":"${name}","name":"x"}}`,
    JSON.stringify([{ op: "remove", path: "/nope/%" }]),
    JSON.stringify([{ op: "bogus" }]),
    String.fromCharCode(...Array.from({ length: 64 }, () => Math.floor(r.next() * 256))),
    `k8s\u0000${String.fromCharCode(...Array.from({ length: 40 }, () => Math.floor(r.next() * 256)))}`,
    JSON.stringify({ ...valid, [`unknown${resource}`]: true, metadata: { name, resourceVersion: "bogus" } }),
  ];
}

describe("fuzz: no input produces a 5xx or changes the store", () => {
  it(`${CASES} seeded malformed requests as admin, node and anonymous`, async () => {
    const store = new MemoryStore();
    const app = createApiServer({
      store,
      resources: RESOURCES,
      authenticate: createAuthenticator({ adminToken: ADMIN_TOKEN, store }),
      authorize,
      schema: schemaServices,
      // A fuzzed query may open a real watch (watch=maybe is a watch, as in kube): the server ends it.
      watch: { minRequestTimeoutSeconds: 1, random: () => 0 },
    });
    const send = (path: string, init: RequestInit) => app.request(`http://fuzz${path}`, init);
    const admin = { Authorization: `Bearer ${ADMIN_TOKEN}`, "Content-Type": "application/json" };
    // Set-up (before the snapshot): built-in namespaces, a node's bootstrap token, a pod on that node.
    const setup = [
      await send("/api/v1/namespaces/kube-system/secrets", {
        method: "POST",
        headers: admin,
        body: JSON.stringify({
          apiVersion: "v1",
          kind: "Secret",
          metadata: { name: "bootstrap-token-fuzzid", namespace: "kube-system" },
          type: "bootstrap.kubernetes.io/token",
          data: {
            "token-id": btoa("fuzzid"),
            "token-secret": btoa("0123456789abcdef"),
            "node-name": btoa("node-1"),
          },
        }),
      }),
      await send("/api/v1/namespaces/default/pods", {
        method: "POST",
        headers: admin,
        body: JSON.stringify({
          apiVersion: "v1",
          kind: "Pod",
          metadata: { name: "fuzz-pod" },
          spec: { nodeName: "node-1", containers: [{ name: "c", image: "x" }] },
        }),
      }),
    ];
    expect(setup.map((r) => r.status)).toEqual([201, 201]);
    // Every shard's keys, values and revision (a failed write that bumped a revision shows too).
    const dump = async () =>
      JSON.stringify(await Promise.all(RESOURCES.map((info) => store.list(collectionPrefix(info)))));
    const before = await dump();

    const r = rng(20261207);
    const routes = RESOURCES.map((info) => ({
      info,
      base: info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`,
    }));
    const failures: string[] = [];
    for (let i = 0; i < CASES; i++) {
      const { info, base } = r.pick(routes);
      const ns = info.namespaced
        ? `/namespaces/${r.pick(["default", "%", "kube-system", "fuzz-missing"])}`
        : "";
      const name =
        r.next() < 0.8 ? `/${r.pick(info.resource === "pods" ? [...NAMES, "fuzz-pod"] : NAMES)}` : "";
      const sub = name && r.next() < 0.4 ? `/${r.pick(SUBRESOURCES)}` : "";
      const shape = r.next();
      const path =
        shape < 0.85
          ? `${base}${ns}/${info.resource}${name}${sub}`
          : r.pick([
              "/api/%",
              "/apis/%zz/v1",
              "/api/v1/%",
              "/apis/apps/%e0/deployments",
              "/openapi/v3/%",
              "/%",
              "/api//v1//pods",
              "/apis/apps/v1/namespaces/default/deployments/x/y/z/w",
            ]);
      let method = r.pick(METHODS);
      // A DELETE or PUT that could succeed would change the store: only on names that do not exist.
      if (
        (method === "DELETE" || method === "PUT" || method === "PATCH") &&
        name.endsWith("fuzz-pod") &&
        !sub
      )
        method = "GET";
      let query = r.pick(QUERIES);
      // A DELETE of what exists would succeed (a collection, or ".." resolving to a namespace): dry run only.
      if (method === "DELETE") query = `${query ? `${query}&` : ""}dryRun=All`;
      // Writes to the existing pod's subresources (binding, eviction, status) only as a dry run.
      if (name.endsWith("fuzz-pod") && sub && method !== "GET" && method !== "HEAD")
        query = `${query ? `${query}&` : ""}dryRun=All`;
      const token = r.pick([ADMIN_TOKEN, NODE_TOKEN, "", "garbage", "fuzzid.wrongsecret00000"]);
      const headers: Record<string, string> = {};
      if (token) headers.Authorization = r.next() < 0.9 ? `Bearer ${token}` : `Basic ${btoa(`u:${token}`)}`;
      const contentType = r.pick(CONTENT_TYPES);
      if (contentType) headers["Content-Type"] = contentType;
      if (r.next() < 0.1)
        headers.Accept = r.pick([
          "application/json;as=Table;g=meta.k8s.io;v=v1",
          "%",
          "application/vnd.kubernetes.protobuf",
          "*/*;q=bogus",
        ]);
      const init: RequestInit = { method, headers };
      let bodyLabel = "";
      if (method !== "GET" && method !== "HEAD") {
        const choice = r.next();
        if (choice < 0.05) {
          init.body = "x".repeat(MAX_BODY_BYTES + 1);
          bodyLabel = "over-limit";
        } else {
          const all = bodies(
            r,
            info.resource,
            info.kind,
            info.group ? `${info.group}/${info.version}` : info.version,
          );
          const index = Math.floor(r.next() * all.length);
          init.body = all[index];
          bodyLabel = `body#${index}`;
          // Duplicate fields are only a warning by default (as in kube): make them an error.
          if (all[index].includes(`"kind":"${info.kind}","kind"`) && !query.includes("fieldValidation"))
            query = `${query ? `${query}&` : ""}fieldValidation=Strict`;
        }
      }
      const label = `#${i} ${method} ${path}${query ? `?${query}` : ""} ${contentType} ${bodyLabel} token=${token ? token.slice(0, 6) : "none"}`;
      let response: Response;
      try {
        response = await send(`${path}${query ? `?${query}` : ""}`, init);
      } catch (error) {
        failures.push(`${label}: threw ${(error as Error).message}`);
        continue;
      }
      // A watch that was accepted (kube reads "watch=maybe" as true) streams until cancelled: do not wait on it.
      const streaming = response.status === 200 && /(^|&)watch=/.test(query) && method === "GET";
      if (streaming) await response.body?.cancel();
      const text = streaming ? "" : await response.text();
      // Streams from a node (exec, attach, portforward, log) with no agent connected: an honest 503.
      const unimplemented = response.status === 503 && /fuzz-pod\/(exec|attach|portforward|log)/.test(path);
      if (response.status >= 500 && !unimplemented)
        failures.push(`${label}: ${response.status} ${text.slice(0, 200)}`);
      else if (response.status >= 400 && method !== "HEAD") {
        let status: { kind?: string; code?: number } = {};
        try {
          status = JSON.parse(text);
        } catch {}
        if (status.kind !== "Status" || status.code !== response.status)
          failures.push(`${label}: ${response.status} is no matching Status: ${text.slice(0, 200)}`);
      } else if (
        response.status < 400 &&
        !["GET", "HEAD", "OPTIONS"].includes(method) &&
        !query.includes("dryRun=All")
      )
        failures.push(`${label}: a broken write answered ${response.status}`);
      if (failures.length > 20) break;
    }
    expect(failures).toEqual([]);
    expect(await dump()).toBe(before);
  }, 120_000);
});
