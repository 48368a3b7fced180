/**
 * A small resource table for the API server's own unit tests (the real one
 * is kinds/index.ts): a cluster-scoped Namespace-like row, a plain
 * namespaced row, and a namespaced row with status, scale, a field selector
 * and graceful deletion. Deliberately not real kinds' strategies.
 */
import { env } from "cloudflare:test";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { createShardedStore, parseShardMap } from "../../../durable-objects/store/sharded.ts";
import type { Store } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { type ApiServerDeps, createApiServer } from "../app.ts";
import { namespaceStorage } from "../kinds/namespace-storage.ts";
import type { FieldError, ResourceInfo } from "../registry/types.ts";
import { ADMIN_USER } from "../tokens.ts";

/** The admin token the test server accepts. */
export const TEST_TOKEN = "test-token";

const namespaces: ResourceInfo = {
  group: "",
  version: "v1",
  resource: "namespaces",
  singular: "namespace",
  kind: "Namespace",
  namespaced: false,
  shortNames: ["ns"],
  nameFormat: "label",
  model: "V1Namespace",
  subresources: { status: true },
  // The real Namespace storage override (deletion, lifecycle admission, built-ins): what makes a row a namespace.
  rest: namespaceStorage,
  strategy: {
    prepareForCreate: (o) => {
      o.status = { phase: "Active" };
    },
    validate: () => [],
    columns: [{ name: "Status", type: "string", description: "phase", priority: 0 }],
    row: (o) => [(o.status as { phase?: string } | undefined)?.phase ?? ""],
  },
};

const configmaps: ResourceInfo = {
  group: "",
  version: "v1",
  resource: "configmaps",
  singular: "configmap",
  kind: "ConfigMap",
  namespaced: true,
  shortNames: ["cm"],
  model: "V1ConfigMap",
  strategy: {
    validate: (o) => {
      const errs: FieldError[] = [];
      for (const key of Object.keys((o.data as Record<string, unknown>) ?? {}))
        if (!/^[-._a-zA-Z0-9]+$/.test(key))
          errs.push({
            reason: "FieldValueInvalid",
            field: `data[${key}]`,
            message: `Invalid value: "${key}": bad key`,
          });
      return errs;
    },
    columns: [{ name: "Data", type: "integer", description: "entries", priority: 0 }],
    row: (o) => [Object.keys((o.data as object) ?? {}).length],
  },
};

interface WidgetSpec {
  replicas?: number;
  color?: string;
  selector?: unknown;
  nodeName?: string;
}

const widgets: ResourceInfo = {
  group: "example.com",
  version: "v1",
  resource: "widgets",
  singular: "widget",
  kind: "Widget",
  namespaced: true,
  shortNames: ["wd"],
  categories: ["all"],
  model: "V1Deployment",
  subresources: {
    status: true,
    scale: {
      specReplicasPath: "spec.replicas",
      statusReplicasPath: "status.replicas",
      labelSelectorPath: "spec.selector",
    },
  },
  strategy: {
    defaults: (o) => {
      o.spec ??= {};
      (o.spec as WidgetSpec).replicas ??= 1;
    },
    prepareForCreate: (o) => {
      o.status = { replicas: 0 };
    },
    validate: (o) => {
      const spec = (o.spec ?? {}) as WidgetSpec;
      const errs: FieldError[] = [];
      if (typeof spec.replicas !== "number" || spec.replicas < 0)
        errs.push({
          reason: "FieldValueInvalid",
          field: "spec.replicas",
          message: "Invalid value: must be >= 0",
        });
      if (!spec.color)
        errs.push({ reason: "FieldValueRequired", field: "spec.color", message: "Required value" });
      return errs;
    },
    validateUpdate: (o, old) => {
      const a = (o.spec ?? {}) as WidgetSpec;
      const b = (old.spec ?? {}) as WidgetSpec;
      return a.color !== b.color && b.color === "immutable"
        ? [{ reason: "FieldValueForbidden", field: "spec.color", message: "Forbidden: field is immutable" }]
        : [];
    },
    columns: [
      { name: "Replicas", type: "integer", description: "replicas", priority: 0 },
      { name: "Color", type: "string", description: "color", priority: 1 },
    ],
    row: (o) => [((o.spec ?? {}) as WidgetSpec).replicas ?? 0, ((o.spec ?? {}) as WidgetSpec).color ?? ""],
    fieldSelectors: { "spec.nodeName": (o) => ((o.spec ?? {}) as WidgetSpec).nodeName ?? "" },
    gracePeriod: (o, requested) => {
      if (!((o.spec ?? {}) as WidgetSpec).nodeName) return 0;
      return requested ?? 30;
    },
  },
};

/** The fixture's resource table. */
export const TEST_RESOURCES: ResourceInfo[] = [namespaces, configmaps, widgets];

/** Look up a fixture row. */
export function testResource(resource: string): ResourceInfo {
  return TEST_RESOURCES.find((r) => r.resource === resource)!;
}

/**
 * A server over a fresh MemoryStore (or the given store), with a settable clock.
 * Resources are split over sub-shards as the STORE_SHARDS binding says (the
 * "workers-sharded" test project sets it); `store` is the sharded view, so a
 * test writes and reads keys as the registry does.
 */
export function testServer(overrides: Partial<ApiServerDeps> & { store?: Store } = {}) {
  const clock = { now: new Date("2026-01-01T00:00:00Z") };
  const base = overrides.store ?? new MemoryStore();
  const shards = overrides.shards ?? parseShardMap((env as { STORE_SHARDS?: string }).STORE_SHARDS);
  const store = createShardedStore(base, shards);
  const writes: unknown[] = [];
  const app = createApiServer({
    store: base,
    shards,
    resources: TEST_RESOURCES,
    now: () => clock.now,
    authenticate: async (r) =>
      r.headers.get("Authorization") === `Bearer ${TEST_TOKEN}` ? ADMIN_USER : undefined,
    onWrite: (e) => writes.push(e),
    ...overrides,
  });
  /** Send a request with the admin token; body objects are JSON-encoded. */
  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const init: RequestInit = { method, headers: { Authorization: `Bearer ${TEST_TOKEN}`, ...headers } };
    if (body !== undefined) {
      init.body = typeof body === "string" ? body : JSON.stringify(body);
      (init.headers as Record<string, string>)["Content-Type"] ??= "application/json";
    }
    const response = await app.request(`http://test${path}`, init);
    const text = await response.text();
    let json: KubeObject & Record<string, unknown> = {};
    try {
      json = text ? JSON.parse(text) : {};
    } catch {
      json = { text } as never;
    }
    return { status: response.status, body: json, headers: response.headers, text };
  };
  return { app, store, clock, writes, call };
}
