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
  const own = call.info.rest?.create;
  if (own) {
    const { info, namespace, user } = call;
    const registry = call.deps.registry;
    const authorizer = call.deps.authorizer;
    const services = call.deps.services;
    return json(
      await own({ info, namespace, object, ctx, registry, user, authorizer, services }),
      201,
      call.warnings,
    );
  }
  const created = await call.deps.registry.create(call.info, call.namespace, object, ctx, {
    manager: fieldManager(call),
  });
  return json(created, 201, call.warnings);
}
