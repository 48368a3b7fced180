/** LIST of a collection: selectors, limit/continue, resourceVersion; JSON list or Table. */
import type { ListRequest } from "../registry/list.ts";
import { selectorFromQuery } from "../registry/selectors.ts";
import { includeObjectFrom, toTable, wantsTable } from "../registry/table.ts";
import { apiVersionOf, type CollectionCall, intParam, json, readRequest } from "./call.ts";

/** Items per chunk of a streamed list body: big enough to keep chunk overhead small, small enough to bound memory. */
const ITEMS_PER_CHUNK = 256;

/** GET of a collection without watch. */
export async function list(call: CollectionCall): Promise<Response> {
  const { url, info } = call;
  const own = info.rest?.list;
  const table = wantsTable(call.request.headers.get("Accept"));
  const req: ListRequest = {
    match: selectorFromQuery(url, info),
    limit: intParam(url, "limit"),
    continue: url.searchParams.get("continue") ?? undefined,
    resourceVersion: url.searchParams.get("resourceVersion") ?? undefined,
    resourceVersionMatch: url.searchParams.get("resourceVersionMatch") ?? undefined,
  };
  if (!own && !table) {
    // The common case: items go out as the store's JSON text, never as objects.
    const page = await call.deps.registry.listEncoded(info, call.namespace, req);
    const head = JSON.stringify({
      kind: info.customResource?.listKind ?? `${info.kind}List`,
      apiVersion: apiVersionOf(info),
      metadata: listMeta(page),
    });
    return new Response(streamList(`${head.slice(0, -1)},"items":[`, page.items), {
      status: 200,
      headers: { "Content-Type": "application/json" },
    });
  }
  const page = own ? await own(readRequest(call)) : await call.deps.registry.list(info, call.namespace, req);
  const metadata = listMeta(page);
  if (table) return json(toTable(info, page.items, call.ctx.now, metadata, includeObjectFrom(url)), 200);
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

/** metav1.ListMeta of a page: resourceVersion, continue and remainingItemCount when set. */
function listMeta(page: { resourceVersion: string; continue?: string; remainingItemCount?: number }) {
  const metadata: Record<string, unknown> = { resourceVersion: page.resourceVersion };
  if (page.continue) metadata.continue = page.continue;
  if (page.remainingItemCount !== undefined) metadata.remainingItemCount = page.remainingItemCount;
  return metadata;
}

/**
 * The list body `head` + items joined by commas + "]}", as a stream of
 * UTF-8 chunks of ITEMS_PER_CHUNK items: encoded once, pulled as the client
 * reads, never held as one string.
 */
function streamList(head: string, items: string[]): ReadableStream<Uint8Array> {
  const encoder = new TextEncoder();
  let next = 0;
  return new ReadableStream<Uint8Array>({
    pull(controller) {
      const start = next;
      next = Math.min(items.length, next + ITEMS_PER_CHUNK);
      let text = start === 0 ? head : ",";
      text += items.slice(start, next).join(",");
      if (next >= items.length) {
        controller.enqueue(encoder.encode(`${text}]}`));
        controller.close();
      } else controller.enqueue(encoder.encode(text));
    },
  });
}
