/**
 * The contract between the generic registry store (registry/registry.ts) and the
 * per-kind strategies (kinds/<kind>.ts), after kube-apiserver's
 * generic/registry/store.go + pkg/registry/<group>/<kind>/strategy.go.
 *
 * A kind is one Strategy and one ResourceInfo row in the resource table
 * (kinds/index.ts). Routes, discovery, OpenAPI, RBAC resource names and table
 * printing are all driven from that table; no route mentions a kind by name.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { StatusCause } from "../../client/status.ts";
import type { AdmissionPlugin } from "../admission/chain.ts";
import type { Authorizer } from "../authorize.ts";
import type { PlatformServices } from "../platform.ts";
import type { Schema } from "../protobuf-schemas.ts";
import type { UserInfo } from "../tokens.ts";
import type { Registry } from "./registry.ts";
import type { MergeRules } from "./strategicpatch.ts";

/** A field error as Kubernetes reports it (field.Error): path + type + detail. */
export interface FieldError extends StatusCause {
  /** e.g. "FieldValueRequired", "FieldValueInvalid", "FieldValueNotSupported", "FieldValueDuplicate", "FieldValueTooLong", "FieldValueForbidden". */
  reason: string;
  /** JSON path like "spec.template.spec.containers[0].image". */
  field: string;
  message: string;
}

/** What a strategy may need to know about the request it is part of. */
export interface RequestContext {
  /** Authenticated user name (e.g. "system:admin", "system:node:n1"). */
  user: string;
  groups: string[];
  /** now() as the request sees it (injected clock). */
  now: Date;
  dryRun: boolean;
  /** Set when the write comes through a subresource ("status", "binding", ...), so a strategy can allow what only that subresource may change. */
  subresource?: string;
  /** Shared pools (service ClusterIPs and NodePorts); the API server backs it with the store. Absent: strategies fall back to a deterministic pick. */
  allocator?: ServiceAllocator;
  /** Admission warnings for this request; the handler returns them as Warning headers. */
  warnings?: string[];
  /**
   * Namespaces this request has read (Registry.namespace): NamespaceLifecycle, PodSecurity and the
   * webhooks' namespaceSelector share one store read per request. Copies of the context share it.
   */
  namespaces?: Map<string, Promise<KubeObject | undefined>>;
}

/**
 * Allocates service ClusterIPs and NodePorts (kinds/service-alloc.ts has a
 * store-agnostic implementation over a "which are in use" lookup).
 */
export interface ServiceAllocator {
  /** Reserve `requested` (throws ApiError Invalid if out of range or taken) or pick a free IP; `key` is "namespace/name". */
  allocateClusterIP(key: string, requested?: string): Promise<string>;
  /** Reserve `requested` or pick a free port in the NodePort range. */
  allocateNodePort(key: string, requested?: number): Promise<number>;
}

/** A printed column, as metav1.TableColumnDefinition. priority 1 = only with -o wide. */
export interface ColumnDefinition {
  name: string;
  type: "string" | "integer" | "number" | "boolean" | "date";
  format?: string;
  description: string;
  priority: number;
}

/**
 * How one kind behaves: defaults, validation, the spec/status split and how it
 * prints, over the kind's wire type T (kubernetes-types, via client/types.ts).
 * defaults, prepare and validate hooks see the request body before validation, so they
 * read it defensively (kinds/util.ts); row and fieldSelectors see stored,
 * validated objects.
 */
export interface Strategy<T extends object = KubeObject> {
  /** Fill defaults (SetDefaults_*): runs on create and update before validation, and on decode of stored objects never. */
  defaults?(object: T): void;
  /** Create-time preparation: e.g. clear status when status is a subresource, set initial status. */
  prepareForCreate?(object: T, ctx: RequestContext): void;
  /** Update-time preparation: e.g. keep old status on a main-resource update (status is a subresource). */
  prepareForUpdate?(object: T, old: T, ctx: RequestContext): void;
  /** Every field error of a new object (never just the first). Metadata is validated generically. */
  validate(object: T, ctx: RequestContext): FieldError[];
  /** Every field error of an update (immutable fields etc.), on top of validate(). */
  validateUpdate?(object: T, old: T, ctx: RequestContext): FieldError[];
  /** The parts of the object whose change bumps metadata.generation (default: everything but metadata and status). */
  specChanged?(object: T, old: T): boolean;
  /** Status subresource update: copy only status from `object` onto `old` (default: replace status). */
  prepareForStatusUpdate?(object: T, old: T, ctx: RequestContext): void;
  /** Validation for status updates. */
  validateStatusUpdate?(object: T, old: T, ctx: RequestContext): FieldError[];
  /** Columns for `kubectl get` (Table), after NAME which is always first. AGE is added last unless listed. */
  columns: ColumnDefinition[];
  /** When true, `columns`/`row` are the whole row: the table adds neither NAME first nor AGE last (kube's events print "LAST SEEN TYPE REASON OBJECT ... NAME"). */
  fullRow?: boolean;
  /** Cells for one object, matching `columns` (NAME excluded). */
  row(object: T, now: Date): unknown[];
  /** Field selectors beyond metadata.name / metadata.namespace: field path → value getter. */
  fieldSelectors?: Record<string, (object: T) => string | undefined>;
  /** Async allocation from shared pools (service ClusterIP/NodePort), after prepareFor* and before validation, on create (old undefined) and update. */
  allocate?(object: T, old: T | undefined, ctx: RequestContext): Promise<void>;
  /** Called when the object is deleted gracefully: returns the grace period to use (pods), or undefined for immediate deletion. */
  gracePeriod?(object: T, requested: number | undefined): number | undefined;
}

/** The autoscaling/v1 Scale view of a resource (`<resource>/scale`). */
export interface ScaleSpec {
  /** JSON path of spec.replicas, status.replicas and the label selector (as a string) in the parent. */
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

/** The verbs a resource serves unless its row says otherwise (kube's full generic store). */
export const DEFAULT_VERBS = [
  "create",
  "delete",
  "deletecollection",
  "get",
  "list",
  "patch",
  "update",
  "watch",
];

/** One row of the resource table: what the API serves for a resource. */
export interface ResourceInfo<T extends object = KubeObject> {
  group: string;
  version: string;
  /** Plural, lowercase: "deployments". */
  resource: string;
  singular: string;
  kind: string;
  namespaced: boolean;
  shortNames?: string[];
  /** e.g. ["all"]: used by `kubectl get all`. */
  categories?: string[];
  /** Verbs served on the collection/object (default DEFAULT_VERBS); any other verb answers 405 before authorization. */
  verbs?: string[];
  /** Subresources: status (spec/status split), scale, and others handled by the kind (binding, eviction, log, exec, ...). */
  subresources?: {
    status?: boolean;
    scale?: ScaleSpec;
    /** Extra subresources by name: the handler gets the request and the registry for the parent. */
    custom?: Record<string, CustomSubresource>;
  };
  /** How metadata.name is validated: DNS-1123 subdomain (default), DNS-1123 label (namespaces, services), or any path segment (RBAC). */
  nameFormat?: "subdomain" | "label" | "path";
  /** The @kubernetes/client-node model name whose schema describes this kind (e.g. "V1Deployment"), for OpenAPI and strict field validation. */
  model: string;
  strategy: Strategy<T>;
  /** How objects are kept in the store: encrypted at rest (kube's EncryptionConfiguration), or expiring through a store lease after the registry's TTL (kube's --event-ttl). */
  storage?: { encryptAtRest?: boolean; expires?: boolean };
  /** Protobuf field numbers of the kind's message (kinds/<kind>.proto.ts); absent: protobuf bodies are 415. */
  protobuf?: Schema;
  /** What this kind does instead of, or on top of, the generic registry (kube's per-kind storage.go embedding the generic store). */
  rest?: StorageOverride;
  /** For a version served besides the stored one (autoscaling/v1 HPAs are stored as v2): conversion both ways. */
  convert?: { fromStorage(object: KubeObject): KubeObject; toStorage(object: KubeObject): KubeObject };
  /** Set on rows built from a CustomResourceDefinition (crd/rows.ts): the schema in place of a model. */
  customResource?: CustomResourceSchema;
}

/** What a custom resource's row carries besides its strategy: its schema, for field validation and OpenAPI. */
export interface CustomResourceSchema {
  /** Remove the fields the schema does not declare; returns their paths ("spec.foo"). */
  prune(object: KubeObject): string[];
  /** The OpenAPI v3 component schema of the kind (named by `model`), with metadata and the GVK extension. */
  openapi: Record<string, unknown>;
  /** Changes whenever the published schema does (OpenAPI ?hash=). */
  hash: string;
  /** The kind of its lists (spec.names.listKind). */
  listKind: string;
  /** How its lists merge under server-side apply and in managedFields (x-kubernetes-list-type / -map-keys). */
  listRules: MergeRules;
}

/**
 * One row of the heterogeneous resource table: `row` is checked against its
 * own kind's type T, then T is forgotten so rows of different kinds share one
 * list. Sound because the registry hands a row's strategy only objects of
 * that row's resource.
 */
export function defineResource<T extends object>(row: ResourceInfo<T>): ResourceInfo {
  return row as unknown as ResourceInfo;
}

/**
 * A kind's override of the generic registry (kube's embed-and-override, e.g.
 * pkg/registry/core/namespace/storage wrapping the generic store and
 * replacing Delete). The registry and the API server call these; no route
 * or wiring code names the kind.
 */
export interface StorageOverride {
  /** DELETE of one object in place of the generic one (namespaces: mark Terminating, empty, remove). */
  delete?(
    registry: Registry,
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
  ): Promise<{ object: KubeObject; deleted: boolean }>;
  /** Admission plugins the kind brings (NamespaceLifecycle); they run first in the chain. */
  admission?: AdmissionPlugin[];
  /** Create the objects that always exist (built-in namespaces); run before the first request is served. */
  bootstrap?(registry: Registry): Promise<void>;
  /** CREATE in place of the generic one, for kinds computed per request and never stored (access reviews, TokenReview). */
  create?(request: CreateRequest): Promise<KubeObject>;
  /** GET in place of the generic one, for read-only kinds computed per request (metrics.k8s.io). */
  get?(request: ReadRequest & { name: string }): Promise<KubeObject>;
  /** LIST in place of the generic one (same kinds); the request's selectors are in `url`. */
  list?(request: ReadRequest): Promise<{ items: KubeObject[]; resourceVersion: string }>;
}

/** What a kind's own get/list is given. */
export interface ReadRequest {
  info: ResourceInfo;
  namespace?: string;
  url: URL;
  registry: Registry;
  services: PlatformServices;
  now: Date;
}

/** What a kind's own create is given: the decoded body, who asks, and the authorizer. */
export interface CreateRequest {
  info: ResourceInfo;
  namespace?: string;
  object: KubeObject;
  ctx: RequestContext;
  registry: Registry;
  /** The requester as authenticated (after impersonation). */
  user: UserInfo;
  /** The API server's authorizer chain; absent when the server authorizes nothing. */
  authorizer?: Authorizer;
  /** Platform services (TokenReview asks services.tokens). */
  services: PlatformServices;
}

/** A subresource with its own semantics (pods/binding, pods/eviction, pods/log, nodes/proxy, ...). */
export interface CustomSubresource {
  /** The kube verbs served, as discovery lists them: "create" (POST), "get" (GET/HEAD), "update" (PUT), "patch", "delete"; any other answers 405 before authorization. */
  verbs: string[];
  /** Kind returned/accepted, for discovery (e.g. "Binding", "Eviction", "Pod"). */
  kind: string;
  group?: string;
  version?: string;
  /** Serve one request. `deps` are the API server's dependencies (store access, tunnels, clock). */
  handle(request: SubresourceRequest): Promise<Response>;
}

/** What a custom subresource handler is given. */
export interface SubresourceRequest {
  request: Request;
  namespace?: string;
  name: string;
  ctx: RequestContext;
  /** Generic access to the registry of any resource (to read the parent, write a binding, ...). */
  registry: RegistryAccess;
  /** Platform services the handler may need (e.g. the tunnel to a node for logs). */
  services: PlatformServices;
}

/** Narrow access to the generic registry from inside a subresource handler. */
export interface RegistryAccess {
  get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject>;
  /** Read-modify-write with CAS retry; `mutate` may throw ApiError. Runs strategy status/validation as for an update. */
  update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject,
    ctx: RequestContext,
    options?: {
      manager: string;
      target?: "main" | "status" | "raw";
      managedFields?: boolean;
      admission?: false;
    },
  ): Promise<KubeObject>;
  /** Admission of a subresource create whose body is its own kind (pods/binding's Binding); `check` is its validation. */
  admitSubresourceCreate(
    info: ResourceInfo,
    kind: string,
    object: KubeObject,
    ctx: RequestContext,
    check: () => void,
  ): Promise<void>;
  /** CONNECT admission of pods/exec, attach or portforward with the options object, before the stream opens. */
  admitConnect(
    info: ResourceInfo,
    kind: string,
    options: KubeObject,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
  ): Promise<void>;
  /** Delete as a DELETE request would (graceful for pods); a stale precondition is 409 Conflict. */
  delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
    options?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } },
  ): Promise<void>;
  /** Every object of a resource in one namespace (all namespaces when undefined), at one revision. */
  list(info: ResourceInfo, namespace: string | undefined): Promise<{ items: KubeObject[] }>;
  /** Look up another resource's table row. */
  lookup(group: string, resource: string): ResourceInfo | undefined;
}
