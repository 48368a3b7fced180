/**
 * ControllerRevisions for DaemonSets and StatefulSets, after kube's
 * pkg/controller/history and the two controllers' use of it: one revision per
 * distinct pod template, named `<owner>-<hash>`, whose `data` is the patch
 * kubectl's rollback applies (`{"spec":{"template":{..., "$patch":"replace"}}}`,
 * kube's getPatch). `kubectl rollout history/undo` read these objects.
 *
 * Shared here because both controllers need exactly the same find / create /
 * renumber / truncate rules; each controller only decides which revisions its
 * live pods still use.
 */
import type { KubeObject, ObjectMeta, ResourceRef } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import {
  canonicalJson,
  clone,
  controllerRef,
  type LabelSelector,
  type PodTemplate,
  safeHash,
} from "../reconcile/k8s.ts";
import type { Deps } from "../reconcile/types.ts";
import { ownerRefTo } from "./pods.ts";

/** The label carrying a revision's hash (on revisions, and on DaemonSet/StatefulSet pods). */
export const REVISION_HASH_LABEL = "controller-revision-hash";

/** kube's default spec.revisionHistoryLimit for DaemonSets and StatefulSets. */
const DEFAULT_HISTORY_LIMIT = 10;

/** A ControllerRevision (apps/v1). */
export interface ControllerRevision extends KubeObject {
  metadata: ObjectMeta;
  revision: number;
  data?: unknown;
}

/** What owns revisions: a DaemonSet or StatefulSet (with apiVersion and kind set). */
export interface RevisionOwner extends KubeObject {
  metadata: ObjectMeta;
  spec: { selector: LabelSelector; template: PodTemplate; revisionHistoryLimit?: number };
  status?: { collisionCount?: number; [field: string]: unknown };
}

/**
 * The template's hash (controller.ComputeHash): the collision count is mixed in
 * only when non-zero, so hashes (and pod labels) from before any collision stay put.
 */
export function templateHash(template: PodTemplate, collisionCount = 0): string {
  return safeHash(canonicalJson(template) + (collisionCount ? String(collisionCount) : ""));
}

/** The `data` kube stores: a strategic merge patch that replaces spec.template wholesale. */
function revisionData(template: PodTemplate): unknown {
  return { spec: { template: { ...clone(template), $patch: "replace" } } };
}

/** The owner's revisions (from the cache, copied), oldest revision first. */
export async function ownedRevisions(deps: Deps, owner: RevisionOwner): Promise<ControllerRevision[]> {
  const all = await deps.cache.list<ControllerRevision>(R.controllerrevisions);
  return all
    .filter(
      (r) =>
        r.metadata.namespace === owner.metadata.namespace &&
        controllerRef(r)?.uid === owner.metadata.uid &&
        !r.metadata.deletionTimestamp,
    )
    .map(clone)
    .sort((a, b) => a.revision - b.revision);
}

/**
 * Make the owner's current template the newest revision and return it
 * (DaemonSet constructHistory / StatefulSet getStatefulSetRevisions): a
 * revision with equal data is reused and, when older than the newest, takes
 * the next number (what a rollback looks like); otherwise one is created.
 * A name taken by a different object is a hash collision: status.collisionCount
 * goes up (written to `ownerRef`'s status) and the key is retried with a new hash.
 */
export async function currentRevision(
  deps: Deps,
  ownerRef: ResourceRef,
  owner: RevisionOwner,
  revisions: ControllerRevision[],
): Promise<ControllerRevision> {
  const data = revisionData(owner.spec.template);
  const wanted = canonicalJson(data);
  const existing = revisions.find((r) => canonicalJson(r.data) === wanted);
  const next = Math.max(0, ...revisions.filter((r) => r !== existing).map((r) => r.revision)) + 1;
  const namespace = owner.metadata.namespace;
  if (existing) {
    if (existing.revision >= next) return existing;
    return deps.client.update<ControllerRevision>(R.controllerrevisions, namespace, {
      ...existing,
      revision: next,
    });
  }
  const collisions = owner.status?.collisionCount ?? 0;
  const hash = templateHash(owner.spec.template, collisions);
  const name = `${owner.metadata.name}-${hash}`;
  if (await deps.cache.get(R.controllerrevisions, namespace, name)) {
    // Not ours or not this template (it would have matched above): kube's collision handling.
    const status = { ...owner.status, collisionCount: collisions + 1 };
    await deps.client.update(ownerRef, namespace, { ...owner, status }, { subresource: "status" });
    throw new Error(
      `controllerrevision ${namespace}/${name} exists with other data: collisionCount now ${collisions + 1}`,
    );
  }
  const revision: ControllerRevision = {
    apiVersion: "apps/v1",
    kind: "ControllerRevision",
    metadata: {
      name,
      namespace,
      // The template's labels, as kube's history.NewControllerRevision: they always match the selector
      // (validation ensures it), so kubectl finds the revision whatever form the selector takes.
      labels: { ...owner.spec.template.metadata?.labels, [REVISION_HASH_LABEL]: hash },
      annotations: owner.metadata.annotations ? { ...owner.metadata.annotations } : undefined,
      ownerReferences: [ownerRefTo(owner)],
    },
    data,
    revision: next,
  };
  return deps.client.create<ControllerRevision>(R.controllerrevisions, namespace, revision);
}

/**
 * Delete the oldest revisions beyond spec.revisionHistoryLimit among those no
 * longer in use (StatefulSet truncateHistory). `inUse` holds what live pods
 * (and the owner's status) point at: revision names or hashes, as each kind labels its pods.
 */
export async function truncateHistory(
  deps: Deps,
  owner: RevisionOwner,
  revisions: ControllerRevision[],
  inUse: Set<string>,
): Promise<void> {
  const idle = revisions.filter(
    (r) => !inUse.has(r.metadata.name ?? "") && !inUse.has(r.metadata.labels?.[REVISION_HASH_LABEL] ?? ""),
  );
  const limit = owner.spec.revisionHistoryLimit ?? DEFAULT_HISTORY_LIMIT;
  const doomed = idle.sort((a, b) => a.revision - b.revision).slice(0, Math.max(0, idle.length - limit));
  for (const r of doomed) {
    await deps.client.delete(R.controllerrevisions, r.metadata.namespace, r.metadata.name ?? "");
  }
}
