/**
 * LIST over the store (kube's generic/registry List + etcd3 GetList): one
 * revision for the whole list, pages by limit/continue, resourceVersion and
 * resourceVersionMatch as kube reads them, filtered by the matcher.
 */
import type { KeyValue, ListResult, Store } from "../../../durable-objects/store/types.ts";
import { StoreError } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import {
  collectionPrefix,
  decodeContinue,
  encodeContinue,
  parseResourceVersion,
  toResourceVersion,
} from "./keys.ts";
import { everything, type Matcher } from "./selectors.ts";
import { storeErrorToApi } from "./store-errors.ts";
import type { ResourceInfo } from "./types.ts";

/** Options of a list request. */
export interface ListRequest {
  match?: Matcher;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

/** A page of a list, as metav1.ListMeta + items. */
export interface ListPage {
  items: KubeObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

/** The revision to list at, from resourceVersion/resourceVersionMatch (undefined: the latest). */
function listRevision(req: ListRequest): number | undefined {
  const rv = parseResourceVersion(req.resourceVersion);
  if (req.resourceVersionMatch && rv === undefined)
    throw new ApiError("BadRequest", "resourceVersionMatch is forbidden unless resourceVersion is provided");
  if (req.resourceVersionMatch === "Exact") {
    if (!rv)
      throw new ApiError("BadRequest", 'resourceVersionMatch "Exact" is forbidden for resourceVersion "0"');
    return rv;
  }
  if (req.resourceVersionMatch && req.resourceVersionMatch !== "NotOlderThan")
    throw new ApiError("BadRequest", `unsupported resourceVersionMatch "${req.resourceVersionMatch}"`);
  return undefined;
}

/** A page of a list whose items are already encoded as JSON text (one string per item). */
export interface EncodedListPage extends Omit<ListPage, "items"> {
  items: string[];
}

/** Read one page of a collection's range from the store, at the revision and position the request asks for. */
async function readRange(store: Store, info: ResourceInfo, namespace: string | undefined, req: ListRequest) {
  const prefix = collectionPrefix(info, namespace);
  let revision: number | undefined;
  let startAfter: string | undefined;
  if (req.continue) {
    const token = decodeContinue(req.continue, prefix);
    revision = token.revision;
    startAfter = token.startAfter;
  } else revision = listRevision(req);
  const limit = req.limit && req.limit > 0 ? req.limit : undefined;
  try {
    return await store.list(prefix, { revision, limit, startAfter });
  } catch (error) {
    if (error instanceof StoreError && error.code === "Compacted" && req.continue)
      throw new ApiError(
        "Expired",
        "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.",
      );
    return storeErrorToApi(error);
  }
}

/** The page's ListMeta: revision, and continue/remainingItemCount when the range has more. */
function pageMeta(result: ListResult, filtered: boolean): Omit<ListPage, "items"> {
  const page: Omit<ListPage, "items"> = { resourceVersion: toResourceVersion(result.revision) };
  if (result.more && result.kvs.length > 0) {
    page.continue = encodeContinue({
      revision: result.revision,
      startAfter: result.kvs[result.kvs.length - 1].key,
    });
    if (!filtered) page.remainingItemCount = result.remaining;
  }
  return page;
}

/** List a collection at one revision, filtered by the matcher, paginated by limit/continue. */
export async function listPage(
  store: Store,
  decode: (kv: KeyValue) => KubeObject,
  info: ResourceInfo,
  namespace: string | undefined,
  req: ListRequest,
): Promise<ListPage> {
  const result = await readRange(store, info, namespace, req);
  const match = req.match === everything ? undefined : req.match;
  const items: KubeObject[] = [];
  for (const kv of result.kvs) {
    const object = decode(kv);
    if (!match || match(object)) items.push(object);
  }
  return { items, ...pageMeta(result, !!match) };
}

/**
 * listPage with each item encoded as JSON text by `encode` instead of
 * decoded: the API's JSON list response, which need not parse an item
 * that no selector looks at (encode may splice the stored text).
 */
export async function listEncodedPage(
  store: Store,
  decode: (kv: KeyValue) => KubeObject,
  encode: (kv: KeyValue) => string,
  info: ResourceInfo,
  namespace: string | undefined,
  req: ListRequest,
): Promise<EncodedListPage> {
  const result = await readRange(store, info, namespace, req);
  const match = req.match === everything ? undefined : req.match;
  const items: string[] = [];
  for (const kv of result.kvs) if (!match || match(decode(kv))) items.push(encode(kv));
  return { items, ...pageMeta(result, !!match) };
}
