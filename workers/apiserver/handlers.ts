/**
 * The generic resource handlers: one function per verb, driven only by the
 * ResourceInfo the URL resolved to. No kind is named here.
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import { type BodyType, bodyType, checkObjectMeta, parseBody, readBody, readBodyBytes } from "./decode.ts";
import { checkFields, fieldValidationFrom, type UnknownFieldsChecker, warningHeader } from "./fields.ts";
import { deleteNamespace, isNamespaceResource } from "./namespaces.ts";
import { decodeProtobuf } from "./protobuf.ts";
import { queryBool, queryOptionalBool } from "./query.ts";
import { serverSideApply } from "./registry/apply.ts";
import { applyPatch } from "./registry/patch.ts";
import { getScale, scaleToParent } from "./registry/scale.ts";
import { selectorFromQuery } from "./registry/selectors.ts";
import type { Registry } from "./registry/store.ts";
import { includeObjectFrom, toTable, wantsTable } from "./registry/table.ts";
import type { RequestContext, ResourceInfo } from "./registry/types.ts";
import { type Schedule, watchResponse } from "./registry/watch.ts";
import { type WatchLimiter, watchTimeoutSeconds } from "./registry/watch-limits.ts";
import { type ResourceTarget, servedVerbs } from "./request-info.ts";
import type { UserInfo } from "./tokens.ts";

/** What the resource handlers need besides the request. */
export interface HandlerDeps {
  registry: Registry;
  unknownFields?: UnknownFieldsChecker;
  services: Record<string, unknown>;
  /** Watch limits: per-identity cap and the server-side timeout bound (absent: no cap, no bound). */
  watch?: WatchSettings;
}

/** How watches are limited (registry/watch-limits.ts). */
export interface WatchSettings {
  limiter?: WatchLimiter;
  /** kube's --min-request-timeout in seconds; 0 = no server-side bound. */
  minRequestTimeoutSeconds: number;
  random: () => number;
  schedule?: Schedule;
  /** Newline after this many quiet ms, so a vanished client is noticed (registry/watch.ts WatchHooks). */
  keepaliveMs?: number;
}

/** One resource request, resolved and authenticated. */
interface Call extends ResourceTarget {
  request: Request;
  url: URL;
  user: UserInfo;
  ctx: RequestContext;
  deps: HandlerDeps;
  warnings: string[];
}

function json(body: unknown, status: number, warnings: string[] = []): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  // A write retried after a CAS conflict runs admission again: send each warning once, as kube's recorder does.
  for (const w of new Set(warnings)) headers.append("Warning", warningHeader(w));
  return new Response(JSON.stringify(body), { status, headers });
}

function requireVerb(info: ResourceInfo, verb: string): void {
  if (!servedVerbs(info)?.includes(verb))
    throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
}

function fieldManager(call: Call): string {
  const explicit = call.url.searchParams.get("fieldManager");
  if (explicit) {
    if (explicit.length > 128)
      throw new ApiError("BadRequest", "fieldManager: must be at most 128 characters");
    return explicit;
  }
  const agent = call.request.headers.get("User-Agent") ?? "";
  return agent.split("/")[0] || "unknown";
}

function dryRun(url: URL): boolean {
  const values = url.searchParams.getAll("dryRun");
  for (const v of values)
    if (v !== "All") throw new ApiError("BadRequest", `unsupported dry run option "${v}"`);
  return values.length > 0;
}

function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ApiError("BadRequest", `invalid ${name} "${v}"`);
  return n;
}

async function decodeObject(
  call: Call,
  allowed: BodyType[],
): Promise<{ object: KubeObject; type: BodyType; duplicates: string[] }> {
  const type = bodyType(call.request, allowed);
  if (type === "protobuf") {
    const bytes = await readBodyBytes(call.request);
    const object = decodeProtobuf(
      bytes,
      call.info.model,
      apiVersionOf(call.info),
      call.info.kind,
    ) as KubeObject;
    return { object, type, duplicates: [] };
  }
  const text = await readBody(call.request);
  const { value, duplicates } = parseBody(text, type === "yaml" || type === "apply-patch");
  if (type === "json-patch") {
    // A JSON patch is a list of operation objects; anything else would reach the patcher as a TypeError.
    if (
      !Array.isArray(value) ||
      value.some((op) => op === null || typeof op !== "object" || Array.isArray(op))
    )
      throw new ApiError("BadRequest", "the body must be a JSON patch: a list of operation objects");
  } else if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ApiError("BadRequest", "the body must be a JSON object");
  else checkObjectMeta(value as Record<string, unknown>);
  return { object: value as KubeObject, type, duplicates };
}

function checkKind(call: Call, object: KubeObject, expectKind: string, expectApiVersion: string): void {
  if (object.kind && object.kind !== expectKind)
    throw new ApiError(
      "BadRequest",
      `the kind of the object (${object.kind}) does not match the resource (${expectKind})`,
    );
  if (object.apiVersion && object.apiVersion !== expectApiVersion)
    throw new ApiError(
      "BadRequest",
      `the API version in the data (${object.apiVersion}) does not match the expected API version (${expectApiVersion})`,
    );
  const ns = object.metadata?.namespace;
  if (call.info.namespaced && ns && call.namespace && ns !== call.namespace)
    throw new ApiError(
      "BadRequest",
      "the namespace of the provided object does not match the namespace sent on the request",
    );
}

function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}

/**
 * Serve one resource request by its verb, which requestAttributes resolved and
 * checked against what the resource or subresource declares (405 otherwise).
 */
export async function handleResource(
  target: ResourceTarget,
  verb: string,
  request: Request,
  user: UserInfo,
  ctx: RequestContext,
  deps: HandlerDeps,
): Promise<Response> {
  // Admission adds its warnings to the same list the field checks use.
  const warnings: string[] = [];
  const call: Call = {
    ...target,
    request,
    url: new URL(request.url),
    user,
    ctx: { ...ctx, warnings },
    deps,
    warnings,
  };
  const { info, name, subresource } = call;
  if (subresource) {
    const custom = info.subresources?.custom?.[subresource];
    if (custom) {
      return custom.handle({
        request,
        namespace: call.namespace,
        name: name!,
        ctx,
        registry: deps.registry,
        services: deps.services,
      });
    }
    const known =
      (subresource === "status" && info.subresources?.status) ||
      (subresource === "scale" && info.subresources?.scale);
    if (!known) throw new ApiError("NotFound", "the server could not find the requested resource");
  }
  switch (verb) {
    case "list":
      return list(call);
    case "watch":
      return watchCollection(call);
    case "create":
      return create(call);
    case "deletecollection":
      return deleteCollection(call);
    case "get":
      return subresource === "scale" ? getScaleResponse(call) : get(call);
    case "update":
      return update(call);
    case "patch":
      return patch(call);
    case "delete":
      return remove(call);
  }
  throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
}

async function get(call: Call): Promise<Response> {
  const object = await call.deps.registry.get(call.info, call.namespace, call.name!);
  return respondObjects(call, object);
}

function respondObjects(call: Call, object: KubeObject, status = 200): Response {
  if (wantsTable(call.request.headers.get("Accept"))) {
    const table = toTable(
      call.info,
      [object],
      call.ctx.now,
      { resourceVersion: object.metadata?.resourceVersion },
      includeObjectFrom(call.url),
    );
    return json(table, status, call.warnings);
  }
  return json(object, status, call.warnings);
}

async function list(call: Call): Promise<Response> {
  const { url, info } = call;
  const page = await call.deps.registry.list(info, call.namespace, {
    match: selectorFromQuery(url, info),
    limit: intParam(url, "limit"),
    continue: url.searchParams.get("continue") ?? undefined,
    resourceVersion: url.searchParams.get("resourceVersion") ?? undefined,
    resourceVersionMatch: url.searchParams.get("resourceVersionMatch") ?? undefined,
  });
  const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
  if (page.continue) metadata.continue = page.continue;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  if (wantsTable(call.request.headers.get("Accept")))
    return json(toTable(info, page.items, call.ctx.now, metadata, includeObjectFrom(url)), 200);
  return json({ kind: `${info.kind}List`, apiVersion: apiVersionOf(info), metadata, items: page.items }, 200);
}

function watchCollection(call: Call): Response {
  const { url, info } = call;
  const table = wantsTable(call.request.headers.get("Accept"))
    ? { include: includeObjectFrom(url) }
    : undefined;
  const limits = call.deps.watch;
  const requested = intParam(url, "timeoutSeconds");
  const request = {
    namespace: call.namespace,
    match: selectorFromQuery(url, info),
    resourceVersion: url.searchParams.get("resourceVersion") ?? undefined,
    allowWatchBookmarks: queryBool(url.searchParams, "allowWatchBookmarks"),
    sendInitialEvents: queryOptionalBool(url.searchParams, "sendInitialEvents"),
    timeoutSeconds: limits
      ? watchTimeoutSeconds(requested, limits.minRequestTimeoutSeconds, limits.random)
      : requested,
    table,
  };
  // The slot is taken last, once the request is known to be valid, and given back when the stream ends.
  const release = limits?.limiter?.acquire(call.user.name);
  try {
    return watchResponse(call.deps.registry, info, request, {
      onClose: release,
      schedule: limits?.schedule,
      signal: call.request.signal,
      keepaliveMs: limits?.keepaliveMs,
    });
  } catch (error) {
    release?.();
    throw error;
  }
}

async function create(call: Call): Promise<Response> {
  const { object, duplicates } = await decodeObject(call, ["json", "yaml"]);
  checkKind(call, object, call.info.kind, apiVersionOf(call.info));
  call.warnings.push(
    ...checkFields(call.info, object, duplicates, fieldValidationFrom(call.url), call.deps.unknownFields),
  );
  const ctx = { ...call.ctx, dryRun: dryRun(call.url) };
  const created = await call.deps.registry.create(call.info, call.namespace, object, ctx, {
    manager: fieldManager(call),
  });
  return json(created, 201, call.warnings);
}

async function update(call: Call): Promise<Response> {
  const { object, duplicates } = await decodeObject(call, ["json", "yaml"]);
  const ctx = { ...call.ctx, dryRun: dryRun(call.url) };
  if (call.subresource === "scale") {
    checkKind(call, object, "Scale", "autoscaling/v1");
    const updated = await scaleToParent(
      call.deps.registry,
      call.info,
      call.namespace,
      call.name!,
      () => object,
      ctx,
      fieldManager(call),
    );
    return json(updated, 200);
  }
  checkKind(call, object, call.info.kind, apiVersionOf(call.info));
  if (object.metadata?.name && object.metadata.name !== call.name)
    throw new ApiError(
      "BadRequest",
      `the name of the object (${object.metadata.name}) does not match the name on the URL (${call.name})`,
    );
  call.warnings.push(
    ...checkFields(call.info, object, duplicates, fieldValidationFrom(call.url), call.deps.unknownFields),
  );
  const updated = await call.deps.registry.update(
    call.info,
    call.namespace,
    call.name!,
    () => structuredClone(object),
    ctx,
    {
      manager: fieldManager(call),
      target: call.subresource === "status" ? "status" : "main",
      precondition: object.metadata?.resourceVersion || undefined,
    },
  );
  return json(updated, 200, call.warnings);
}

async function patch(call: Call): Promise<Response> {
  const {
    object: body,
    type,
    duplicates,
  } = await decodeObject(call, ["json-patch", "merge-patch", "strategic-merge-patch", "apply-patch"]);
  const ctx = { ...call.ctx, dryRun: dryRun(call.url) };
  const level = fieldValidationFrom(call.url);
  const registry = call.deps.registry;
  const target = call.subresource === "status" ? "status" : "main";
  if (call.subresource === "scale") {
    if (type === "apply-patch")
      throw new ApiError("UnsupportedMediaType", "apply is not supported on the scale subresource");
    const updated = await scaleToParent(
      registry,
      call.info,
      call.namespace,
      call.name!,
      (scale) => applyPatch(scale, type as "json-patch" | "merge-patch" | "strategic-merge-patch", body),
      ctx,
      fieldManager(call),
    );
    return json(updated, 200);
  }
  if (type === "apply-patch") {
    const manager = call.url.searchParams.get("fieldManager");
    if (!manager)
      throw new ApiError("BadRequest", "PATCH, application/apply-patch+yaml requires fieldManager to be set");
    checkKind(call, body, call.info.kind, apiVersionOf(call.info));
    if (body.metadata?.name && body.metadata.name !== call.name)
      throw new ApiError(
        "BadRequest",
        `the name of the object (${body.metadata.name}) does not match the name on the URL (${call.name})`,
      );
    call.warnings.push(...checkFields(call.info, body, duplicates, level, call.deps.unknownFields));
    const force = queryBool(call.url.searchParams, "force");
    try {
      const updated = await registry.update(
        call.info,
        call.namespace,
        call.name!,
        (live) => serverSideApply(live, body, manager, force, ctx.now),
        ctx,
        {
          manager,
          target,
          operation: "Apply",
          precondition: body.metadata?.resourceVersion || undefined,
        },
      );
      return json(updated, 200, call.warnings);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404 && target === "main")) throw error;
    }
    const fresh = serverSideApply(
      undefined,
      { ...body, metadata: { ...body.metadata, name: call.name } },
      manager,
      force,
      ctx.now,
    );
    requireVerb(call.info, "create");
    const created = await registry.create(call.info, call.namespace, fresh, ctx, {
      manager,
      operation: "Apply",
    });
    return json(created, 201, call.warnings);
  }
  const updated = await registry.update(
    call.info,
    call.namespace,
    call.name!,
    (live) => {
      const next = applyPatch(live, type as "json-patch" | "merge-patch" | "strategic-merge-patch", body);
      call.warnings.splice(
        0,
        call.warnings.length,
        ...checkFields(call.info, next, duplicates, level, call.deps.unknownFields),
      );
      return next;
    },
    ctx,
    { manager: fieldManager(call), target, precondition: patchRV(type, body) },
  );
  return json(updated, 200, call.warnings);
}

/** The resourceVersion a patch sets itself: a precondition, as in Kubernetes. */
function patchRV(type: BodyType, body: unknown): string | undefined {
  if (type === "json-patch") {
    const op = (body as { op?: string; path?: string; value?: unknown }[]).find(
      (o) => o.path === "/metadata/resourceVersion" && (o.op === "add" || o.op === "replace"),
    );
    return typeof op?.value === "string" && op.value ? op.value : undefined;
  }
  const rv = (body as KubeObject).metadata?.resourceVersion;
  return typeof rv === "string" && rv ? rv : undefined;
}

async function getScaleResponse(call: Call): Promise<Response> {
  const object = await call.deps.registry.get(call.info, call.namespace, call.name!);
  return json(getScale(call.info, object), 200);
}

async function deleteOptions(call: Call): Promise<{
  gracePeriodSeconds?: number;
  preconditions?: { uid?: string; resourceVersion?: string };
  dryRun: boolean;
  propagationPolicy?: string;
}> {
  const text = call.request.body ? await readBody(call.request) : "";
  let body: Record<string, unknown> = {};
  if (text.trim()) {
    const parsed = parseBody(text, false).value;
    if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
  }
  const grace =
    intParam(call.url, "gracePeriodSeconds") ??
    (typeof body.gracePeriodSeconds === "number" ? body.gracePeriodSeconds : undefined);
  const bodyDry = Array.isArray(body.dryRun) && body.dryRun.includes("All");
  return {
    gracePeriodSeconds: grace,
    preconditions: body.preconditions as { uid?: string; resourceVersion?: string } | undefined,
    dryRun: dryRun(call.url) || bodyDry,
    propagationPolicy: (call.url.searchParams.get("propagationPolicy") ?? body.propagationPolicy) as
      | string
      | undefined,
  };
}

async function remove(call: Call): Promise<Response> {
  const options = await deleteOptions(call);
  const ctx = { ...call.ctx, dryRun: options.dryRun };
  const registry = call.deps.registry;
  const { object, deleted } = isNamespaceResource(call.info)
    ? await deleteNamespace(registry, call.info, call.name!, ctx)
    : await registry.remove(call.info, call.namespace, call.name!, ctx, options);
  if (!deleted) return json(object, 200);
  return json(
    {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: {
        name: call.name,
        group: call.info.group,
        kind: call.info.resource,
        uid: object.metadata?.uid,
      },
    },
    200,
  );
}

async function deleteCollection(call: Call): Promise<Response> {
  const options = await deleteOptions(call);
  const ctx = { ...call.ctx, dryRun: options.dryRun };
  const registry = call.deps.registry;
  const page = await registry.list(call.info, call.namespace, {
    match: selectorFromQuery(call.url, call.info),
  });
  const items: KubeObject[] = [];
  for (const object of page.items) {
    try {
      const name = object.metadata?.name ?? "";
      const ns = object.metadata?.namespace;
      const result = isNamespaceResource(call.info)
        ? await deleteNamespace(registry, call.info, name, ctx)
        : await registry.remove(call.info, ns, name, ctx, {
            gracePeriodSeconds: options.gracePeriodSeconds,
            dryRun: options.dryRun,
            propagationPolicy: options.propagationPolicy,
          });
      items.push(result.object);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
  }
  return json(
    {
      kind: `${call.info.kind}List`,
      apiVersion: apiVersionOf(call.info),
      metadata: { resourceVersion: page.resourceVersion },
      items,
    },
    200,
  );
}
