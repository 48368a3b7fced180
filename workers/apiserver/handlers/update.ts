/** UPDATE (PUT of one object, its status or its Scale). */
import { checkFields, fieldValidationFrom } from "../fields.ts";
import { scaleToParent } from "../registry/scale.ts";
import { checkKind, checkName, decodeObject } from "./body.ts";
import { apiVersionOf, dryRun, fieldManager, json, type ObjectCall } from "./call.ts";

/** PUT /…/NAME, /…/NAME/status, /…/NAME/scale; a resourceVersion in the body is a precondition. */
export async function update(call: ObjectCall): Promise<Response> {
  const { object, duplicates } = await decodeObject(call, ["json", "yaml"]);
  const ctx = { ...call.ctx, dryRun: dryRun(call.url) };
  if (call.subresource === "scale") {
    checkKind(call, object, "Scale", "autoscaling/v1");
    const { registry } = call.deps;
    const updated = await scaleToParent(
      registry,
      call.info,
      call.namespace,
      call.name,
      () => object,
      ctx,
      fieldManager(call),
    );
    return json(updated, 200);
  }
  checkKind(call, object, call.info.kind, apiVersionOf(call.info));
  checkName(call, object);
  call.warnings.push(
    ...checkFields(call.info, object, duplicates, fieldValidationFrom(call.url), call.deps.unknownFields),
  );
  const updated = await call.deps.registry.update(
    call.info,
    call.namespace,
    call.name,
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
