/** DELETE of one object: the object while it is still being deleted, a Success Status once gone. */
import { json, type ObjectCall } from "./call.ts";
import { deleteOptions } from "./delete-options.ts";

/** DELETE /…/NAME. */
export async function remove(call: ObjectCall): Promise<Response> {
  const options = await deleteOptions(call);
  const ctx = { ...call.ctx, dryRun: options.dryRun };
  const { object, deleted } = await call.deps.registry.remove(
    call.info,
    call.namespace,
    call.name,
    ctx,
    options,
  );
  if (!deleted) return json(object, 200);
  const details = {
    name: call.name,
    group: call.info.group,
    kind: call.info.resource,
    uid: object.metadata?.uid,
  };
  return json({ kind: "Status", apiVersion: "v1", metadata: {}, status: "Success", details }, 200);
}
