/**
 * PATCH: JSON patch, merge patch and strategic merge patch applied to the
 * live object inside the guaranteed update, and server-side apply (which
 * creates the object when it does not exist yet).
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { BodyType } from "../decode.ts";
import { checkFields, fieldValidationFrom } from "../fields.ts";
import { queryBool } from "../query.ts";
import { serverSideApply } from "../registry/apply.ts";
import { applyPatch } from "../registry/patch.ts";
import { scaleToParent } from "../registry/scale.ts";
import type { RequestContext } from "../registry/types.ts";
import { checkKind, checkName, decodeObject } from "./body.ts";
import { apiVersionOf, dryRun, fieldManager, json, type ObjectCall, requireVerb } from "./call.ts";

type MergeType = "json-patch" | "merge-patch" | "strategic-merge-patch";

/** PATCH /…/NAME, /…/NAME/status, /…/NAME/scale. */
export async function patch(call: ObjectCall): Promise<Response> {
  const {
    object: body,
    type,
    duplicates,
  } = await decodeObject(
    call,
    // Custom resources have no patch strategies: kube refuses strategic merge patch for them with 415
    // (their Scale is a built-in type and takes it).
    call.info.customResource && call.subresource !== "scale"
      ? ["json-patch", "merge-patch", "apply-patch"]
      : ["json-patch", "merge-patch", "strategic-merge-patch", "apply-patch"],
  );
  const ctx = { ...call.ctx, dryRun: dryRun(call.url) };
  if (call.subresource === "scale") {
    if (type === "apply-patch")
      throw new ApiError("UnsupportedMediaType", "apply is not supported on the scale subresource");
    const updated = await scaleToParent(
      call.deps.registry,
      call.info,
      call.namespace,
      call.name,
      (scale) => applyPatch(scale, type as MergeType, body),
      ctx,
      fieldManager(call),
    );
    return json(updated, 200);
  }
  if (type === "apply-patch") return apply(call, body, duplicates, ctx);
  const level = fieldValidationFrom(call.url);
  const updated = await call.deps.registry.update(
    call.info,
    call.namespace,
    call.name,
    (live) => {
      const next = applyPatch(live, type as MergeType, body);
      // Each retry checks the newly patched object: keep only this attempt's warnings.
      call.warnings.splice(
        0,
        call.warnings.length,
        ...checkFields(call.info, next, duplicates, level, call.deps.unknownFields),
      );
      return next;
    },
    ctx,
    {
      manager: fieldManager(call),
      target: call.subresource === "status" ? "status" : "main",
      precondition: patchRV(type, body),
    },
  );
  return json(updated, 200, call.warnings);
}

/** Server-side apply: update the live object, or create it (201) when there is none. */
async function apply(
  call: ObjectCall,
  body: KubeObject,
  duplicates: string[],
  ctx: RequestContext,
): Promise<Response> {
  const registry = call.deps.registry;
  const target = call.subresource === "status" ? "status" : "main";
  const manager = call.url.searchParams.get("fieldManager");
  if (!manager)
    throw new ApiError("BadRequest", "PATCH, application/apply-patch+yaml requires fieldManager to be set");
  checkKind(call, body, call.info.kind, apiVersionOf(call.info));
  checkName(call, body);
  call.warnings.push(
    ...checkFields(call.info, body, duplicates, fieldValidationFrom(call.url), call.deps.unknownFields),
  );
  const force = queryBool(call.url.searchParams, "force");
  try {
    const updated = await registry.update(
      call.info,
      call.namespace,
      call.name,
      (live) => serverSideApply(live, body, manager, force, ctx.now, call.info.customResource?.listRules),
      ctx,
      { manager, target, operation: "Apply", precondition: body.metadata?.resourceVersion || undefined },
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
    call.info.customResource?.listRules,
  );
  requireVerb(call.info, "create");
  const created = await registry.create(call.info, call.namespace, fresh, ctx, {
    manager,
    operation: "Apply",
  });
  return json(created, 201, call.warnings);
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
