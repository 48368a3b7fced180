/**
 * managedFields: which manager owns which fields (fieldsV1 format), updated
 * on every write, and the field-ownership side of server-side apply.
 *
 * Field sets are kept as maps from a path (JSON array of "f:<field>",
 * "k:{<mergekey>:<value>}", "." segments) to the leaf's JSON value; lists
 * without a merge key are atomic leaves.
 */
import type { KubeObject } from "../../client/kube.ts";
import { timestamp } from "../../client/time.ts";
import { type MergeRules, mergeRule, ruleKeys } from "./strategicpatch.ts";

/** One managedFields entry (metav1.ManagedFieldsEntry). */
export interface ManagedFieldsEntry {
  manager: string;
  operation: "Apply" | "Update";
  apiVersion?: string;
  time?: string;
  fieldsType?: "FieldsV1";
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
}

const SKIP_META = new Set([
  "name",
  "namespace",
  "uid",
  "resourceVersion",
  "generation",
  "creationTimestamp",
  "deletionTimestamp",
  "deletionGracePeriodSeconds",
  "managedFields",
  "selfLink",
]);

/** The k: segment of a keyed list item (`k:{"name":"a"}`), when every item carries every key. */
function keyedItems(value: unknown[], keys: string[] | undefined): boolean {
  return !!keys && value.every((v) => v && typeof v === "object" && keys.every((k) => k in v));
}

function itemSegment(item: Record<string, unknown>, keys: string[]): string {
  return `k:${JSON.stringify(Object.fromEntries(keys.map((k) => [k, item[k]])))}`;
}

/** `path` (JSON array text without its closing "]") extended by one segment. */
function childPath(path: string, seg: string): string {
  return path === "[" ? `[${JSON.stringify(seg)}` : `${path},${JSON.stringify(seg)}`;
}

/**
 * Leaf paths of an object → JSON of the leaf value; `rules` say which lists are keyed. A path is
 * JSON.stringify of its segments, built as text on the way down rather than by stringifying a
 * copied segment array at every leaf (every update of every object walks two objects here).
 */
export function leaves(object: unknown, rules: MergeRules = mergeRule): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (value: unknown, path: string, names: string[]) => {
    if (Array.isArray(value)) {
      const keys = ruleKeys(rules(names));
      if (keys && keyedItems(value, keys)) {
        for (const item of value as Record<string, unknown>[]) {
          const itemPath = childPath(path, itemSegment(item, keys));
          out.set(`${childPath(itemPath, ".")}]`, "");
          walkMap(item, itemPath, names);
        }
        return;
      }
      out.set(`${path}]`, JSON.stringify(value));
      return;
    }
    if (value && typeof value === "object") {
      if (Object.keys(value).length === 0) out.set(`${path}]`, "{}");
      else walkMap(value as Record<string, unknown>, path, names);
      return;
    }
    out.set(`${path}]`, JSON.stringify(value));
  };
  const walkMap = (map: Record<string, unknown>, path: string, names: string[]) => {
    for (const [k, v] of Object.entries(map)) {
      if (v === undefined) continue;
      walk(v, childPath(path, `f:${k}`), [...names, k]);
    }
  };
  if (object && typeof object === "object") {
    for (const [k, v] of Object.entries(object as Record<string, unknown>)) {
      if (k === "apiVersion" || k === "kind" || v === undefined) continue;
      if (k === "metadata" && v && typeof v === "object") {
        for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
          if (SKIP_META.has(mk) || mv === undefined) continue;
          walk(mv, childPath('["f:metadata"', `f:${mk}`), ["metadata", mk]);
        }
        continue;
      }
      walk(v, childPath("[", `f:${k}`), [k]);
    }
  }
  return out;
}

/** fieldsV1 of every field an object sets, built directly (the create fast path; same shape as toFieldsV1(leaves(o).keys())). */
export function objectFieldsV1(object: unknown, rules: MergeRules = mergeRule): Record<string, unknown> {
  const walk = (value: unknown, names: string[], node: Record<string, unknown>) => {
    if (Array.isArray(value)) {
      const keys = ruleKeys(rules(names));
      if (keys && keyedItems(value, keys)) {
        for (const item of value as Record<string, unknown>[]) {
          const child: Record<string, unknown> = { ".": {} };
          node[itemSegment(item, keys)] = child;
          walkMap(item, names, child);
        }
      }
      return;
    }
    if (value && typeof value === "object") walkMap(value as Record<string, unknown>, names, node);
  };
  const walkMap = (map: Record<string, unknown>, names: string[], node: Record<string, unknown>) => {
    for (const [k, v] of Object.entries(map)) {
      if (v === undefined) continue;
      const child: Record<string, unknown> = {};
      node[`f:${k}`] = child;
      walk(v, [...names, k], child);
    }
  };
  const root: Record<string, unknown> = {};
  if (object && typeof object === "object") {
    for (const [k, v] of Object.entries(object as Record<string, unknown>)) {
      if (k === "apiVersion" || k === "kind" || v === undefined) continue;
      if (k === "metadata" && v && typeof v === "object") {
        const meta: Record<string, unknown> = {};
        for (const [mk, mv] of Object.entries(v as Record<string, unknown>)) {
          if (SKIP_META.has(mk) || mv === undefined) continue;
          const child: Record<string, unknown> = {};
          meta[`f:${mk}`] = child;
          walk(mv, ["metadata", mk], child);
        }
        if (Object.keys(meta).length) root["f:metadata"] = meta;
        continue;
      }
      const child: Record<string, unknown> = {};
      root[`f:${k}`] = child;
      walk(v, [k], child);
    }
  }
  return root;
}

/** A set of paths → fieldsV1 nested object. */
export function toFieldsV1(paths: Iterable<string>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  for (const path of paths) {
    let node = root;
    for (const seg of JSON.parse(path) as string[]) {
      node[seg] ??= {};
      node = node[seg] as Record<string, unknown>;
    }
  }
  return root;
}

/** fieldsV1 nested object → set of leaf paths. */
function fromFieldsV1(fields: unknown): Set<string> {
  const out = new Set<string>();
  const walk = (node: unknown, segs: string[]) => {
    const keys = node && typeof node === "object" ? Object.keys(node) : [];
    if (keys.length === 0) {
      if (segs.length) out.add(JSON.stringify(segs));
      return;
    }
    for (const k of keys) walk((node as Record<string, unknown>)[k], [...segs, k]);
  };
  walk(fields, []);
  return out;
}

function entriesOf(object: KubeObject): ManagedFieldsEntry[] {
  const raw = object.metadata?.managedFields;
  return Array.isArray(raw) ? (raw as ManagedFieldsEntry[]) : [];
}

/** Rewrite managedFields: `owned` becomes this manager's set; `taken` is removed from everyone else's. */
export function setOwnership(
  object: KubeObject,
  manager: string,
  operation: "Apply" | "Update",
  owned: Set<string>,
  taken: Set<string>,
  now: Date,
  subresource?: string,
): void {
  const out: ManagedFieldsEntry[] = [];
  let mine: ManagedFieldsEntry | undefined;
  for (const entry of entriesOf(object)) {
    if (
      entry.manager === manager &&
      entry.operation === operation &&
      (entry.subresource ?? "") === (subresource ?? "")
    ) {
      mine = entry;
      continue;
    }
    const fields = fromFieldsV1(entry.fieldsV1);
    let lost = false;
    for (const p of taken) lost = fields.delete(p) || lost;
    // An entry that loses nothing is kept as it is (rebuilding it from its own paths gives the same).
    if (fields.size) out.push(lost ? { ...entry, fieldsV1: toFieldsV1(fields) } : entry);
  }
  if (owned.size) {
    const entry: ManagedFieldsEntry = {
      manager,
      operation,
      apiVersion: object.apiVersion,
      time: timestamp(now),
      fieldsType: "FieldsV1",
      fieldsV1: toFieldsV1(owned),
    };
    if (subresource) entry.subresource = subresource;
    out.push(entry);
  } else if (mine && operation === "Apply") {
    // An applier that now owns nothing is dropped, as in Kubernetes.
  }
  object.metadata ??= {};
  if (out.length) object.metadata.managedFields = out;
  else delete object.metadata.managedFields;
}

/** Record an Update by `manager`: it now owns every field it changed (all fields on create). */
export function trackUpdate(
  old: KubeObject | undefined,
  next: KubeObject,
  manager: string,
  operation: "Update" | "Apply",
  now: Date,
  subresource?: string,
  rules: MergeRules = mergeRule,
): void {
  if (operation === "Apply") return; // apply.ts set ownership already
  if (!old) {
    // Create: the manager owns everything it set; no diff needed.
    const fieldsV1 = objectFieldsV1(next, rules);
    next.metadata ??= {};
    if (Object.keys(fieldsV1).length === 0) return;
    const entry: ManagedFieldsEntry = {
      manager,
      operation,
      apiVersion: next.apiVersion,
      time: timestamp(now),
      fieldsType: "FieldsV1",
      fieldsV1,
    };
    if (subresource) entry.subresource = subresource;
    next.metadata.managedFields = [entry];
    return;
  }
  const before = old ? leaves(old, rules) : new Map<string, string>();
  const after = leaves(next, rules);
  const changed = new Set<string>();
  for (const [p, v] of after) if (before.get(p) !== v) changed.add(p);
  const removed = new Set<string>();
  for (const p of before.keys()) if (!after.has(p)) removed.add(p);
  if (!changed.size && !removed.size && old) return;
  const previous = entriesOf(next).find(
    (e) => e.manager === manager && e.operation === "Update" && (e.subresource ?? "") === (subresource ?? ""),
  );
  const owned = previous ? fromFieldsV1(previous.fieldsV1) : new Set<string>();
  for (const p of removed) owned.delete(p);
  for (const p of changed) owned.add(p);
  setOwnership(next, manager, "Update", owned, new Set([...changed, ...removed]), now, subresource);
}

/** Owned field sets of every other manager, for conflict detection. */
export function otherOwners(
  object: KubeObject,
  manager: string,
): { entry: ManagedFieldsEntry; fields: Set<string> }[] {
  return entriesOf(object)
    .filter((e) => !(e.manager === manager && e.operation === "Apply"))
    .map((entry) => ({ entry, fields: fromFieldsV1(entry.fieldsV1) }));
}

/** The fields this manager applied last time. */
export function appliedBefore(object: KubeObject, manager: string): Set<string> {
  const entry = entriesOf(object).find((e) => e.manager === manager && e.operation === "Apply");
  return entry ? fromFieldsV1(entry.fieldsV1) : new Set();
}

/** A path as Kubernetes prints it in conflicts: .spec.template.spec.containers[name="x"].image */
export function describePath(path: string): string {
  let out = "";
  for (const seg of JSON.parse(path) as string[]) {
    if (seg.startsWith("f:")) out += `.${seg.slice(2)}`;
    else if (seg.startsWith("k:")) {
      const key = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      out += `[${Object.entries(key)
        .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
        .join(",")}]`;
    }
  }
  return out;
}
