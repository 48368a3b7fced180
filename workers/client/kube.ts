/**
 * A small Kubernetes REST client over an injected `fetch`.
 *
 * Everything but the store talks to the control plane through this: the
 * scheduler and controllers in-process (fetch = the API server's Hono app,
 * authenticated as a service identity), the node agent over HTTPS. It speaks
 * only the public Kubernetes REST API, so it works against a real
 * kube-apiserver too.
 */
import { ApiError, type Status } from "./status.ts";

/** Which resource a call is about: group "" is the core group. */
export interface ResourceRef {
  group: string;
  version: string;
  /** Plural resource name, e.g. "pods", "deployments". */
  resource: string;
  namespaced: boolean;
}

/** The minimum every Kubernetes object has. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata?: ObjectMeta;
  [field: string]: unknown;
}

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  managedFields?: unknown[];
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

export interface ObjectList<T extends KubeObject = KubeObject> {
  apiVersion: string;
  kind: string;
  metadata: { resourceVersion?: string; continue?: string; remainingItemCount?: number };
  items: T[];
}

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: "Exact" | "NotOlderThan";
}

export interface WatchOptions extends Omit<ListOptions, "limit" | "continue" | "resourceVersionMatch"> {
  allowWatchBookmarks?: boolean;
  timeoutSeconds?: number;
  signal?: AbortSignal;
}

export interface WatchEvent<T extends KubeObject = KubeObject> {
  type: "ADDED" | "MODIFIED" | "DELETED" | "BOOKMARK" | "ERROR";
  object: T;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: "Strict" | "Warn" | "Ignore";
  /** Write a subresource instead: "status", "scale", "binding", "eviction", ... */
  subresource?: string;
}

export type PatchType = "json" | "merge" | "strategic" | "apply";

export interface DeleteOptions {
  propagationPolicy?: "Foreground" | "Background" | "Orphan";
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** The Kubernetes API as a client sees it. Failures throw ApiError carrying the server's Status. */
export interface KubeClient {
  get<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    subresource?: string,
  ): Promise<T>;
  list<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace?: string,
    options?: ListOptions,
  ): Promise<ObjectList<T>>;
  create<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    object: KubeObject,
    options?: WriteOptions & { name?: string },
  ): Promise<T>;
  /** PUT; with options.subresource the object is written to that subresource (name taken from object.metadata.name). */
  update<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    object: KubeObject,
    options?: WriteOptions,
  ): Promise<T>;
  patch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    type: PatchType,
    patch: unknown,
    options?: WriteOptions & { force?: boolean },
  ): Promise<T>;
  /** Returns the object (when deletion is graceful or has finalizers) or a Success Status. */
  delete(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
    options?: DeleteOptions,
  ): Promise<KubeObject | Status>;
  /** Watch events until the server ends the stream, options.signal aborts, or an ERROR event (which is yielded, then the stream ends). */
  watch<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    options?: WatchOptions,
  ): AsyncIterable<WatchEvent<T>>;
  /** A raw request relative to the server root, for anything the helpers above do not cover (logs, discovery). */
  request(path: string, init?: ClientRequestInit): Promise<ClientResponse>;
}

/** A request as the client sends it: fetch's init, with headers as a plain record and a string body. */
export interface ClientRequestInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

/**
 * The part of fetch's Response the client reads: fetch's own Response is one. The node agent builds a
 * lighter one over node:http (node-agent/src/http.ts): in Node 20 constructing a Request, Response or
 * Headers loads Node's bundled undici for the life of the process (~9 MiB), which the agent's idle
 * memory target has no room for.
 */
export interface ClientResponse {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  /** The body as it arrives, read at most once (instead of text/json/arrayBuffer); leaving the loop early cancels it. */
  readonly body: AsyncIterable<Uint8Array> | null;
  text(): Promise<string>;
  json(): Promise<unknown>;
  arrayBuffer(): Promise<ArrayBuffer>;
}

/** fetch's (url, init) form, as far as the client uses it: global fetch is one. */
export type ClientFetch = (url: string, init?: ClientRequestInit) => Promise<ClientResponse>;

export interface KubeClientOptions {
  /** How requests are sent: global fetch, the in-process API server's handler, or the node agent's client. */
  fetch: ClientFetch;
  /** Server root, e.g. "https://127.0.0.1:8787" (in-process: any origin, e.g. "http://apiserver.internal"). */
  baseUrl: string;
  /** Bearer token sent on every request. */
  token?: string;
  /** User-Agent; the server records it in managedFields as the default field manager. */
  userAgent?: string;
}

const PATCH_TYPES: Record<PatchType, string> = {
  json: "application/json-patch+json",
  merge: "application/merge-patch+json",
  strategic: "application/strategic-merge-patch+json",
  apply: "application/apply-patch+yaml",
};

/** The path of a collection or object, e.g. /apis/apps/v1/namespaces/ns/deployments/name/scale. */
function resourcePath(ref: ResourceRef, namespace?: string, name?: string, subresource?: string): string {
  let path = ref.group === "" ? `/api/${ref.version}` : `/apis/${ref.group}/${ref.version}`;
  if (ref.namespaced && namespace) path += `/namespaces/${encodeURIComponent(namespace)}`;
  path += `/${ref.resource}`;
  if (name !== undefined) path += `/${encodeURIComponent(name)}`;
  if (subresource) path += `/${subresource}`;
  return path;
}

/** Create a KubeClient that sends every request through options.fetch. */
export function createKubeClient(options: KubeClientOptions): KubeClient {
  const base = options.baseUrl.replace(/\/$/, "");

  async function send(path: string, init: ClientRequestInit = {}): Promise<ClientResponse> {
    // Header names are case-insensitive: the caller's own Accept or User-Agent wins, whatever its case.
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(init.headers ?? {})) headers[name.toLowerCase()] = value;
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    if (options.userAgent) headers["user-agent"] ??= options.userAgent;
    headers.accept ??= "application/json";
    return options.fetch(base + path, { ...init, headers });
  }

  async function call<T>(path: string, init?: ClientRequestInit): Promise<T> {
    const response = await send(path, init);
    const text = await response.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : {};
    } catch {
      if (!response.ok)
        throw new ApiError("InternalError", text || `HTTP ${response.status}`, undefined, response.status);
      throw new ApiError("InternalError", `invalid JSON from server: ${text.slice(0, 200)}`);
    }
    if (!response.ok) throw ApiError.fromStatus(body as Partial<Status>, response.status);
    return body as T;
  }

  function json(method: string, body: unknown, contentType = "application/json"): ClientRequestInit {
    return { method, body: JSON.stringify(body), headers: { "Content-Type": contentType } };
  }

  return {
    get: (ref, namespace, name, subresource) => call(resourcePath(ref, namespace, name, subresource)),
    list: (ref, namespace, listOptions = {}) =>
      call(resourcePath(ref, namespace) + query({ ...listOptions })),
    create: (ref, namespace, object, writeOptions = {}) => {
      const { name, subresource, ...rest } = writeOptions;
      return call(
        resourcePath(ref, namespace, name, subresource) + query(writeQuery(rest)),
        json("POST", object),
      );
    },
    update: (ref, namespace, object, writeOptions = {}) => {
      const { subresource, ...rest } = writeOptions;
      const name = object.metadata?.name ?? "";
      return call(
        resourcePath(ref, namespace, name, subresource) + query(writeQuery(rest)),
        json("PUT", object),
      );
    },
    patch: (ref, namespace, name, type, patch, writeOptions = {}) => {
      const { subresource, force, ...rest } = writeOptions;
      const q = query({ ...writeQuery(rest), force });
      return call(
        resourcePath(ref, namespace, name, subresource) + q,
        json("PATCH", patch, PATCH_TYPES[type]),
      );
    },
    delete: (ref, namespace, name, deleteOptions = {}) => {
      const body = {
        kind: "DeleteOptions",
        apiVersion: "v1",
        ...deleteOptions,
        dryRun: deleteOptions.dryRun ? ["All"] : undefined,
      };
      return call(resourcePath(ref, namespace, name), json("DELETE", body));
    },
    watch: (ref, namespace, watchOptions = {}) => watchStream(send, ref, namespace, watchOptions),
    request: send,
  };
}

function writeQuery(options: WriteOptions): Record<string, unknown> {
  return {
    dryRun: options.dryRun ? "All" : undefined,
    fieldManager: options.fieldManager,
    fieldValidation: options.fieldValidation,
  };
}

/** Encode defined values as a query string (with leading "?", or "" when empty). */
function query(params: Record<string, unknown>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

async function* watchStream<T extends KubeObject>(
  send: (path: string, init?: ClientRequestInit) => Promise<ClientResponse>,
  ref: ResourceRef,
  namespace: string | undefined,
  options: WatchOptions,
): AsyncIterable<WatchEvent<T>> {
  const { signal, ...params } = options;
  const response = await send(resourcePath(ref, namespace) + query({ ...params, watch: "true" }), { signal });
  if (!response.ok) {
    const text = await response.text();
    let status: Partial<Status> = {};
    try {
      status = JSON.parse(text);
    } catch {
      status = { message: text };
    }
    throw ApiError.fromStatus(status, response.status);
  }
  if (!response.body) return;
  // Iterated, not piped through a TextDecoderStream: a watch is always open in the node agent, and web
  // streams are a module it otherwise never loads. Leaving the loop (return, throw) cancels the body.
  const decoder = new TextDecoder();
  let buffer = "";
  try {
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline).trim();
        buffer = buffer.slice(newline + 1);
        if (line) {
          const event = JSON.parse(line) as WatchEvent<T>;
          yield event;
          if (event.type === "ERROR") return;
        }
        newline = buffer.indexOf("\n");
      }
    }
  } catch (error) {
    if (signal?.aborted) return;
    throw error;
  }
}
