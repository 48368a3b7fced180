/**
 * The custom resources' rows, per isolate: built from the stored CRDs and
 * rebuilt only when the CRDs' shard revision moves (one cheap revisions()
 * call per request that may need them), so every isolate serves a CRD from
 * its first request after the CRD is written. The cache is an object the
 * caller keeps (index.ts keeps one per isolate), not module state.
 */
import type { CustomResourceDefinition } from "kubernetes-types/apiextensions/v1.js";
import type { Store } from "../../../durable-objects/store/types.ts";
import type { ResourceInfo } from "../registry/types.ts";
import { rowsForCRD } from "./rows.ts";

/** Where CRDs are stored (registry/keys.ts' layout for apiextensions.k8s.io/customresourcedefinitions). */
const CRD_PREFIX = "/registry/apiextensions.k8s.io/customresourcedefinitions/";

/** The table last built (built-in rows, then the CRDs' rows) and the CRD shard revision it was built at. */
export interface CustomResourceCache {
  revision?: number;
  /** The same array while the CRDs do not change, so what is derived from it (OpenAPI documents) is kept. */
  table?: ResourceInfo[];
}

/** An empty cache. */
export function createCustomResourceCache(): CustomResourceCache {
  return {};
}

/** Every served custom resource row of the stored CRDs, and the revision read at; a CRD that cannot be turned into rows is skipped. */
async function build(store: Store): Promise<{ rows: ResourceInfo[]; revision: number }> {
  const rows: ResourceInfo[] = [];
  let startAfter: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const page = await store.list(CRD_PREFIX, { revision, startAfter, limit: 500 });
    revision = page.revision;
    for (const kv of page.kvs) {
      try {
        const crd = JSON.parse(kv.value) as CustomResourceDefinition;
        crd.metadata = { ...crd.metadata, resourceVersion: String(kv.modRevision) };
        rows.push(...rowsForCRD(crd));
      } catch (error) {
        console.error(
          `custom resources: skipping ${kv.key}:`,
          error instanceof Error ? error.message : error,
        );
      }
    }
    if (!page.more || !page.kvs.length) return { rows, revision };
    startAfter = page.kvs[page.kvs.length - 1].key;
  }
}

/**
 * The resource table with the current custom resource rows, rebuilt when
 * the CRDs changed since the cache was filled. Each request that finds the
 * cache stale rebuilds it itself: workerd does not let one request wait on
 * another's I/O.
 */
export async function customResourceTable(
  cache: CustomResourceCache,
  store: Store,
  builtins: ResourceInfo[],
): Promise<ResourceInfo[]> {
  const { current } = await store.revisions(CRD_PREFIX);
  if (cache.revision === current && cache.table) return cache.table;
  const { rows, revision } = await build(store);
  const table = [...builtins, ...rows];
  if (cache.revision === undefined || revision >= cache.revision) {
    cache.revision = revision;
    cache.table = table;
  }
  return table;
}
