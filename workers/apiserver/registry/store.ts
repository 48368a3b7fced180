/**
 * The generic registry store (kube-apiserver's generic/registry/store.go):
 * create/get/list/update/delete for every kind over the etcd-shaped Store,
 * calling the kind's strategy at fixed points. The call order lives here
 * and nowhere else. Watch is in watch.ts; patches in patch.ts.
 */

import type { KeyValue, Store, TxnResult } from "../../../durable-objects/store/types.ts";
import { StoreError } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import {
  collectionPrefix,
  decodeContinue,
  encodeContinue,
  objectKey,
  parseResourceVersion,
  toResourceVersion,
} from "./keys.ts";
import { createLeaseManager, type LeaseManager } from "./leases.ts";
import { trackUpdate } from "./managedfields.ts";
import { validateObjectMeta } from "./meta.ts";
import { everything, type Matcher } from "./selectors.ts";
import type { FieldError, RegistryAccess, RequestContext, ResourceInfo, ServiceAllocator } from "./types.ts";

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
  resources: ResourceInfo[];
  now: () => Date;
  onWrite?: (event: RegistryWrite) => void;
  /** Admission checks run before every create (e.g. namespace lifecycle). */
  admitCreate?: (
    info: ResourceInfo,
    object: KubeObject,
    registry: Registry,
    ctx: RequestContext,
  ) => Promise<void>;
  /** Admission checks run on every update once the new object is prepared (e.g. NodeRestriction). */
  admitUpdate?: (info: ResourceInfo, next: KubeObject, old: KubeObject, ctx: RequestContext) => Promise<void>;
  /** Validating admission after the strategy's validation, on create (old undefined) and main-resource update. */
  admit?: (
    info: ResourceInfo,
    object: KubeObject,
    old: KubeObject | undefined,
    registry: Registry,
    ctx: RequestContext,
  ) => Promise<void>;
  /** Shared pools (service ClusterIPs/NodePorts) for strategy.allocate; built per registry so it can list what is in use. */
  allocator?: (registry: Registry) => ServiceAllocator;
  /** The store read this value from an old key or plaintext (TransformedStore.isStale): an update rewrites it even if unchanged. */
  isStale?: (kv: KeyValue) => boolean;
  /** Lifetime of objects of resources marked storage.expires (kube's --event-ttl); default 1 h. */
  expiringTtlSeconds?: number;
  /** Leases for expiring objects; default one manager per registry. Share one per isolate to share grants. */
  leases?: LeaseManager;
}

/** Options of a write request. */
export interface WriteOptions {
  /** Field manager for managedFields (fieldManager param or derived from User-Agent). */
  manager: string;
  dryRun?: boolean;
  /** Apply: managedFields were already computed by server-side apply. */
  operation?: "Update" | "Apply";
}

/** Options of a list request. */
export interface ListRequest {
  match?: Matcher;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/** A page of a list, as metav1.ListMeta + items. */
export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** Delete options (metav1.DeleteOptions subset). */
export interface DeleteRequest {
  gracePeriodSeconds?: number;
  /** Foreground/Orphan add the foregroundDeletion/orphan finalizer for the garbage collector; Background (default) does not. */
  propagationPolicy?: string;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun?: boolean;
}

/** Options of an update. */
export interface UpdateOptions extends WriteOptions {
  /** main: spec side (status kept when status is a subresource); status: only status; raw: both (subresource handlers). */
  target?: UpdateTarget | "raw";
  /** Apply: managedFields were already computed by server-side apply. */
  operation?: "Update" | "Apply";
  /** resourceVersion the client sent: 409 Conflict unless it is current. Without it, races are retried. */
  precondition?: string;
  /** false: leave managedFields as they are (pods/binding: kube's BindingREST writes storage directly). */
  managedFields?: boolean;
}

/** Which part of an object an update writes. */
export type UpdateTarget = "main" | "status";

const MAX_RETRIES = 16;
/** kube-apiserver's default --event-ttl. */
export const DEFAULT_EXPIRING_TTL_SECONDS = 3600;
const NAME_CHARS = "bcdfghjklmnpqrstvwxz2456789";

/** Timestamps as Kubernetes writes them: RFC 3339, seconds precision, UTC. */
export function timestamp(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** Turn store failures into Status errors (Compacted → 410 Expired). */
export function storeErrorToApi(error: unknown): never {
  if (error instanceof StoreError) {
    if (error.code === "Compacted")
      throw new ApiError("Expired", `The resourceVersion for the provided list is too old.`);
    if (error.code === "FutureRevision")
      throw new ApiError("Timeout", `Too large resource version`, { retryAfterSeconds: 1 }, 504);
    if (error.code === "Unavailable") throw new ApiError("ServiceUnavailable", error.message);
    throw new ApiError("InternalError", error.message);
  }
  throw error;
}

function specChangedDefault(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return JSON.stringify(rest);
  };
  return strip(a) !== strip(b);
}

/** The generic registry: one implementation of every verb for every kind. */
export class Registry implements RegistryAccess {
  readonly store: Store;
  readonly resources: ResourceInfo[];
  private readonly deps: RegistryDeps;
  private readonly leases: LeaseManager;

  constructor(deps: RegistryDeps) {
    this.deps = deps;
    this.store = deps.store;
    this.resources = deps.resources;
    this.leases = deps.leases ?? createLeaseManager(deps.store, () => deps.now().getTime());
  }

  /**
   * A store write of one of `info`'s objects, given the lease to attach
   * (objects of resources marked storage.expires; none for the rest). A
   * lease revoked under us is replaced once.
   */
  private async write(info: ResourceInfo, op: (lease?: number) => Promise<TxnResult>): Promise<TxnResult> {
    const ttl = this.deps.expiringTtlSeconds ?? DEFAULT_EXPIRING_TTL_SECONDS;
    const lease = info.storage?.expires ? await this.leases.leaseFor(ttl).catch(storeErrorToApi) : undefined;
    try {
      return await op(lease);
    } catch (error) {
      if (lease === undefined || !(error instanceof StoreError) || error.code !== "LeaseNotFound")
        storeErrorToApi(error);
      this.leases.forget(lease);
      const fresh = await this.leases.leaseFor(ttl).catch(storeErrorToApi);
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

  /** now() from the injected clock. */
  now(): Date {
    return this.deps.now();
  }

  /** The table row for group/resource. */
  lookup(group: string, resource: string): ResourceInfo | undefined {
    return this.resources.find((r) => r.group === group && r.resource === resource);
  }

  /** The stored JSON → object, with resourceVersion from the store revision. */
  decode(kv: KeyValue): KubeObject {
    const object = JSON.parse(kv.value) as KubeObject;
    object.metadata ??= {};
    object.metadata.resourceVersion = toResourceVersion(kv.modRevision);
    return object;
  }

  private encode(object: KubeObject): string {
    const { resourceVersion: _rv, ...metadata } = object.metadata ?? {};
    return JSON.stringify({ ...object, metadata });
  }

  private notify(info: ResourceInfo, object: KubeObject, type: RegistryWrite["type"]): void {
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

  private invalid(info: ResourceInfo, object: KubeObject, errs: FieldError[]): ApiError {
    return errors.invalid(info.kind, object.metadata?.name ?? "", errs, info.group);
  }

  /** Read one object with its store state; 404 when absent. */
  async getKV(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KeyValue> {
    const { kv } = await this.store.get(objectKey(info, namespace, name)).catch(storeErrorToApi);
    if (!kv) throw errors.notFound(info.resource, name, info.group);
    return kv;
  }

  /** Read one object; 404 when absent. */
  async get(info: ResourceInfo, namespace: string | undefined, name: string): Promise<KubeObject> {
    return this.decode(await this.getKV(info, namespace, name));
  }

  /** List a collection at one revision, filtered by the matcher, paginated by limit/continue. */
  async list(info: ResourceInfo, namespace: string | undefined, req: ListRequest = {}): Promise<ListPage> {
    const prefix = collectionPrefix(info, namespace);
    let revision: number | undefined;
    let startAfter: string | undefined;
    if (req.continue) {
      const token = decodeContinue(req.continue, prefix);
      revision = token.revision;
      startAfter = token.startAfter;
    } else {
      const rv = parseResourceVersion(req.resourceVersion);
      if (req.resourceVersionMatch && rv === undefined)
        throw new ApiError(
          "BadRequest",
          "resourceVersionMatch is forbidden unless resourceVersion is provided",
        );
      if (req.resourceVersionMatch === "Exact") {
        if (!rv)
          throw new ApiError(
            "BadRequest",
            'resourceVersionMatch "Exact" is forbidden for resourceVersion "0"',
          );
        revision = rv;
      } else if (req.resourceVersionMatch && req.resourceVersionMatch !== "NotOlderThan") {
        throw new ApiError("BadRequest", `unsupported resourceVersionMatch "${req.resourceVersionMatch}"`);
      }
    }
    const limit = req.limit && req.limit > 0 ? req.limit : undefined;
    let result: Awaited<ReturnType<Store["list"]>>;
    try {
      result = await this.store.list(prefix, { revision, limit, startAfter });
    } catch (error) {
      if (error instanceof StoreError && error.code === "Compacted" && req.continue)
        throw new ApiError(
          "Expired",
          "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.",
        );
      storeErrorToApi(error);
    }
    const match = req.match === everything ? undefined : req.match;
    const items: KubeObject[] = [];
    for (const kv of result.kvs) {
      const object = this.decode(kv);
      if (!match || match(object)) items.push(object);
    }
    const page: ListPage = { items, resourceVersion: toResourceVersion(result.revision) };
    if (result.more && result.kvs.length > 0) {
      page.continue = encodeContinue({
        revision: result.revision,
        startAfter: result.kvs[result.kvs.length - 1].key,
      });
      if (!match) page.remainingItemCount = result.remaining;
    }
    return page;
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
    for (let attempt = 0; ; attempt++) {
      if (generated) meta.name = meta.generateName + randomSuffix();
      // Only a generated name can be retried, so only then is a fresh copy needed per attempt.
      const prepared = await this.prepareCreate(
        info,
        generated ? structuredClone(object) : object,
        ctx,
        options,
      );
      if (ctx.dryRun) return prepared;
      const key = objectKey(info, prepared.metadata?.namespace, prepared.metadata?.name ?? "");
      const value = this.encode(prepared);
      const txn = await this.write(info, (lease) => this.store.create(key, value, lease));
      if (txn.succeeded) {
        prepared.metadata!.resourceVersion = toResourceVersion(txn.kv.modRevision);
        this.notify(info, prepared, "ADDED");
        return prepared;
      }
      if (!generated || attempt >= 8) throw errors.alreadyExists(info.resource, meta.name ?? "", info.group);
    }
  }

  private async prepareCreate(
    info: ResourceInfo,
    object: KubeObject,
    ctx: RequestContext,
    options: WriteOptions,
  ): Promise<KubeObject> {
    const meta = object.metadata!;
    meta.uid = crypto.randomUUID();
    meta.creationTimestamp = timestamp(ctx.now);
    meta.generation = 1;
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    if (options.operation !== "Apply") delete meta.managedFields;
    info.strategy.defaults?.(object);
    info.strategy.prepareForCreate?.(object, ctx);
    await this.allocate(info, object, undefined, ctx);
    if (this.deps.admitCreate) await this.deps.admitCreate(info, object, this, ctx);
    const errs = [...validateObjectMeta(object, info), ...info.strategy.validate(object, ctx)];
    if (errs.length) throw this.invalid(info, object, errs);
    if (this.deps.admit) await this.deps.admit(info, object, undefined, this, ctx);
    trackUpdate(undefined, object, options.manager, options.operation ?? "Update", ctx.now);
    return object;
  }

  /**
   * Read-modify-write with CAS (GuaranteedUpdate): `compute` gets a copy of
   * the current object and returns the desired one. A resourceVersion in the
   * desired object is a precondition (409 Conflict when stale); without one
   * a concurrent write just causes a retry.
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
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const kv = await this.getKV(info, namespace, name);
      const old = this.decode(kv);
      const desired = await compute(structuredClone(old));
      if (wanted && wanted !== old.metadata?.resourceVersion)
        throw errors.conflict(
          info.resource,
          name,
          "the object has been modified; please apply your changes to the latest version and try again",
          info.group,
        );
      if (desired.metadata?.name && desired.metadata.name !== name)
        throw new ApiError(
          "BadRequest",
          `the name of the object (${desired.metadata.name}) does not match the name on the URL (${name})`,
        );
      const applied = desired.metadata?.managedFields;
      const next = await this.prepareUpdate(info, desired, old, ctx, target);
      if (options.operation === "Apply") next.metadata!.managedFields = applied;
      if (options.managedFields !== false)
        trackUpdate(
          old,
          next,
          options.manager,
          options.operation ?? "Update",
          ctx.now,
          target === "status" ? "status" : undefined,
        );
      if (ctx.dryRun) return next;
      if (finished(next, old)) {
        const txn = await this.store.delete(kv.key, kv.modRevision).catch(storeErrorToApi);
        if (txn.succeeded) {
          next.metadata!.resourceVersion = toResourceVersion(txn.revision);
          this.notify(info, next, "DELETED");
          return next;
        }
      } else {
        const value = this.encode(next);
        // No-op writes keep their resourceVersion, as in Kubernetes, unless the stored form is stale (old key, plaintext).
        if (value === kv.value && !this.deps.isStale?.(kv)) return old;
        const txn = await this.write(info, (lease) =>
          this.store.update(kv.key, value, kv.modRevision, lease),
        );
        if (txn.succeeded) {
          next.metadata!.resourceVersion = toResourceVersion(txn.kv.modRevision);
          this.notify(info, next, "MODIFIED");
          return next;
        }
      }
      if (wanted)
        throw errors.conflict(
          info.resource,
          name,
          "the object has been modified; please apply your changes to the latest version and try again",
          info.group,
        );
    }
    throw errors.conflict(info.resource, name, "too many concurrent updates, please retry", info.group);
  }

  /** Apply the strategy's update hooks and the generic metadata rules; throws 422 with every error. */
  private async prepareUpdate(
    info: ResourceInfo,
    desired: KubeObject,
    old: KubeObject,
    ctx: RequestContext,
    target: UpdateTarget | "raw",
  ): Promise<KubeObject> {
    let next: KubeObject;
    if (target === "status") {
      next = structuredClone(old);
      next.status = desired.status;
      if (desired.metadata?.labels !== undefined) next.metadata!.labels = desired.metadata.labels;
      if (desired.metadata?.annotations !== undefined)
        next.metadata!.annotations = desired.metadata.annotations;
      info.strategy.prepareForStatusUpdate?.(next, old, ctx);
    } else {
      next = desired;
      next.apiVersion = old.apiVersion;
      next.kind = old.kind;
      next.metadata ??= {};
      if (target === "main" && info.subresources?.status) {
        if (old.status === undefined) delete next.status;
        else next.status = old.status;
      }
    }
    const meta = next.metadata!;
    const oldMeta = old.metadata!;
    meta.name = oldMeta.name;
    meta.uid = oldMeta.uid;
    meta.creationTimestamp = oldMeta.creationTimestamp;
    meta.generation = oldMeta.generation;
    if (info.namespaced) meta.namespace = oldMeta.namespace;
    else delete meta.namespace;
    // Only DELETE (remove()) sets the deletion fields; updates carry them over.
    if (oldMeta.deletionTimestamp) meta.deletionTimestamp = oldMeta.deletionTimestamp;
    else delete meta.deletionTimestamp;
    if (oldMeta.deletionGracePeriodSeconds !== undefined)
      meta.deletionGracePeriodSeconds = oldMeta.deletionGracePeriodSeconds;
    else delete meta.deletionGracePeriodSeconds;
    meta.managedFields = oldMeta.managedFields;
    if (oldMeta.deletionTimestamp && (meta.finalizers?.length ?? 0) > (oldMeta.finalizers?.length ?? 0)) {
      const added = (meta.finalizers ?? []).filter((f) => !(oldMeta.finalizers ?? []).includes(f));
      if (added.length)
        throw this.invalid(info, next, [
          {
            reason: "FieldValueForbidden",
            field: "metadata.finalizers",
            message: `Forbidden: no new finalizers can be added if the object is being deleted, found new finalizers ${JSON.stringify(added)}`,
          },
        ]);
    }
    if (target === "main") {
      info.strategy.defaults?.(next);
      info.strategy.prepareForUpdate?.(next, old, ctx);
      await this.allocate(info, next, old, ctx);
    }
    const changed = info.strategy.specChanged
      ? info.strategy.specChanged(next, old)
      : specChangedDefault(next, old);
    if (changed && target !== "status") meta.generation = (oldMeta.generation ?? 0) + 1;
    if (this.deps.admitUpdate) await this.deps.admitUpdate(info, next, old, ctx);
    const errs = [...validateObjectMeta(next, info)];
    if (target === "status") errs.push(...(info.strategy.validateStatusUpdate?.(next, old, ctx) ?? []));
    else {
      errs.push(...info.strategy.validate(next, ctx));
      if (target === "main") errs.push(...(info.strategy.validateUpdate?.(next, old, ctx) ?? []));
    }
    if (errs.length) throw this.invalid(info, next, errs);
    if (target === "main" && this.deps.admit) await this.deps.admit(info, next, old, this, ctx);
    return next;
  }

  /** CAS read-modify-write with no strategy and no validation: for the registry's own lifecycle bookkeeping only. */
  async rawUpdate(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    mutate: (current: KubeObject) => KubeObject,
  ): Promise<KubeObject> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const kv = await this.getKV(info, namespace, name);
      const next = mutate(this.decode(kv));
      const value = this.encode(next);
      const txn = await this.write(info, (lease) => this.store.update(kv.key, value, kv.modRevision, lease));
      if (!txn.succeeded) continue;
      next.metadata!.resourceVersion = toResourceVersion(txn.kv.modRevision);
      this.notify(info, next, "MODIFIED");
      return next;
    }
    throw errors.conflict(info.resource, name, "too many concurrent updates, please retry", info.group);
  }

  /** Remove an object now, whatever its finalizers (namespace cleanup). */
  async forceRemove(info: ResourceInfo, namespace: string | undefined, name: string): Promise<boolean> {
    const { kv } = await this.store.get(objectKey(info, namespace, name)).catch(storeErrorToApi);
    if (!kv) return false;
    const txn = await this.store.delete(kv.key, kv.modRevision).catch(storeErrorToApi);
    if (txn.succeeded) this.notify(info, this.decode(kv), "DELETED");
    return txn.succeeded;
  }

  /**
   * Delete: preconditions, then graceful deletion (strategy.gracePeriod) or
   * finalizers set deletionTimestamp and keep the object; otherwise it is
   * removed now. Returns the object and whether it is gone.
   */
  async remove(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
    options: DeleteRequest = {},
  ): Promise<{ object: KubeObject; deleted: boolean }> {
    for (let attempt = 0; attempt < MAX_RETRIES; attempt++) {
      const kv = await this.getKV(info, namespace, name);
      const object = this.decode(kv);
      const meta = object.metadata!;
      const pre = options.preconditions;
      if (pre?.uid && pre.uid !== meta.uid)
        throw errors.conflict(
          info.resource,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${meta.uid}`,
          info.group,
        );
      if (pre?.resourceVersion && pre.resourceVersion !== meta.resourceVersion)
        throw errors.conflict(
          info.resource,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${meta.resourceVersion}`,
          info.group,
        );
      const grace = info.strategy.gracePeriod?.(object, options.gracePeriodSeconds);
      const graceful = grace !== undefined && grace > 0;
      const policy = options.propagationPolicy;
      if (policy && !["Foreground", "Background", "Orphan"].includes(policy))
        throw new ApiError("BadRequest", `unsupported propagationPolicy "${policy}"`);
      const gcFinalizer =
        !meta.deletionTimestamp && policy === "Foreground"
          ? "foregroundDeletion"
          : !meta.deletionTimestamp && policy === "Orphan"
            ? "orphan"
            : undefined;
      const pending = (meta.finalizers?.length ?? 0) > 0 || gcFinalizer !== undefined;
      if (!graceful && !pending) {
        if (options.dryRun || ctx.dryRun) return { object, deleted: true };
        const txn = await this.store.delete(kv.key, kv.modRevision).catch(storeErrorToApi);
        if (!txn.succeeded) continue;
        this.notify(info, object, "DELETED");
        return { object, deleted: true };
      }
      const next = structuredClone(object);
      const nm = next.metadata!;
      if (gcFinalizer && !(nm.finalizers ?? []).includes(gcFinalizer))
        nm.finalizers = [...(nm.finalizers ?? []), gcFinalizer];
      const seconds = graceful ? grace : 0;
      if (!nm.deletionTimestamp || (nm.deletionGracePeriodSeconds ?? 0) > seconds) {
        nm.deletionTimestamp = timestamp(new Date(ctx.now.getTime() + seconds * 1000));
        nm.deletionGracePeriodSeconds = seconds;
      } else {
        return { object, deleted: false };
      }
      if (options.dryRun || ctx.dryRun) return { object: next, deleted: false };
      const value = this.encode(next);
      const txn = await this.write(info, (lease) => this.store.update(kv.key, value, kv.modRevision, lease));
      if (!txn.succeeded) continue;
      next.metadata!.resourceVersion = toResourceVersion(txn.kv.modRevision);
      this.notify(info, next, "MODIFIED");
      return { object: next, deleted: false };
    }
    throw errors.conflict(info.resource, name, "too many concurrent updates, please retry", info.group);
  }

  /** RegistryAccess.delete: as a DELETE request would. */
  async delete(
    info: ResourceInfo,
    namespace: string | undefined,
    name: string,
    ctx: RequestContext,
    options?: { gracePeriodSeconds?: number },
  ): Promise<void> {
    await this.remove(info, namespace, name, ctx, options);
  }
}

/** A deleting object whose last finalizer was just removed and whose grace period is over: remove it now. */
function finished(object: KubeObject, old: KubeObject): boolean {
  const meta = object.metadata ?? {};
  return (
    !!meta.deletionTimestamp &&
    (old.metadata?.finalizers?.length ?? 0) > 0 &&
    (meta.finalizers?.length ?? 0) === 0 &&
    (meta.deletionGracePeriodSeconds ?? 0) === 0
  );
}

function randomSuffix(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(5));
  return Array.from(bytes, (b) => NAME_CHARS[b % NAME_CHARS.length]).join("");
}
