/**
 * The strategy pipeline of a write, in kube's order (generic/registry
 * BeforeCreate/BeforeUpdate): generic metadata rules, the kind's defaults
 * and prepareFor*, allocation from shared pools, then the admission chain
 * around validation. Pure of storage: the registry reads and writes.
 */
import type { KubeObject } from "../../client/kube.ts";
import { errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import { type AdmissionPlugin, runAdmission } from "../admission/chain.ts";
import { trackUpdate } from "./managedfields.ts";
import { validateObjectMeta } from "./meta.ts";
import type { Registry, UpdateTarget, WriteOptions } from "./registry.ts";
import type { FieldError, RequestContext, ResourceInfo } from "./types.ts";

/** What the pipeline needs from the registry. */
export interface PrepareDeps {
  registry: Registry;
  admission: readonly AdmissionPlugin[];
  /** The kind's allocation from shared pools (strategy.allocate), after prepareFor* and before validation. */
  allocate(
    info: ResourceInfo,
    object: KubeObject,
    old: KubeObject | undefined,
    ctx: RequestContext,
  ): Promise<void>;
}

function invalid(info: ResourceInfo, object: KubeObject, errs: FieldError[]): never {
  throw errors.invalid(info.kind, object.metadata?.name ?? "", errs, info.group);
}

function specChangedDefault(a: KubeObject, b: KubeObject): boolean {
  const strip = (o: KubeObject) => {
    const { metadata: _m, status: _s, ...rest } = o;
    return JSON.stringify(rest);
  };
  return strip(a) !== strip(b);
}

/** A new object (name and namespace already set) made ready to store; throws 422 with every error. */
export async function prepareCreate(
  deps: PrepareDeps,
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
  await deps.allocate(info, object, undefined, ctx);
  await runAdmission(
    deps.admission,
    { operation: "CREATE", info, object, registry: deps.registry, ctx },
    () => {
      const errs = [...validateObjectMeta(object, info), ...info.strategy.validate(object, ctx)];
      if (errs.length) invalid(info, object, errs);
    },
  );
  trackUpdate(
    undefined,
    object,
    options.manager,
    options.operation ?? "Update",
    ctx.now,
    undefined,
    info.customResource?.listRules,
  );
  return object;
}

/** The desired object of an update made ready to store over `old`; throws 422 with every error. */
export async function prepareUpdate(
  deps: PrepareDeps,
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
      invalid(info, next, [
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
    await deps.allocate(info, next, old, ctx);
  }
  const changed = info.strategy.specChanged
    ? info.strategy.specChanged(next, old)
    : specChangedDefault(next, old);
  if (changed && target !== "status") meta.generation = (oldMeta.generation ?? 0) + 1;
  const attrs = {
    operation: "UPDATE" as const,
    info,
    object: next,
    old,
    target,
    registry: deps.registry,
    ctx,
  };
  await runAdmission(deps.admission, attrs, () => {
    const errs = [...validateObjectMeta(next, info)];
    if (target === "status") errs.push(...(info.strategy.validateStatusUpdate?.(next, old, ctx) ?? []));
    else {
      errs.push(...info.strategy.validate(next, ctx));
      if (target === "main") errs.push(...(info.strategy.validateUpdate?.(next, old, ctx) ?? []));
    }
    if (errs.length) invalid(info, next, errs);
  });
  return next;
}

/** A deleting object whose last finalizer was just removed and whose grace period is over: remove it now. */
export function finished(object: KubeObject, old: KubeObject): boolean {
  const meta = object.metadata ?? {};
  return (
    !!meta.deletionTimestamp &&
    (old.metadata?.finalizers?.length ?? 0) > 0 &&
    (meta.finalizers?.length ?? 0) === 0 &&
    (meta.deletionGracePeriodSeconds ?? 0) === 0
  );
}
