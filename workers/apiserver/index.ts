/**
 * Builds the API server for a Worker invocation from its Env: the Durable
 * Object store, the resource table, the clock, token authentication, and an
 * in-process client for the scheduler and controllers.
 */
import { createKubeClient, type KubeClient } from "../client/kube.ts";
import type { Env } from "../env.ts";
import { metricsService } from "../metrics/service.ts";
import { parseLevel } from "./admission/podsecurity.ts";
import { WebhookConfigCache } from "./admission/webhook/cache.ts";
import { webhookAdmission } from "./admission/webhook/plugin.ts";
import { type ApiServer, createApiServer } from "./app.ts";
import { createAuthorizer } from "./authorize.ts";
import { type CustomResourceCache, createCustomResourceCache, customResourceTable } from "./crd/cache.ts";
import { createServiceAllocator, inUseFromServices, RESOURCES } from "./kinds/index.ts";
import { schemaServices } from "./openapi/index.ts";
import type { PlatformServices } from "./platform.ts";
import { ApiMetrics } from "./prom/apiserver.ts";
import { RbacCache } from "./rbac/cache.ts";
import { CollectionCache } from "./registry/collection-cache.ts";
import { createLeaseManager, type LeaseManager } from "./registry/leases.ts";
import { DEFAULT_EXPIRING_TTL_SECONDS, type Registry } from "./registry/registry.ts";
import { WatchCache } from "./registry/watch-cache.ts";
import {
  createWatchLimiter,
  DEFAULT_MAX_WATCHES_PER_USER,
  DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS,
  DEFAULT_WATCH_KEEPALIVE_SECONDS,
  intSetting,
  type WatchLimiter,
} from "./registry/watch-limits.ts";
import { serviceAccountAdmission } from "./serviceaccount/admission.ts";
import { authentication } from "./serviceaccount/wiring.ts";
import { shardMap, storeForEnv } from "./storage.ts";
import type { UserInfo } from "./tokens.ts";

/** A write the API server committed; used to wake controllers within milliseconds. */
export interface WriteEvent {
  group: string;
  resource: string;
  namespace?: string;
  name: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
}

/** What the Worker adds to the API server beyond its Env: the write hook and the platform services. */
export interface ApiServerHooks {
  /** Called (not awaited by the request) after each committed write. */
  onWrite?: (event: WriteEvent) => void;
  /** Platform services handed to custom subresources (e.g. tunnels for logs/exec). */
  services?: PlatformServices;
  /**
   * Serve watches from the isolate's watch cache. Only for the Worker's own
   * requests: a Durable Object's (the controller manager's informers) may
   * not be woken from another request (workerd: "Cannot perform I/O on
   * behalf of a different Durable Object"), and the cache wakes each
   * watcher from whichever request owns the shared store watch.
   */
  shareWatches?: boolean;
}

/**
 * Requests made by in-process clients, mapped to the identity they act as.
 * Only Request objects created inside this isolate can be in here, so the
 * internal identity cannot be claimed from outside (there is no token to leak).
 */
const internalRequests = new WeakMap<Request, UserInfo>();

/**
 * Per-isolate state per store binding, shared across requests: the
 * built-in namespaces have been ensured, the open-watch counts, the
 * Event lease being reused and the custom resources' rows (the parsed
 * encryption keys: storage.ts).
 */
interface IsolateState {
  bootstrap: { done?: Promise<void> };
  watches: { max: number; limiter: WatchLimiter };
  leases: LeaseManager;
  /** RBAC objects indexed for the authorizer, refreshed by this isolate's writes and by revision checks. */
  rbac: RbacCache;
  /** The custom resources' rows, rebuilt when the CRDs change. */
  customResources: CustomResourceCache;
  /** Admission webhook configurations, refreshed by this isolate's writes and by revision checks. */
  webhooks: WebhookConfigCache;
  /** Prometheus metrics (/metrics): counters are per isolate. */
  metrics: ApiMetrics;
  /** One store watch per resource, shared by this isolate's watchers. */
  watchCache: WatchCache;
  /** The collections admission reads on every write (PriorityClasses, LimitRanges). */
  collections: CollectionCache;
}
const isolateStates = new WeakMap<object, IsolateState>();

function isolateState(env: Env): IsolateState {
  let state = isolateStates.get(env.STORE);
  const max = intSetting(env.MAX_WATCHES_PER_USER, DEFAULT_MAX_WATCHES_PER_USER);
  if (!state) {
    const metrics = new ApiMetrics();
    state = {
      bootstrap: {},
      watches: { max, limiter: createWatchLimiter(max) },
      leases: createLeaseManager(Date.now),
      rbac: new RbacCache(),
      customResources: createCustomResourceCache(),
      webhooks: new WebhookConfigCache(),
      metrics,
      watchCache: new WatchCache({ onRead: (prefix, verb) => metrics.cacheRead(prefix, verb) }),
      collections: new CollectionCache(),
    };
    isolateStates.set(env.STORE, state);
  }
  if (state.watches.max !== max) state.watches = { max, limiter: createWatchLimiter(max) };
  return state;
}

/** The API server as a fetch handler, over the Durable Object store. */
export function apiServerForEnv(
  env: Env,
  _ctx: ExecutionContext | undefined,
  hooks: ApiServerHooks = {},
): ApiServer {
  const state = isolateState(env);
  // Everything above the store, the bootstrap-token authenticator included, reads through the value transform.
  const store = storeForEnv(env);
  const { authenticate: external, tokens } = authentication(env, store, { adminToken: env.ADMIN_TOKEN });
  const app = createApiServer({
    store,
    shards: shardMap(env.STORE_SHARDS),
    isStale: store.isStale,
    expiringTtlSeconds:
      intSetting(env.EVENT_TTL_SECONDS, DEFAULT_EXPIRING_TTL_SECONDS) || DEFAULT_EXPIRING_TTL_SECONDS,
    leases: state.leases,
    watchCache: hooks.shareWatches ? state.watchCache : undefined,
    collections: state.collections,
    watch: {
      limiter: state.watches.limiter,
      minRequestTimeoutSeconds: intSetting(
        env.MIN_REQUEST_TIMEOUT_SECONDS,
        DEFAULT_MIN_REQUEST_TIMEOUT_SECONDS,
      ),
      random: Math.random,
      keepaliveMs: intSetting(env.WATCH_KEEPALIVE_SECONDS, DEFAULT_WATCH_KEEPALIVE_SECONDS) * 1000,
    },
    resources: RESOURCES,
    customResources: (rowStore, builtins) => customResourceTable(state.customResources, rowStore, builtins),
    authenticate: async (request) => internalRequests.get(request) ?? external(request),
    onWrite: (event) => {
      state.webhooks.observe(event);
      hooks.onWrite?.(event);
    },
    // metrics.k8s.io for every caller, the in-process clients (the HPA controller) included.
    services: { metrics: metricsService(env), ...hooks.services, tokens },
    // Pods get a token volume only when tokens can be issued (a signing key is configured).
    admission: [
      serviceAccountAdmission({ mountTokens: Boolean(env.SERVICE_ACCOUNT_SIGNING_KEY) }),
      // Admission webhooks after the built-in mutations, as kube orders them; reached with the Worker's fetch.
      webhookAdmission({ fetch: (url, init) => fetch(url, init), cache: state.webhooks }),
    ],
    // OpenAPI v3 documents and the strict unknown-field check, generated from the resource table.
    schema: schemaServices,
    bootstrapMemo: state.bootstrap,
    metrics: state.metrics,
    authorizer: createAuthorizer({ cache: state.rbac }),
    allocator: (registry) => serviceAllocator(env, registry),
    // An unknown level fails closed, as kube's label parsing does.
    podSecurityDefault:
      env.POD_SECURITY_DEFAULT === undefined
        ? "baseline"
        : (parseLevel(env.POD_SECURITY_DEFAULT) ?? "restricted"),
  });
  return app;
}

/**
 * A KubeClient for code running in this Worker (scheduler, controllers): it
 * calls the API server in-process, authenticated as `user`.
 */
export function inProcessClient(
  env: Env,
  ctx: ExecutionContext | undefined,
  user: UserInfo = {
    name: "system:kube-controller-manager",
    groups: ["system:masters", "system:authenticated"],
  },
  hooks: ApiServerHooks = {},
): KubeClient {
  const app = apiServerForEnv(env, ctx, hooks);
  return createKubeClient({
    baseUrl: "http://apiserver.internal",
    userAgent: `${user.name.split(":").pop() ?? "edgeplane"}/v0 edgeplane`,
    fetch: async (url, init) => {
      const request = new Request(url, init);
      internalRequests.set(request, user);
      return app.fetch(request);
    },
  });
}

/** Service ClusterIPs and NodePorts from the configured ranges, unique against the stored services. */
function serviceAllocator(env: Env, registry: Registry) {
  const services = registry.lookup("", "services");
  return createServiceAllocator({
    clusterIPRange: env.SERVICE_CLUSTER_IP_RANGE,
    nodePortRange: env.SERVICE_NODE_PORT_RANGE,
    inUse: inUseFromServices(async () => (services ? (await registry.list(services, undefined)).items : [])),
  });
}
