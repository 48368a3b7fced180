/**
 * The API server as a Hono app, built from its dependencies (store,
 * resource table, clock, authenticator, hooks, schema services). Routes are
 * generic; one onError turns every failure into a Kubernetes Status.
 */
// hono/quick routes without compiling a matcher: the app is built per Worker request
// (apiServerForEnv), where RegExpRouter's one-time build cost would be paid every time.

import type { Context } from "hono";
import { Hono } from "hono/quick";
import type { ShardMap } from "../../durable-objects/store/sharded.ts";
import type { KeyValue, Store } from "../../durable-objects/store/types.ts";
import { ApiError } from "../client/status.ts";
import type { AdmissionPlugin } from "./admission/chain.ts";
import { limitRangerAdmission } from "./admission/limitranger.ts";
import { type Level, podSecurityAdmission } from "./admission/podsecurity.ts";
import { priorityAdmission } from "./admission/priority.ts";
import { resourceQuotaAdmission } from "./admission/resourcequota.ts";
import type { Authorizer } from "./authorize.ts";
import { readJsonObject } from "./decode.ts";
import { apiGroup, apiGroupList, apiResourceList, apiVersions, VERSION_INFO } from "./discovery.ts";
import type { UnknownFieldsChecker } from "./fields.ts";
import { handleResource, type WatchSettings } from "./handlers/index.ts";
import { nodeRestriction } from "./node-restriction.ts";
import type { PlatformServices } from "./platform.ts";
import type { ApiMetrics } from "./prom/apiserver.ts";
import { escalationAdmission } from "./rbac/escalation.ts";
import { impersonate } from "./rbac/impersonate.ts";
import type { CollectionCache } from "./registry/collection-cache.ts";
import type { LeaseManager } from "./registry/leases.ts";
import { Registry, type RegistryWrite } from "./registry/registry.ts";
import type { ResourceInfo, ServiceAllocator } from "./registry/types.ts";
import type { WatchCache } from "./registry/watch-cache.ts";
import { type RequestAttributes, requestAttributes } from "./request-info.ts";
import { mintUserToken, USER_TOKENS_PATH } from "./serviceaccount/user-tokens.ts";
import type { UserInfo } from "./tokens.ts";

/** OpenAPI documents and schema checks, provided by the openapi module. */
export interface SchemaServices {
  unknownFields?: UnknownFieldsChecker;
  /** /openapi/v3: { paths: { "api/v1": { serverRelativeURL } ... } } */
  openapiV3Paths?: (resources: ResourceInfo[]) => unknown;
  /** /openapi/v3/<api/v1 | apis/g/v>: the document for one group/version. */
  openapiV3Document?: (group: string, version: string, resources: ResourceInfo[]) => unknown;
}

/** Everything the API server depends on, passed in. */
export interface ApiServerDeps {
  store: Store;
  /** Resources split over store sub-shards (the STORE_SHARDS setting); absent: none. */
  shards?: ShardMap;
  resources: ResourceInfo[];
  now?: () => Date;
  /** Who sent a request; undefined = 401. */
  authenticate: (request: Request) => Promise<UserInfo | undefined>;
  /** Called (not awaited) after each committed write. */
  onWrite?: (event: RegistryWrite) => void;
  /** Platform services for custom subresources (the node tunnels behind pods/log, exec, ...). */
  services?: PlatformServices;
  schema?: SchemaServices;
  /** Per-isolate memo of "the kinds' built-in objects exist" (shared across requests); default per app. */
  bootstrapMemo?: { done?: Promise<void> };
  /** Authorization by verb (Node authorizer etc.); throws ApiError Forbidden. Never sees the body. */
  authorize?: (user: UserInfo, attributes: RequestAttributes, registry: Registry) => Promise<void>;
  /** The full authorizer chain (authorize.ts createAuthorizer): used instead of `authorize`, and it also enables impersonation, RBAC escalation checks and access reviews. */
  authorizer?: Authorizer;
  /** Shared allocation pools for strategy.allocate (service ClusterIPs/NodePorts). */
  allocator?: (registry: Registry) => ServiceAllocator;
  /** Pod Security level for namespaces without pod-security.kubernetes.io labels (default baseline). */
  podSecurityDefault?: Level;
  /** The store's stale-read check when it transforms values (registry/transformed-store.ts). */
  isStale?: (kv: KeyValue) => boolean;
  /** Lifetime of expiring objects (Events) and the leases that carry it. */
  expiringTtlSeconds?: number;
  leases?: LeaseManager;
  /** Watch cap per identity and server-side watch timeout. */
  watch?: WatchSettings;
  /** Shared store watches, one per resource (registry/watch-cache.ts); keep one per isolate. Absent: none. */
  watchCache?: WatchCache;
  /** Collections admission reads on every write (registry/collection-cache.ts); keep one per isolate. Absent: listed per write. */
  collections?: CollectionCache;
  /** The deployment's admission plugins (ServiceAccount, the admission webhooks): after the built-in ones, before ResourceQuota. */
  admission?: AdmissionPlugin[];
  /** The table with the custom resources' rows as the stored CRDs define them now (crd/cache.ts); absent: none. */
  customResources?: (store: Store, builtins: ResourceInfo[]) => Promise<ResourceInfo[]>;
  /** Prometheus metrics of this isolate, served at /metrics; absent: no /metrics (404). */
  metrics?: ApiMetrics;
}

/** What the middleware hands the routes: who is asking, and for what verb on what. */
type AppEnv = { Variables: { user: UserInfo; attributes: RequestAttributes } };

const UNAUTHENTICATED = new Set(["/healthz", "/livez", "/readyz", "/version"]);

/** Create what the kinds say must always exist (info.rest.bootstrap), before the first request is served. */
async function bootstrap(registry: Registry, resources: ResourceInfo[]): Promise<void> {
  for (const info of resources) await info.rest?.bootstrap?.(registry);
}

/**
 * Whether a request may involve custom resources, so the CRDs must be read:
 * anything but the core API and built-in resources (namespaces excepted:
 * deleting one empties it of custom resources too).
 */
function needsCustomResources(path: string, builtins: ResourceInfo[]): boolean {
  const parts = path.split("/");
  if (parts[1] === "api")
    return (
      parts[3] === "namespaces" && (parts.length === 5 || (parts.length === 6 && parts[5] === "finalize"))
    );
  if (parts[1] !== "apis" || parts.length < 5) return true;
  const resource = parts[4] === "namespaces" && parts.length > 6 ? parts[6] : parts[4];
  return !builtins.some((r) => r.group === parts[2] && r.version === parts[3] && r.resource === resource);
}

/** Build the API server app. */
export function createApiServer(deps: ApiServerDeps) {
  const now = deps.now ?? (() => new Date());
  const store = deps.metrics ? deps.metrics.measureStore(deps.store) : deps.store;
  const registry = new Registry({
    store,
    resources: deps.resources,
    now,
    onWrite: (event) => {
      deps.authorizer?.observe(event);
      deps.onWrite?.(event);
    },
    // kube's order: the kinds' own plugins (NamespaceLifecycle), LimitRanger, NodeRestriction, PodSecurity,
    // Priority, the deployment's (ServiceAccount, the admission webhooks), ResourceQuota. Every admit runs
    // before validation and every validate after it, so the order matters within each phase only.
    admission: [
      ...deps.resources.flatMap((info) => info.rest?.admission ?? []),
      limitRangerAdmission(),
      nodeRestriction,
      ...(deps.authorizer ? [escalationAdmission(deps.authorizer)] : []),
      podSecurityAdmission({ defaultLevel: deps.podSecurityDefault ?? "baseline" }),
      priorityAdmission,
      ...(deps.admission ?? []),
      // Last, as in kube: a create the other plugins refuse is never charged to a quota.
      resourceQuotaAdmission(),
    ],
    allocator: deps.allocator,
    isStale: deps.isStale,
    shards: deps.shards,
    expiringTtlSeconds: deps.expiringTtlSeconds,
    leases: deps.leases,
    watchCache: deps.watchCache,
    collections: deps.collections,
  });
  const memo = deps.bootstrapMemo ?? {};
  const app = new Hono<AppEnv>();

  app.onError((error) => {
    if (error instanceof ApiError) return error.toResponse();
    // Unexpected failures become a 500 Status; the message carries no request data (tokens stay out of logs).
    console.error("apiserver internal error:", error instanceof Error ? error.stack : String(error));
    return new ApiError(
      "InternalError",
      `Internal error occurred: ${error instanceof Error ? error.message : String(error)}`,
    ).toResponse();
  });
  app.notFound(() =>
    new ApiError("NotFound", "the server could not find the requested resource").toResponse(),
  );

  if (deps.metrics) app.use("*", deps.metrics.middleware());
  for (const path of ["/healthz", "/livez", "/readyz"]) {
    app.get(path, (c) => c.text("ok"));
    app.get(`${path}/*`, (c) => c.text("ok"));
  }
  app.get("/version", (c) => c.json(VERSION_INFO));

  app.use("*", async (c, next) => {
    const path = new URL(c.req.url).pathname;
    if (UNAUTHENTICATED.has(path)) return next();
    const authenticated = await deps.authenticate(c.req.raw);
    if (!authenticated) throw new ApiError("Unauthorized", "Unauthorized");
    if (deps.customResources && needsCustomResources(path, deps.resources))
      registry.setResources(await deps.customResources(store, deps.resources));
    // The verb is fixed here, once: a method with no verb, or one the (sub)resource does not serve, is 405 now.
    const attributes = requestAttributes(c.req.raw, registry.resources);
    c.set("attributes", attributes);
    // Before authorization: the default RBAC policy is among the built-in objects.
    memo.done ??= bootstrap(registry, deps.resources).catch((error) => {
      memo.done = undefined;
      throw error;
    });
    await memo.done;
    const user = deps.authorizer
      ? await impersonate(c.req.raw, authenticated, deps.authorizer, registry)
      : authenticated;
    c.set("user", user);
    if (deps.authorizer) await deps.authorizer.authorize(user, attributes, registry);
    else if (deps.authorize) await deps.authorize(user, attributes, registry);
    return next();
  });

  // Authorized above as a non-resource URL: kube's system:monitoring role (and cluster-admin) may get it.
  app.get("/metrics", () => {
    if (!deps.metrics) throw new ApiError("NotFound", "the server could not find the requested resource");
    return deps.metrics.render(registry.store, registry.resources);
  });
  app.get("/api", (c) => c.json(apiVersions(new URL(c.req.url).host)));
  app.get("/apis", (c) => c.json(apiGroupList(registry.resources)));
  app.get("/api/:version{v[0-9a-z]+}", (c) => {
    const doc = apiResourceList(registry.resources, "", c.req.param("version"));
    if (!doc) throw new ApiError("NotFound", "the server could not find the requested resource");
    return c.json(doc);
  });
  app.get("/apis/:group", (c) => {
    const doc = apiGroup(registry.resources, c.req.param("group"));
    if (!doc) throw new ApiError("NotFound", "the server could not find the requested resource");
    return c.json(doc);
  });
  app.get("/apis/:group/:version", (c) => {
    const doc = apiResourceList(registry.resources, c.req.param("group"), c.req.param("version"));
    if (!doc) throw new ApiError("NotFound", "the server could not find the requested resource");
    return c.json(doc);
  });

  // ServiceAccount issuer discovery (kube serves it to authenticated users; RBAC narrows it to
  // system:service-account-issuer-discovery). 404 when no signing key is configured.
  const issuer = async () => {
    const found = await deps.services?.tokens?.issuer();
    if (!found) throw new ApiError("NotFound", "the server could not find the requested resource");
    return found;
  };
  app.get("/.well-known/openid-configuration", async (c) =>
    c.json((await issuer()).discovery(), 200, { "Cache-Control": "public, max-age=3600" }),
  );
  app.get(
    "/openid/v1/jwks",
    async () =>
      new Response(JSON.stringify((await issuer()).jwks()), {
        headers: { "Content-Type": "application/jwk-set+json", "Cache-Control": "public, max-age=3600" },
      }),
  );

  // User credentials (serviceaccount/user-tokens.ts says why this is an endpoint and not a kind).
  app.post(USER_TOKENS_PATH, async (c) => {
    const body = await readJsonObject(c.req.raw);
    const minted = await mintUserToken(body, c.get("user"), await deps.services?.tokens?.issuer(), now());
    return c.json(minted, 201);
  });

  // kubectl 1.27/1.28 fetch the v2 protobuf document before validating; an empty body satisfies them.
  app.get(
    "/openapi/v2",
    () => new Response(new Uint8Array(0), { headers: { "Content-Type": "application/octet-stream" } }),
  );
  app.get("/openapi/v3", (c) => {
    if (!deps.schema?.openapiV3Paths)
      throw new ApiError("NotFound", "the server could not find the requested resource");
    return c.json(deps.schema.openapiV3Paths(registry.resources) as object);
  });
  app.get("/openapi/v3/*", (c) => {
    const rest = new URL(c.req.url).pathname.slice("/openapi/v3/".length).split("/");
    const [group, version] =
      rest[0] === "api" ? ["", rest[1]] : rest[0] === "apis" ? [rest[1], rest[2]] : [undefined, undefined];
    if (group === undefined || !version || !deps.schema?.openapiV3Document)
      throw new ApiError("NotFound", "the server could not find the requested resource");
    const doc = deps.schema.openapiV3Document(group, version, registry.resources);
    if (!doc) throw new ApiError("NotFound", "the server could not find the requested resource");
    return c.json(doc as object, 200, { "Cache-Control": "public, immutable" });
  });

  const resource = async (c: Context<AppEnv>) => {
    const request = c.req.raw;
    const { target, verb } = c.get("attributes");
    if (!target) throw new ApiError("NotFound", "the server could not find the requested resource");
    const user = c.get("user");
    const ctx = { user: user.name, groups: user.groups, now: now(), dryRun: false, namespaces: new Map() };
    return handleResource(target, verb, request, user, ctx, {
      registry,
      unknownFields: deps.schema?.unknownFields,
      services: deps.services ?? {},
      watch: deps.watch,
      authorizer: deps.authorizer,
    });
  };
  app.all("/api/*", resource);
  app.all("/apis/*", resource);

  return Object.assign(app, { registry });
}

/** The app type returned by createApiServer. */
export type ApiServer = ReturnType<typeof createApiServer>;
