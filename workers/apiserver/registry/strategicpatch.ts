/**
 * Strategic merge patch (application/strategic-merge-patch+json), as
 * apimachinery's strategicpatch: maps merge recursively, null deletes, lists
 * with a patch merge key merge item by item, other lists are replaced.
 * Directives: $patch (replace/delete/merge), $retainKeys,
 * $deleteFromPrimitiveList/<field>, $setElementOrder/<field> (tolerated).
 *
 * The merge keys are not in any schema package we can use, so they live in
 * ONE table here (mergeRule), keyed by field name and, where a name means
 * different things (ports), by its parent field.
 */

/** How a list field merges: by a key field (or several), as a set of primitives, or replaced whole. */
export interface ListRule {
  key?: string;
  /** Several key fields together (a custom resource's x-kubernetes-list-map-keys); wins over `key`. */
  keys?: string[];
  primitiveMerge?: boolean;
}

/** The merge rule of the list at a path of field names: the built-in table, or a custom resource's schema. */
export type MergeRules = (path: string[]) => ListRule;

/** The key fields of a rule, if it merges by key. */
export function ruleKeys(rule: ListRule): string[] | undefined {
  return rule.keys?.length ? rule.keys : rule.key ? [rule.key] : undefined;
}

/** The key fields' values of a list item, as JSON (the identity items are matched by). */
function itemIdentity(item: JsonMap, keys: string[]): string {
  return JSON.stringify(keys.map((k) => item[k]));
}

const CONTAINER_LISTS = new Set(["containers", "initContainers", "ephemeralContainers"]);

/** The one table of patch merge keys (x-kubernetes-patch-merge-key) for the built-in kinds. */
const KEYS: Record<string, string> = {
  containers: "name",
  initContainers: "name",
  ephemeralContainers: "name",
  volumes: "name",
  env: "name",
  imagePullSecrets: "name",
  volumeMounts: "mountPath",
  volumeDevices: "devicePath",
  hostAliases: "ip",
  conditions: "type",
  ownerReferences: "uid",
  topologySpreadConstraints: "topologyKey",
  resourceClaims: "name",
  secrets: "name",
  addresses: "type",
  readinessGates: "conditionType",
  containerStatuses: "name",
  initContainerStatuses: "name",
  ephemeralContainerStatuses: "name",
  podIPs: "ip",
  hostIPs: "ip",
  // Validating/MutatingWebhookConfiguration: without it, a re-applied configuration replaced the whole list
  // (its server defaults made every `kubectl apply` say "configured").
  webhooks: "name",
};

/** Merge rule for the list at `path` (field names only, no indices). */
export function mergeRule(path: string[]): ListRule {
  const field = path[path.length - 1];
  const parent = path[path.length - 2];
  if (field === "ports") return { key: parent && CONTAINER_LISTS.has(parent) ? "containerPort" : "port" };
  if (field === "finalizers" && parent === "metadata") return { primitiveMerge: true };
  const key = KEYS[field];
  return key ? { key } : {};
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonMap = { [key: string]: Json };

function isMap(v: unknown): v is JsonMap {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Drop patch directives from a value that is being inserted whole. */
function stripDirectives(value: Json): Json {
  if (Array.isArray(value))
    return value.filter((v) => !(isMap(v) && v.$patch === "delete")).map(stripDirectives);
  if (!isMap(value)) return value;
  const out: JsonMap = {};
  for (const [k, v] of Object.entries(value)) {
    if (k.startsWith("$")) continue;
    if (v === null) continue;
    out[k] = stripDirectives(v);
  }
  return out;
}

function mergeMap(original: JsonMap, patch: JsonMap, path: string[], rules: MergeRules): JsonMap | undefined {
  if (patch.$patch === "replace") return stripDirectives(patch) as JsonMap;
  if (patch.$patch === "delete") return undefined;
  const result: JsonMap = { ...original };
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) continue;
    if (value === null) {
      delete result[key];
    } else if (isMap(value)) {
      const merged = isMap(result[key])
        ? mergeMap(result[key] as JsonMap, value, [...path, key], rules)
        : stripDirectives(value);
      if (merged === undefined) delete result[key];
      else result[key] = merged;
    } else if (Array.isArray(value)) {
      result[key] = mergeList(
        Array.isArray(result[key]) ? (result[key] as Json[]) : [],
        value,
        [...path, key],
        rules,
      );
    } else {
      result[key] = value;
    }
  }
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$deleteFromPrimitiveList/") && Array.isArray(value)) {
      const field = key.slice("$deleteFromPrimitiveList/".length);
      const drop = new Set(value.map((v) => JSON.stringify(v)));
      if (Array.isArray(result[field]))
        result[field] = (result[field] as Json[]).filter((v) => !drop.has(JSON.stringify(v)));
    }
  }
  if (Array.isArray(patch.$retainKeys)) {
    const keep = new Set(patch.$retainKeys.map(String));
    for (const key of Object.keys(result)) if (!keep.has(key)) delete result[key];
  }
  return result;
}

function mergeList(original: Json[], patch: Json[], path: string[], rules: MergeRules): Json[] {
  const rule = rules(path);
  if (patch.some((p) => isMap(p) && p.$patch === "replace" && Object.keys(p).length === 1))
    return patch.filter((p) => !(isMap(p) && p.$patch === "replace")).map(stripDirectives);
  if (rule.primitiveMerge) {
    const out = [...original];
    for (const v of patch) if (!out.some((o) => JSON.stringify(o) === JSON.stringify(v))) out.push(v);
    return out;
  }
  const keys = ruleKeys(rule);
  if (!keys) return patch.map(stripDirectives);
  const out = [...original];
  for (const item of patch) {
    if (!isMap(item)) {
      out.push(item);
      continue;
    }
    const id = itemIdentity(item, keys);
    const index = out.findIndex((o) => isMap(o) && itemIdentity(o, keys) === id);
    if (item.$patch === "delete") {
      if (index >= 0) out.splice(index, 1);
      continue;
    }
    if (index >= 0) {
      const merged = mergeMap(out[index] as JsonMap, item, path, rules);
      if (merged === undefined) out.splice(index, 1);
      else out[index] = merged;
    } else out.push(stripDirectives(item));
  }
  return out;
}

/** Apply a strategic merge patch to a JSON object (neither input is mutated); `rules` say how lists merge. */
export function strategicMergePatch<T>(original: T, patch: unknown, rules: MergeRules = mergeRule): T {
  if (!isMap(patch)) throw new Error("strategic merge patch must be a JSON object");
  const base = isMap(original) ? (original as JsonMap) : {};
  return (mergeMap(structuredClone(base), patch, [], rules) ?? {}) as T;
}
