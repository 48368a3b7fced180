/** CREATE (POST to a collection): decode, check, strict field validation, then the registry. */
import { checkFields, fieldValidationFrom } from "../fields.ts";
import { checkKind, decodeObject } from "./body.ts";
import { apiVersionOf, type CollectionCall, dryRun, fieldManager, json } from "./call.ts";

/** POST /…/RESOURCE. */
export async function create(call: CollectionCall): Promise<Response> {
  const { object, duplicates } = await decodeObject(call, ["json", "yaml"]);
  checkKind(call, object, call.info.kind, apiVersionOf(call.info));
  call.warnings.push(
    ...checkFields(call.info, object, duplicates, fieldValidationFrom(call.url), call.deps.unknownFields),
  );
  const ctx = { ...call.ctx, dryRun: dryRun(call.url) };
  // A review kind answers from the body and stores nothing.
  const answer = call.info.rest?.create;
  if (answer) return json(await answer(object, ctx, call.deps.services), 201, call.warnings);
  const created = await call.deps.registry.create(call.info, call.namespace, object, ctx, {
    manager: fieldManager(call),
  });
  return json(created, 201, call.warnings);
}
