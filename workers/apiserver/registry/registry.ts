/**
 * The generic registry (kube-apiserver's generic/registry/store.go):
 * create/get/list/update/delete for every kind over the etcd-shaped Store,
 * calling the kind's strategy at fixed points. The call order lives here
 * and in the modules it delegates to: prepare.ts (the strategy pipeline and
 * admission), guaranteed-update.ts (every read-modify-write), deletion.ts
 * (what DELETE does), list.ts. Watch is in watch.ts; patches in patch.ts.
 */

import {
  createShardedStore,
  type ShardedStore,
  type ShardMap,
} from "../../../durable-objects/store/sharded.ts";
import type {
  KeyValue,
  Store,
  TxnResult,
  WatchMessage,
  WatchOptions,
} from "../../../durable-objects/store/types.ts";
import { StoreError } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { randomSuffix } from "../../client/names.ts";
import { ApiError, errors } from "../../client/status.ts";
import {
  type AdmissionPlugin,
  runAdmission,
  runConnectAdmission,
  runDeleteAdmission,
} from "../admission/chain.ts";
import type { CollectionCache } from "./collection-cache.ts";
import { type DeleteRequest, deleteOptionsObject, deleteOutcome } from "./deletion.ts";
import {
  conflictError,
  guaranteedUpdate,
  MAX_ATTEMPTS,
  type UpdateIO,
  type UpdateResult,
} from "./guaranteed-update.ts";
import {
  collectionPrefix,
  objectKey,
  objectResourceVersion,
  parseResourceVersion,
  sameVersion,
} from "./keys.ts";
import { createLeaseManager, type LeaseManager } from "./leases.ts";
import {
  cachedListRevision,
  cachedPage,
  type EncodedListPage,
  type ListPage,
  type ListRequest,
  listEncodedPage,
  listPage,
} from "./list.ts";
import { spliceResourceVersion } from "./list-encode.ts";
import { trackUpdate } from "./managedfields.ts";
import { finished, type PrepareDeps, prepareCreate, prepareUpdate } from "./prepare.ts";
import { storeErrorToApi } from "./store-errors.ts";
import type { RegistryAccess, RequestContext, ResourceInfo, ServiceAllocator } from "./types.ts";
import type { WatchCache } from "./watch-cache.ts";

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof ApiError && error.code === 404) return undefined;
  throw error;
}

/** A committed write, reported to the onWrite hook. */
export interface RegistryWrite {
  group: string;
  resource: string;
  namespace?: string;
  name: string;
  type: "ADDED" | "MODIFIED" | "DELETED";
}

/** What the registry needs: the store, the resource table, the clock and a write hook. */
export interface RegistryDeps {
  store: Store;
  /** Resources split over sub-shards (STORE_SHARDS); absent: none. */
  shards?: ShardMap;
  resources: ResourceInfo[];
  now: () => Date;
  onWrite?: (event: RegistryWrite) => void;
  /** The admission chain, in order (admission/chain.ts), run on every create and update. */
  admission?: readonly AdmissionPlugin[];
  /** Shared pools (service ClusterIPs/NodePorts) for strategy.allocate; built per registry so it can list what is in use. */
  allocator?: (registry: Registry) => ServiceAllocator;
  /** The store read this value from an old key or plaintext (TransformedStore.isStale): an update rewrites it even if unchanged. */
  isStale?: (kv: KeyValue) => boolean;
  /** Lifetime of objects of resources marked storage.expires (kube's --event-ttl); default 1 h. */
  expiringTtlSeconds?: number;
  /** Leases for expiring objects; default one manager per registry. Share one per isolate to share grants. */
  leases?: LeaseManager;
  /** Shared store watches (one per resource per isolate); absent: each watch opens its own. */
  watchCache?: WatchCache;
  /** Collections admission reads on every write, held per isolate (collection-cache.ts); absent: listed each time. */
  collections?: CollectionCache;
}

/** Options of a write request. */
export interface WriteOptions {
  /** Field manager for managedFields (fieldManager param or derived from User-Agent). */
  manager: string;
  dryRun?: boolean;
  /** Apply: managedFields were already computed by server-side apply. */
  operation?: "Update" | "Apply";
}

/** Options of an update. */
export interface UpdateOptions extends WriteOptions {
  /** main: spec side (status kept when status is a subresource); status: only status; raw: both (subresource handlers). */
  target?: UpdateTarget | "raw";
  /** resourceVersion the client sent: 409 Conflict unless it is current. Without it, races are retried. */
  precondition?: string;
  /** false: leave managedFields as they are (pods/binding: kube's BindingREST writes storage directly). */
  managedFields?: boolean;
  /** false: no admission (pods/binding, whose Binding was admitted instead: admitSubresourceCreate). */
  admission?: false;
}

/** Which part of an object an update writes. */
export type UpdateTarget = "main" | "status";

/** kube-apiserver's default --event-ttl. */
export const DEFAULT_EXPIRING_TTL_SECONDS = 3600;

/** The generic registry: one implementation of every verb for every kind. */
export class Registry implements RegistryAccess {
  /** The store, with the resources in deps.shards split over sub-shards (durable-objects/store/sharded.ts). */
  readonly store: ShardedStore;
  private readonly deps: RegistryDeps;
  private readonly leases: LeaseManager;
  private readonly prepare: PrepareDeps;
  /** The table with the custom resources' rows (crd/cache.ts), set per request by the API server. */
  private table?: ResourceInfo[];

  constructor(deps: RegistryDeps) {
    this.deps = deps;
    this.store = createShardedStore(deps.store, deps.shards ?? {});
    this.leases = deps.leases ?? createLeaseManager(() => deps.now().getTime());
    this.prepare = {
      registry: this,
      admission: deps.admission ?? [],
      allocate: (info, object, old, ctx) => this.allocate(info, object, old, ctx),
    };
  }

  /**
   * A store write of one of `info`'s objects, given the lease to attach
   * (objects of resources marked storage.expires; none for the rest). A
   * lease revoked under us is replaced once.
   */
  private async write(info: ResourceInfo, op: (lease?: number) => Promise<TxnResult>): Promise<TxnResult> {
    const ttl = this.deps.expiringTtlSeconds ?? DEFAULT_EXPIRING_TTL_SECONDS;
    const lease = info.storage?.expires
      ? await this.leases.leaseFor(this.deps.store, ttl).catch(storeErrorToApi)
      : undefined;
    try {
      return await op(lease);
    } catch (error) {
      if (lease === undefined || !(error instanceof StoreError) || error.code !== "LeaseNotFound")
        storeErrorToApi(error);
      this.leases.forget(lease);
      const fresh = await this.leases.leaseFor(this.deps.store, ttl).catch(storeErrorToApi);
      return op(fresh).catch(storeErrorToApi);
    }
  }

  /** Run the kind's allocation from shared pools (after prepareFor*, before validation). */
  private async allocate(
    info: ResourceInfo,
    object: KubeObject,
    old: KubeObject | undefined,
    ctx: RequestContext,
  ) {
    if (!info.strategy.allocate) return;
    if (!ctx.allocator && this.deps.allocator) ctx.allocator = this.deps.allocator(this);
    await info.strategy.allocate(object, old, ctx);
  }

  /** The resourceVersion of the object at `key` (physical) written at `revision` (keys.ts). */
  version(key: string, revision: number): string {
    return objectResourceVersion(key, revision, this.store.floor(key, revision));
  }

  /**
   * The store's changes to a collection (one namespace's or all) of a resource
   * that is not split over sub-shards, through the watch cache when there is one
   * (a split one is watched with store.watchFrom, watch.ts).
   */
  watch(
    info: ResourceInfo,
    namespace: string | undefined,
    options: WatchOptions,
  ): AsyncIterable<WatchMessage> {
    const prefix = collectionPrefix(info, namespace);
    const cache = this.deps.watchCache;
    return cache
      ? cache.watch(this.store, collectionPrefix(info), prefix, options)
      : this.store.watch(prefix, options);
  }

  /** now() from the injected clock. */
  now(): Date {
    return this.deps.now();
  }

  /** The resource table: the built-in rows, then the custom resources' rows once set. */
  get resources(): ResourceInfo[] {
    return this.table ?? this.deps.resources;
  }

  /** Serve this table (the built-in rows and the CRDs' rows as the request found them) from now on. */
  setResources(table: ResourceInfo[]): void {
    this.table = table;
  }

  /** The table row for group/resource. */
  lookup(group: string, resource: string): ResourceInfo | undefined {
    return this.resources.find((r) => r.group === group && r.resource === resource);
  }

  /**
   * The stored JSON → object, with resourceVersion from the store revision. Read through `info`, a
   * custom resource shows that row's version (CRD conversion "None": only apiVersion changes) and, as
   * kube decodes from storage, is pruned and defaulted by that version's current schema.
   */
  decode(kv: KeyValue, info?: ResourceInfo): KubeObject {
    let object = JSON.parse(kv.value) as KubeObject;
    if (info?.convert) object = info.convert.fromStorage(object);
    if (info?.customResource) {
      object.apiVersion = `${info.group}/${info.version}`;
      info.strategy.defaults?.(object);
    }
    object.metadata ??= {};
    object.metadata.resourceVersion = this.version(kv.key, kv.modRevision);
    return object;
  }

  /**
   * The stored JSON → the JSON text of the object decode() returns. Kinds read as stored (no
   * conversion, not a custom resource) splice resourceVersion into the stored text instead of
   * a parse and stringify per object; the rest, and any text the splice declines, round-trip.
   */
  encodeRead(kv: KeyValue, info?: ResourceInfo): string {
    const spliced =
      info?.convert || info?.customResource
        ? undefined
        : spliceResourceVersion(kv.value, this.version(kv.key, kv.modRevision));
    return spliced ?? JSON.stringify(this.decode(kv, info));
  }

  private encode(object: KubeObject, info?: ResourceInfo): string {
    const stored = info?.convert ? info.convert.toStorage(object) : object;
    const { resourceVersion: _rv, ...metadata } = stored.metadata ?? {};
    return JSON.stringify({ ...stored, metadata });
  }

  private notify(info: ResourceInfo, object: KubeObject, type: RegistryWrite["type"]): void {
    this.deps.collections?.observe(info);
    try {
      this.deps.onWrite?.({
        group: info.group,
        resource: info.resource,
        namespace: object.metadata?.namespace,
        name: object.metadata?.name ?? "",
        type,
      });
    } catch {
      // A failing hook must never fail a committed write.
    }
  }

  /**
   * The Namespace `name`, undefined when absent. Several admission plugins need the namespace of
   * one write (kube's share a namespace informer): within a request they share one store read
   * through ctx.namespaces. An absent one is not remembered (the built-in ones are made on demand).
   */
  namespace(name: string, ctx: RequestContext): Promise<KubeObject | undefined> {
    const info = this.lookup("", "namespaces");
    if (!info) return Promise.resolve(undefined);
    const memo = ctx.namespaces;
    const held = memo?.get(name);
    if (held) return held;
    const read = this.get(info, undefined, name).catch(notFoundAsUndefined);
    if (!memo) return read;
    memo.set(name, read);
    // Only a namespace that was there is kept: absence or a failure is read again by the next plugin.
    const forget = () => {
      if (memo.get(name) === read) memo.delete(name);
    };
    read.then((ns) => ns || forget(), forget);
    return read;
  }

  /**
   * The objects of `info` in `namespace` (every namespace when undefined) as admission reads them on
   * every write: from the isolate's collection cache when there is one (kube's plugins read
   * informers), else one list. The objects are shared: callers must not change them.
   */
  async admissionList(info: ResourceInfo, namespace?: string): Promise<KubeObject[]> {
    if (!this.deps.collections) return (await this.list(info, namespace)).items;
    const all = await this.deps.collections.list(this, info);
    return namespace === undefined ? all : all.filter((o) => o.metadata?.namespace === namespace);
  }

  /** Read one object with its store state; 404 when absent. */
  async getKV(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KeyValue> {
    const { kv } = await this.store.get(objectKey(info, namespace, name)).catch(storeErrorToApi);
    if (!kv) throw errors.notFound(info.resource, name, info.group);
    return kv;
  }

  /**
   * Read one object; 404 when absent. Without `resourceVersion` (a
   * consistent read) from the store; with one, as kube's cacher.Get, from
   * the watch cache once it has seen that version ("0": any), falling back
   * to the store (the latest, never older) when the cache is not ready.
   */
  async get(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    resourceVersion?: string,
  ): Promise<KubeObject> {
    const rv = parseResourceVersion(resourceVersion);
    const min = rv?.revisions?.length === 1 && rv.shard === undefined ? rv.revisions[0] : undefined;
    const key = objectKey(info, namespace, name);
    const state = min === undefined ? undefined : await this.cacheOf(info, namespace, min, "get");
    if (!state) return this.decode(await this.getKV(info, namespace, name), info);
    const kv = state.get(key);
    if (!kv) throw errors.notFound(info.resource, name, info.group);
    return this.decode(kv, info);
  }

  /** The watch cache's state of `info` at `minRevision` or newer, if the collection is one the cache serves and it is ready. */
  private async cacheOf(
    info: ResourceInfo,
    namespace: string | undefined,
    minRevision: number,
    verb: "list" | "get",
  ) {
    const cache = this.deps.watchCache;
    // A split resource has no shared store watch (watch.ts reads it with store.watchFrom), so no cached state.
    if (!cache || this.store.shardCount(collectionPrefix(info, namespace)) !== 1) return undefined;
    return cache.read(this.store, collectionPrefix(info), minRevision, verb);
  }

  /** The collection's objects from the watch cache, when the request may be answered from it (cachedListRevision) and it is ready. */
  private async cachedList(info: ResourceInfo, namespace: string | undefined, req: ListRequest) {
    const min = cachedListRevision(req);
    const state = min === undefined ? undefined : await this.cacheOf(info, namespace, min, "list");
    return state && { kvs: state.range(collectionPrefix(info, namespace)), revision: state.revision };
  }

  /**
   * List a collection at one revision, filtered by the matcher, paginated by
   * limit/continue: from the store, or from the watch cache for the reads
   * kube serves from it (cachedListRevision).
   */
  async list(info: ResourceInfo, namespace: string | undefined, req: ListRequest = {}): Promise<ListPage> {
    const decode = (kv: KeyValue) => this.decode(kv, info);
    const cached = await this.cachedList(info, namespace, req);
    if (cached) return cachedPage(cached.kvs, cached.revision, req, decode, (kv, o) => o ?? decode(kv));
    return listPage(this.store, decode, info, namespace, req);
  }

  /** list() with each item as JSON text (encodeRead): the API's JSON list response. */
  async listEncoded(
    info: ResourceInfo,
    namespace: string | undefined,
    req: ListRequest = {},
  ): Promise<EncodedListPage> {
    const decode = (kv: KeyValue) => this.decode(kv, info);
    const encode = (kv: KeyValue) => this.encodeRead(kv, info);
    const cached = await this.cachedList(info, namespace, req);
    if (cached) return cachedPage(cached.kvs, cached.revision, req, decode, encode);
    return listEncodedPage(this.store, decode, encode, info, namespace, req);
  }

  /** Create an object (POST): defaults, prepareForCreate, admission, validation, then create-if-absent. */
  async create(
    info: ResourceInfo,
    namespace: string | undefined,
    input: KubeObject,
    ctx: RequestContext,
    options: WriteOptions,
  ): Promise<KubeObject> {
    const object = structuredClone(input);
    object.apiVersion = info.group ? `${info.group}/${info.version}` : info.version;
    object.kind = info.kind;
    object.metadata ??= {};
    const meta = object.metadata;
    if (meta.resourceVersion)
      throw new ApiError("BadRequest", "resourceVersion should not be set on objects to be created");
    if (info.namespaced) meta.namespace = namespace;
    else delete meta.namespace;
    const generated = !meta.name && !!meta.generateName;
    for (let attempt = 1; ; attempt++) {
      if (generated) meta.name = meta.generateName + randomSuffix();
      // Only a generated name can be retried, so only then is a fresh copy needed per attempt.
      const candidate = generated ? structuredClone(object) : object;
      const prepared = await prepareCreate(this.prepare, info, candidate, ctx, options);
      if (ctx.dryRun) return prepared;
      const key = objectKey(info, prepared.metadata?.namespace, prepared.metadata?.name ?? "");
      const value = this.encode(prepared, info);
      const txn = await this.write(info, (lease) => this.store.create(key, value, lease));
      if (txn.succeeded) {
        prepared.metadata!.resourceVersion = this.version(txn.kv.key, txn.kv.modRevision);
        this.notify(info, prepared, "ADDED");
        return prepared;
      }
      if (!generated || attempt >= MAX_ATTEMPTS)
        throw errors.alreadyExists(info.resource, meta.name ?? "", info.group);
    }
  }

  /** The store operations of a guaranteed update of one object. */
  private io(info: ResourceInfo, namespace: string | undefined, name: string): UpdateIO {
    return {
      read: () => this.getKV(info, namespace, name),
      version: (kv) => this.version(kv.key, kv.modRevision),
      decode: (kv) => this.decode(kv, info),
      encode: (object) => this.encode(object, info),
      isStale: this.deps.isStale,
      update: (kv, value) =>
        this.write(info, (lease) => this.store.update(kv.key, value, kv.modRevision, lease)),
      delete: (kv) => this.store.delete(kv.key, kv.modRevision).catch(storeErrorToApi),
    };
  }

  /** Run a guaranteed update of one object and report what it committed to the onWrite hook. */
  private async guaranteed(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    tryUpdate: Parameters<typeof guaranteedUpdate>[3],
    dryRun?: boolean,
  ): Promise<UpdateResult> {
    const result = await guaranteedUpdate(info, name, this.io(info, namespace, name), tryUpdate, { dryRun });
    if (result.event) this.notify(info, result.object, result.event);
    return result;
  }

  /**
   * Update (PUT, PATCH, subresources): `compute` gets a copy of the current
   * object and returns the desired one, which the strategy prepares and
   * validates. With options.precondition, a stale resourceVersion is 409
   * Conflict; without one a concurrent write just causes a retry.
   */
  async update(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    compute: (current: KubeObject) => KubeObject | Promise<KubeObject>,
    ctx: RequestContext,
    options: UpdateOptions = { manager: "edgeplane", target: "raw" },
  ): Promise<KubeObject> {
    const target = options.target ?? "raw";
    const wanted = options.precondition;
    const result = await this.guaranteed(
      info,
      namespace,
      name,
      async (old) => {
        const desired = await compute(structuredClone(old));
        if (wanted && !sameVersion(wanted, old.metadata?.resourceVersion)) throw conflictError(info, name);
        if (desired.metadata?.name && desired.metadata.name !== name)
          throw new ApiError(
            "BadRequest",
            `the name of the object (${desired.metadata.name}) does not match the name on the URL (${name})`,
          );
        const applied = desired.metadata?.managedFields;
        const deps = options.admission === false ? { ...this.prepare, admission: [] } : this.prepare;
        const next = await prepareUpdate(deps, info, desired, old, ctx, target);
        if (options.operation === "Apply") next.metadata!.managedFields = applied;
        if (options.managedFields !== false)
          trackUpdate(
            old,
            next,
            options.manager,
            options.operation ?? "Update",
            ctx.now,
            target === "status" ? "status" : undefined,
            info.customResource?.listRules,
          );
        return { type: finished(next, old) ? "delete" : "update", object: next };
      },
      ctx.dryRun,
    );
    if (result.revision !== undefined && result.key !== undefined)
      result.object.metadata!.resourceVersion = this.version(result.key, result.revision);
    return result.object;
  }

  /**
   * Admission of a subresource create whose body is a kind of its own
   * (pods/binding: kube admits the Binding as a CREATE on pods/binding,
   * then writes the pod without admission): plugins see the parent's row
   * with that kind, ctx.subresource set, and `check` as the validation.
   */
  async admitSubresourceCreate(
    info: ResourceInfo,
    kind: string,
    object: KubeObject,
    ctx: RequestContext,
    check: () => void,
  ): Promise<void> {
    const attrs = { operation: "CREATE" as const, info: { ...info, kind }, object, target: "raw" as const };
    await runAdmission(this.prepare.admission, { ...attrs, registry: this, ctx }, check);
  }

  /** CONNECT admission (pods/exec, attach, portforward): the options object, ctx.subresource naming the subresource. */
  async admitConnect(
    info: ResourceInfo,
    kind: string,
    options: KubeObject,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
  ): Promise<void> {
    const attrs = {
      operation: "CONNECT" as const,
      info: { ...info, kind },
      object: options,
      name,
      namespace,
    };
    await runConnectAdmission(this.prepare.admission, { ...attrs, target: "raw", registry: this, ctx });
  }

  /** Read-modify-write with no strategy and no validation: for the registry's own lifecycle bookkeeping only. */
  async rawUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    const result = await this.guaranteed(info, namespace, name, (current) => ({
      type: "update",
      object: mutate(structuredClone(current)),
    }));
    return result.object;
  }

  /** Remove an object now, whatever its finalizers (namespace cleanup); false when it was already gone. */
  async forceRemove(info: ResourceInfo, namespace: string | undefined, name: string): Promise<boolean> {
    try {
      await this.guaranteed(info, namespace, name, (current) => ({ type: "delete", object: current }));
      return true;
    } catch (error) {
      if (error instanceof ApiError && error.code === 404) return false;
      throw error;
    }
  }

  /**
   * Delete: preconditions, then graceful deletion (strategy.gracePeriod) or
   * finalizers set deletionTimestamp and keep the object; otherwise it is
   * removed now. Returns the object and whether it is gone. A kind whose
   * row overrides delete (info.rest) is deleted its own way instead. The
   * admission chain's delete validation sees the stored object before
   * anything is written, as kube's deleteValidation does: not when the
   * delete changes nothing (already deleting with no shorter grace period).
   */
  async remove(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
    options: DeleteRequest = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    if (info.rest?.delete)
      return info.rest.delete(this, info, namespace, name, {
        ...ctx,
        dryRun: !!(options.dryRun || ctx.dryRun),
      });
    const dryRun = !!(options.dryRun || ctx.dryRun);
    const chain = this.prepare.admission;
    const { object, deleted } = await this.guaranteed(
      info,
      namespace,
      name,
      async (current) => {
        const outcome = deleteOutcome(info, current, ctx, options);
        if (outcome.type !== "none" && chain.length)
          await runDeleteAdmission(chain, {
            operation: "DELETE",
            info,
            old: current,
            options: deleteOptionsObject(options, dryRun),
            registry: this,
            ctx: { ...ctx, dryRun },
          });
        return outcome;
      },
      dryRun,
    );
    return { object, deleted };
  }

  /** RegistryAccess.delete: as a DELETE request would. */
  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
    options?: { gracePeriodSeconds?: number; preconditions?: { uid?: string; resourceVersion?: string } },
  ): Promise<void> {
    await this.remove(info, namespace, name, ctx, options);
  }
}
