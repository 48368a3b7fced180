/**
 * LIST over the store (kube's generic/registry List + etcd3 GetList): one
 * revision for the whole list, pages by limit/continue, resourceVersion and
 * resourceVersionMatch as kube reads them, filtered by the matcher.
 */
import type { ShardedStore, VectorList } from "../../../durable-objects/store/sharded.ts";
import type { KeyValue } from "../../../durable-objects/store/types.ts";
import { StoreError } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import {
  collectionPrefix,
  decodeContinue,
  encodeContinue,
  isAnyVersion,
  parseResourceVersion,
  toResourceVersion,
  vectorOf,
  vectorResourceVersion,
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

/** The revision vector to list at, from resourceVersion/resourceVersionMatch (undefined: the latest). */
function listRevisions(req: ListRequest, shards: number): number[] | undefined {
  const rv = parseResourceVersion(req.resourceVersion);
  if (req.resourceVersionMatch && rv === undefined)
    throw new ApiError("BadRequest", "resourceVersionMatch is forbidden unless resourceVersion is provided");
  if (req.resourceVersionMatch === "Exact") {
    if (!rv || isAnyVersion(rv))
      throw new ApiError("BadRequest", 'resourceVersionMatch "Exact" is forbidden for resourceVersion "0"');
    return vectorOf(rv, shards);
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
async function readRange(
  store: ShardedStore,
  info: ResourceInfo,
  namespace: string | undefined,
  req: ListRequest,
) {
  const prefix = collectionPrefix(info, namespace);
  const shards = store.shardCount(prefix);
  let revisions: number[] | undefined;
  let startAfter: string | undefined;
  if (req.continue) {
    const token = decodeContinue(req.continue, prefix);
    // A token from before the resource's sharding changed cannot be continued, like a compacted one.
    if (token.revisions.length !== shards) throw continueExpired();
    revisions = token.revisions;
    startAfter = token.startAfter;
  } else revisions = listRevisions(req, shards);
  const limit = req.limit && req.limit > 0 ? req.limit : undefined;
  try {
    return await store.listAt(prefix, { revisions, limit, startAfter });
  } catch (error) {
    if (error instanceof StoreError && error.code === "Compacted" && req.continue) throw continueExpired();
    return storeErrorToApi(error);
  }
}

function continueExpired(): ApiError {
  return new ApiError(
    "Expired",
    "The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results.",
  );
}

/** The page's ListMeta: revision, and continue/remainingItemCount when the range has more. */
function pageMeta(result: VectorList, filtered: boolean, req: ListRequest): Omit<ListPage, "items"> {
  // An exact read answers with the version asked for, as kube does (an object's names the same vector).
  const exact = req.resourceVersionMatch === "Exact" && !req.continue;
  const page: Omit<ListPage, "items"> = {
    resourceVersion: exact ? (req.resourceVersion as string) : vectorResourceVersion(result.revisions),
  };
  if (result.more && result.kvs.length > 0) {
    page.continue = encodeContinue({
      revisions: result.revisions,
      startAfter: result.kvs[result.kvs.length - 1].key,
    });
    if (!filtered) page.remainingItemCount = result.remaining;
  }
  return page;
}

/** List a collection at one revision, filtered by the matcher, paginated by limit/continue. */
export async function listPage(
  store: ShardedStore,
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
  return { items, ...pageMeta(result, !!match, req) };
}

/**
 * listPage with each item encoded as JSON text by `encode` instead of
 * decoded: the API's JSON list response, which need not parse an item
 * that no selector looks at (encode may splice the stored text).
 */
export async function listEncodedPage(
  store: ShardedStore,
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
  return { items, ...pageMeta(result, !!match, req) };
}

/**
 * The revision a list must see to be answered from the watch cache, or
 * undefined when it goes to the store: kube 1.32's shouldDelegateList.
 * A consistent read (no resourceVersion), a continue, an Exact match, or
 * a limit with any resourceVersion but "0" read the store; "0" (limit or
 * not: kube's cache answers it whole) and NotOlderThan read the cache.
 */
export function cachedListRevision(req: ListRequest): number | undefined {
  if (req.continue) return undefined;
  const rv = parseResourceVersion(req.resourceVersion);
  if (!rv?.revisions || rv.shard !== undefined || rv.revisions.length !== 1) return undefined;
  if (req.resourceVersionMatch && req.resourceVersionMatch !== "NotOlderThan") return undefined;
  const any = isAnyVersion(rv);
  if (req.limit && req.limit > 0 && !any) return undefined;
  return rv.revisions[0];
}

/**
 * A list answered from the watch cache's `kvs` (a collection's objects in
 * key order, as of `revision`): every match in one page, as kube 1.32's
 * cacher answers even with a limit (no continue, no remainingItemCount),
 * each item made by `item` (given the object when a selector decoded it).
 */
export function cachedPage<T>(
  kvs: readonly KeyValue[],
  revision: number,
  req: ListRequest,
  decode: (kv: KeyValue) => KubeObject,
  item: (kv: KeyValue, decoded?: KubeObject) => T,
): { items: T[]; resourceVersion: string } {
  const match = req.match === everything ? undefined : req.match;
  const items: T[] = [];
  for (const kv of kvs) {
    if (!match) items.push(item(kv));
    else {
      const object = decode(kv);
      if (match(object)) items.push(item(kv, object));
    }
  }
  return { items, resourceVersion: toResourceVersion(revision) };
}
