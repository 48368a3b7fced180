/** GET of one object (or its Scale), as JSON or as a Table when asked. */
import { parseResourceVersion } from "../registry/keys.ts";
import { getScale } from "../registry/scale.ts";
import { includeObjectFrom, toTable, wantsTable } from "../registry/table.ts";
import { json, type ObjectCall, readRequest } from "./call.ts";

/** GET /…/NAME and /…/NAME/status. */
export async function get(call: ObjectCall): Promise<Response> {
  // A malformed version is a 400 before anything is read, as kube answers (kinds with their own GET too).
  const resourceVersion = call.url.searchParams.get("resourceVersion") ?? undefined;
  parseResourceVersion(resourceVersion);
  const own = call.info.rest?.get;
  // With a resourceVersion the watch cache may answer (Registry.get); without, the store.
  const object = own
    ? await own({ ...readRequest(call), name: call.name })
    : await call.deps.registry.get(call.info, call.namespace, call.name, resourceVersion);
  if (wantsTable(call.request.headers.get("Accept"))) {
    const meta = { resourceVersion: object.metadata?.resourceVersion };
    return json(
      toTable(call.info, [object], call.ctx.now, meta, includeObjectFrom(call.url)),
      200,
      call.warnings,
    );
  }
  return json(object, 200, call.warnings);
}

/** GET /…/NAME/scale: the parent seen as an autoscaling/v1 Scale. */
export async function getScaleOf(call: ObjectCall): Promise<Response> {
  const object = await call.deps.registry.get(call.info, call.namespace, call.name);
  return json(getScale(call.info, object), 200);
}
