/**
 * kube-apiserver's own metrics, under kube's names and labels: requests by
 * verb/resource/code, their latency, in-flight and long-running (watch)
 * requests, store latency and object counts. One ApiMetrics lives per Worker
 * isolate (index.ts), so counters are per isolate: Prometheus sums them over
 * scrapes of the isolates it reaches, and an isolate's restart resets them as
 * a kube-apiserver restart does.
 */
import type { Context, Next } from "hono";
import type { Store } from "../../../durable-objects/store/types.ts";
import { collectionPrefix } from "../registry/keys.ts";
import type { ResourceInfo } from "../registry/types.ts";
import type { RequestAttributes } from "../request-info.ts";
import { Counter, Gauge, Histogram, type Labels, PROMETHEUS_CONTENT_TYPE } from "./text.ts";

/** kube's verb label (endpoints/metrics CleanVerb): HTTP-ish, upper case, with LIST, WATCH and APPLY told apart. */
function metricVerb(verb: string | undefined, method: string, contentType: string | null): string {
  switch (verb) {
    case undefined:
      return method.toUpperCase();
    case "create":
      return "POST";
    case "update":
      return "PUT";
    case "patch":
      return contentType?.startsWith("application/apply-patch") ? "APPLY" : "PATCH";
    default:
      return verb.toUpperCase();
  }
}

/** The request labels kube uses: verb, group, version, resource, subresource, scope, component. */
function requestLabels(c: Context, attributes: RequestAttributes | undefined): Labels {
  const target = attributes?.target;
  const verb = metricVerb(attributes?.verb, c.req.method, c.req.header("Content-Type") ?? null);
  const scope = !target ? "" : target.name ? "resource" : target.namespace ? "namespace" : "cluster";
  return {
    verb,
    group: target?.info.group ?? "",
    version: target?.info.version ?? "",
    resource: target?.info.resource ?? "",
    subresource: target?.subresource ?? "",
    scope,
    component: "apiserver",
  };
}

/** The store operations that are timed (watch is a stream and is counted by the watch gauge instead). */
const TIMED = new Set(["create", "get", "list", "count", "update", "delete", "revisions", "compact"]);

/** The resource a store key or prefix belongs to, as etcd_request_duration_seconds' type: pods, deployments.apps. */
function keyType(key: unknown): string {
  const [, registry, group, resource] = String(key ?? "").split("/");
  if (registry !== "registry" || !resource) return "";
  // A sub-shard's key (pods#2) counts as its resource.
  const name = resource.split("#")[0];
  return group === "core" ? name : `${name}.${group}`;
}

/** One isolate's API server metrics. */
export class ApiMetrics {
  readonly requests = new Counter(
    "apiserver_request_total",
    "Counter of apiserver requests broken out for each verb, dry run value, group, version, resource, scope, component, and HTTP response code.",
  );
  readonly duration = new Histogram(
    "apiserver_request_duration_seconds",
    "Response latency distribution in seconds for each verb, group, version, resource, subresource, scope and component.",
  );
  readonly inflight = new Gauge(
    "apiserver_current_inflight_requests",
    "Maximal number of currently used inflight request limit of this apiserver per request kind in last second.",
  );
  readonly longrunning = new Gauge(
    "apiserver_longrunning_requests",
    "Gauge of all active long-running apiserver requests broken out by verb, group, version, resource, scope and component.",
  );
  readonly store = new Histogram(
    "etcd_request_duration_seconds",
    "Etcd request latency in seconds for each operation and object type.",
  );
  readonly objects = new Gauge(
    "apiserver_storage_objects",
    "Number of stored objects at the time of last check split by kind.",
  );

  readonly cacheLists = new Counter(
    "apiserver_cache_list_total",
    "Number of LIST requests served from watch cache",
  );

  constructor(private readonly clock: () => number = () => performance.now()) {
    for (const kind of ["readOnly", "mutating"]) this.inflight.set({ request_kind: kind }, 0);
  }

  /** Hono middleware, outermost: counts and times every request, whatever its outcome (errors are Status responses by then). */
  middleware() {
    return async (c: Context, next: Next) => {
      const began = this.clock();
      const kind = c.req.method === "GET" || c.req.method === "HEAD" ? "readOnly" : "mutating";
      this.inflight.inc({ request_kind: kind });
      try {
        await next();
      } finally {
        this.inflight.dec({ request_kind: kind });
      }
      const labels = requestLabels(c, c.get("attributes") as RequestAttributes | undefined);
      this.requests.inc({ ...labels, code: String(c.res.status) });
      const { verb } = labels;
      if (verb === "WATCH" || verb === "CONNECT") {
        if (verb === "WATCH" && c.res.status === 200 && c.res.body) c.res = this.trackWatch(c.res, labels);
        return;
      }
      this.duration.observe(labels, (this.clock() - began) / 1000);
    };
  }

  /** The watch's stream, counted in apiserver_longrunning_requests until it ends or its client goes away. */
  private trackWatch(response: Response, labels: Labels): Response {
    const key = labels;
    this.longrunning.inc(key);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let open = true;
    const close = () => {
      if (open) this.longrunning.dec(key);
      open = false;
    };
    const body = new ReadableStream<Uint8Array>({
      async pull(controller) {
        try {
          const { done, value } = await reader.read();
          if (done) {
            close();
            controller.close();
          } else controller.enqueue(value);
        } catch (error) {
          close();
          controller.error(error);
        }
      },
      async cancel(reason) {
        close();
        await reader.cancel(reason);
      },
    });
    return new Response(body, response);
  }

  /** The store with every call but watch timed into etcd_request_duration_seconds. */
  measureStore<S extends Store>(store: S): S {
    return new Proxy(store, {
      get: (target, prop, receiver) => {
        const value = Reflect.get(target, prop, receiver);
        if (typeof prop !== "string" || !TIMED.has(prop) || typeof value !== "function") return value;
        return async (...args: unknown[]) => {
          const began = this.clock();
          try {
            return await value.apply(target, args);
          } finally {
            this.store.observe({ operation: prop, type: keyType(args[0]) }, (this.clock() - began) / 1000);
          }
        };
      },
    });
  }

  /** The text exposition; object counts are read from the store now (kube refreshes them every minute). */
  /** A read served from the watch cache (WatchCacheOptions.onRead): lists counted under kube's name and labels. */
  cacheRead(resourcePrefix: string, verb: "list" | "get"): void {
    // kube's resource_prefix is the key prefix inside /registry: "/core/pods" here (the group is in our keys).
    if (verb === "list")
      this.cacheLists.inc({ resource_prefix: resourcePrefix.slice("/registry".length, -1), index: "" });
  }

  async render(store: Store, resources: ResourceInfo[]): Promise<Response> {
    const prefixes = new Map<string, string>();
    for (const info of resources)
      prefixes.set(collectionPrefix(info), info.group ? `${info.resource}.${info.group}` : info.resource);
    const counts = await Promise.all(
      [...prefixes].map(async ([prefix, resource]) => ({
        resource,
        count: (await store.count(prefix)).count,
      })),
    );
    this.objects.reset();
    for (const { resource, count } of counts) this.objects.set({ resource }, count);
    const text = [
      this.requests,
      this.duration,
      this.inflight,
      this.longrunning,
      this.store,
      this.objects,
      this.cacheLists,
    ]
      .map((m) => m.render())
      .join("");
    return new Response(text, { headers: { "Content-Type": PROMETHEUS_CONTENT_TYPE } });
  }
}
