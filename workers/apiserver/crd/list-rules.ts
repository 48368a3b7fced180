/**
 * How a custom resource's lists merge under server-side apply and in
 * managedFields, from its schema (kube's structured-merge-diff reading
 * x-kubernetes-list-type): `map` lists merge item by item on their
 * x-kubernetes-list-map-keys, `set` lists as sets, every other list is
 * atomic (replaced whole). Metadata lists keep the built-in rules.
 */
import { type ListRule, type MergeRules, mergeRule } from "../registry/strategicpatch.ts";
import type { SchemaProps } from "./types.ts";

function childOf(schema: SchemaProps | undefined, name: string): SchemaProps | undefined {
  if (!schema) return undefined;
  // The path holds field names only: a list's items stand where the list does.
  const node =
    schema.type === "array" && schema.items && !Array.isArray(schema.items) ? schema.items : schema;
  const extra = typeof node.additionalProperties === "object" ? node.additionalProperties : undefined;
  return node.properties?.[name] ?? extra;
}

/** The merge rules of a schema's lists, for paths of field names ("spec", "ports"). */
export function listRules(root: SchemaProps): MergeRules {
  // Resolved on each call (a walk as long as the path): paths under maps hold arbitrary keys, so no cache.
  return (path): ListRule => {
    if (path[0] === "metadata") return mergeRule(path);
    let node: SchemaProps | undefined = root;
    for (const name of path) node = childOf(node, name);
    const type = node?.["x-kubernetes-list-type"];
    const keys = node?.["x-kubernetes-list-map-keys"];
    if (type === "map" && keys?.length) return { keys };
    return type === "set" ? { primitiveMerge: true } : {};
  };
}
