/**
 * Server-side apply (application/apply-patch+yaml): merge the applied
 * configuration into the live object, detect conflicts with other managers'
 * fields (409 unless force), drop fields this manager applied before but no
 * longer applies (unless someone else owns them), and record ownership.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { appliedBefore, describePath, leaves, otherOwners, setOwnership } from "./managedfields.ts";
import { type MergeRules, mergeRule, strategicMergePatch } from "./strategicpatch.ts";

/** Remove one leaf path (f:/k:/"." segments) from an object. */
function removePath(object: unknown, path: string[]): void {
  let node: unknown = object;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const last = i === path.length - 1 || (i === path.length - 2 && path[i + 1] === ".");
    if (seg.startsWith("f:")) {
      const field = seg.slice(2);
      if (!node || typeof node !== "object" || Array.isArray(node)) return;
      const map = node as Record<string, unknown>;
      if (last && i === path.length - 1) {
        delete map[field];
        return;
      }
      node = map[field];
    } else if (seg.startsWith("k:")) {
      if (!Array.isArray(node)) return;
      const key = JSON.parse(seg.slice(2)) as Record<string, unknown>;
      const index = node.findIndex((item) =>
        Object.entries(key).every(
          ([k, v]) => JSON.stringify((item as Record<string, unknown>)?.[k]) === JSON.stringify(v),
        ),
      );
      if (index < 0) return;
      if (last) {
        node.splice(index, 1);
        return;
      }
      node = node[index];
    }
  }
}

/** Drop maps that became empty after removals, so removed fields leave no husks. */
function pruneEmpty(value: unknown, keep: Set<string>, path: string[] = []): void {
  if (!value || typeof value !== "object" || Array.isArray(value)) return;
  const map = value as Record<string, unknown>;
  for (const [k, v] of Object.entries(map)) {
    pruneEmpty(v, keep, [...path, `f:${k}`]);
    if (v && typeof v === "object" && !Array.isArray(v) && Object.keys(v).length === 0) {
      if (!keep.has(JSON.stringify([...path, `f:${k}`]))) delete map[k];
    }
  }
}

/**
 * Server-side apply of `applied` by `manager` onto `live` (undefined when the
 * object does not exist yet). Returns the merged object with managedFields set.
 */
export function serverSideApply(
  live: KubeObject | undefined,
  applied: KubeObject,
  manager: string,
  force: boolean,
  now: Date,
  rules: MergeRules = mergeRule,
): KubeObject {
  const appliedLeaves = leaves(applied, rules);
  const owned = new Set(appliedLeaves.keys());
  if (!live) {
    const created = structuredClone(applied);
    setOwnership(created, manager, "Apply", owned, new Set(), now);
    return created;
  }
  const liveLeaves = leaves(live, rules);
  const conflicts: { manager: string; path: string }[] = [];
  const taken = new Set<string>();
  for (const { entry, fields } of otherOwners(live, manager)) {
    for (const p of owned) {
      if (!fields.has(p)) continue;
      if (liveLeaves.get(p) !== appliedLeaves.get(p)) {
        conflicts.push({ manager: entry.manager, path: p });
        taken.add(p);
      }
    }
  }
  if (conflicts.length && !force) {
    const causes = conflicts.map((c) => ({
      reason: "FieldManagerConflict",
      message: `conflict with "${c.manager}"`,
      field: describePath(c.path),
    }));
    const list = conflicts.map((c) => `- conflict with "${c.manager}": ${describePath(c.path)}`).join("\n");
    throw new ApiError(
      "Conflict",
      `Apply failed with ${conflicts.length} conflict${conflicts.length > 1 ? "s" : ""}: ${conflicts
        .map((c) => `conflict with "${c.manager}": ${describePath(c.path)}`)
        .join(", ")}\n${list}`,
      { name: live.metadata?.name, kind: live.kind, causes },
    );
  }
  const { metadata: appliedMeta, ...appliedRest } = applied;
  const merged = strategicMergePatch(
    live,
    { ...appliedRest, metadata: { ...appliedMeta } },
    rules,
  ) as KubeObject;
  // Fields this manager applied before and no longer applies are removed, unless another manager owns them.
  const othersOwn = new Set<string>();
  for (const { fields } of otherOwners(live, manager))
    for (const p of fields) if (!taken.has(p)) othersOwn.add(p);
  const dropped = [...appliedBefore(live, manager)].filter((p) => !owned.has(p) && !othersOwn.has(p));
  for (const p of dropped) removePath(merged, JSON.parse(p) as string[]);
  if (dropped.length) pruneEmpty(merged, new Set([...owned, ...othersOwn]));
  merged.metadata = { ...merged.metadata, managedFields: live.metadata?.managedFields };
  setOwnership(merged, manager, "Apply", owned, taken, now);
  return merged;
}
