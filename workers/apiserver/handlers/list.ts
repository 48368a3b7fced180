/** LIST of a collection: selectors, limit/continue, resourceVersion; JSON list or Table. */
import { selectorFromQuery } from "../registry/selectors.ts";
import { includeObjectFrom, toTable, wantsTable } from "../registry/table.ts";
import { apiVersionOf, type CollectionCall, intParam, json, readRequest } from "./call.ts";

/** GET of a collection without watch. */
export async function list(call: CollectionCall): Promise<Response> {
  const { url, info } = call;
  const own = info.rest?.list;
  const page = own
    ? await own(readRequest(call))
    : await call.deps.registry.list(info, call.namespace, {
        match: selectorFromQuery(url, info),
        limit: intParam(url, "limit"),
        continue: url.searchParams.get("continue") ?? undefined,
        resourceVersion: url.searchParams.get("resourceVersion") ?? undefined,
        resourceVersionMatch: url.searchParams.get("resourceVersionMatch") ?? undefined,
      });
  const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
  if ("continue" in page && page.continue) metadata.continue = page.continue;
  if ("remainingItemCount" in page && page.remainingItemCount !== undefined)
    metadata.remainingItemCount = page.remainingItemCount;
  if (wantsTable(call.request.headers.get("Accept")))
    return json(toTable(info, page.items, call.ctx.now, metadata, includeObjectFrom(url)), 200);
  return json(
    {
      kind: info.customResource?.listKind ?? `${info.kind}List`,
      apiVersion: apiVersionOf(info),
      metadata,
      items: page.items,
    },
    200,
  );
}
