/**
 * The RBAC objects an isolate authorizes against, indexed by subject, and
 * kept current: an RBAC write made through this isolate marks it stale at
 * once (observe, fed by the registry's write hook), and writes made
 * elsewhere are noticed by comparing the four shards' store revisions at
 * most every `maxAgeMs`. One RbacCache lives per isolate; the store is
 * passed in on every read, never held.
 */
import type {
  ClusterRole,
  ClusterRoleBinding,
  PolicyRule,
  Role,
  RoleBinding,
} from "kubernetes-types/rbac/v1.js";
import type { KubeObject } from "../../client/kube.ts";
import { subjectKey } from "./evaluate.ts";

/** The RBAC API group. */
export const RBAC_GROUP = "rbac.authorization.k8s.io";
/** The four RBAC resources, in the order sources list them. */
const RBAC_RESOURCES = ["clusterroles", "roles", "clusterrolebindings", "rolebindings"] as const;
/** One of the RBAC resources. */
export type RbacResource = (typeof RBAC_RESOURCES)[number];

/** Where the cache reads from: whole collections with their shard revision, and the revision alone. */
export interface RbacSource {
  list(resource: RbacResource): Promise<{ items: KubeObject[]; revision: string }>;
  revision(resource: RbacResource): Promise<string>;
}

/** A binding as the index keeps it: its scope and the role it grants. */
export interface IndexedBinding {
  /** Absent for ClusterRoleBindings (every namespace and the cluster scope). */
  namespace?: string;
  name: string;
  roleKind: string;
  roleName: string;
}

/** RBAC objects at one set of revisions, indexed for lookups by user and group. */
export class RbacSnapshot {
  readonly clusterRoles = new Map<string, PolicyRule[]>();
  /** "namespace/name" → rules. */
  readonly roles = new Map<string, PolicyRule[]>();
  /** "u:<user>" or "g:<group>" → the bindings naming it. */
  readonly bySubject = new Map<string, IndexedBinding[]>();

  constructor(
    readonly revisions: string[],
    objects: Record<RbacResource, KubeObject[]>,
  ) {
    for (const role of objects.clusterroles as ClusterRole[])
      this.clusterRoles.set(role.metadata?.name ?? "", role.rules ?? []);
    for (const role of objects.roles as Role[])
      this.roles.set(`${role.metadata?.namespace}/${role.metadata?.name}`, role.rules ?? []);
    for (const b of objects.clusterrolebindings as unknown as ClusterRoleBinding[]) this.index(b, undefined);
    for (const b of objects.rolebindings as unknown as RoleBinding[])
      this.index(b, b.metadata?.namespace ?? "");
  }

  private index(binding: RoleBinding | ClusterRoleBinding, namespace: string | undefined): void {
    const entry: IndexedBinding = {
      namespace,
      name: binding.metadata?.name ?? "",
      roleKind: binding.roleRef?.kind ?? "",
      roleName: binding.roleRef?.name ?? "",
    };
    const seen = new Set<string>();
    for (const subject of binding.subjects ?? []) {
      const key = subjectKey(subject, namespace ?? "");
      if (!key || seen.has(key)) continue;
      seen.add(key);
      const list = this.bySubject.get(key);
      if (list) list.push(entry);
      else this.bySubject.set(key, [entry]);
    }
  }

  /** The rules a binding grants (a missing role grants nothing, as in kube). */
  rulesOf(binding: IndexedBinding): PolicyRule[] {
    if (binding.roleKind === "ClusterRole") return this.clusterRoles.get(binding.roleName) ?? [];
    if (binding.roleKind === "Role" && binding.namespace !== undefined)
      return this.roles.get(`${binding.namespace}/${binding.roleName}`) ?? [];
    return [];
  }

  /** Bindings that apply to the user in `namespace` (undefined: ClusterRoleBindings only), kube's VisitRulesFor order. */
  bindingsFor(user: { name: string; groups: string[] }, namespace: string | undefined): IndexedBinding[] {
    const out: IndexedBinding[] = [];
    const add = (key: string) => {
      for (const b of this.bySubject.get(key) ?? [])
        if (b.namespace === undefined || (namespace !== undefined && b.namespace === namespace)) out.push(b);
    };
    add(`u:${user.name}`);
    for (const group of user.groups) add(`g:${group}`);
    // ClusterRoleBindings first, as kube visits them before RoleBindings.
    return out.sort((a, b) => Number(a.namespace !== undefined) - Number(b.namespace !== undefined));
  }
}

/** Bounds of an RbacCache. */
export interface RbacCacheOptions {
  /** How long a snapshot is used before the shards' revisions are compared again (default 1 s). */
  maxAgeMs?: number;
  now?: () => number;
}

/** The per-isolate RBAC cache. */
export class RbacCache {
  private snapshot?: RbacSnapshot;
  private checkedAt = Number.NEGATIVE_INFINITY;
  /** Bumped by every observed RBAC write: a load begun before it must not be kept. */
  private generation = 0;
  private loaded = -1;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  /** How many times the objects were (re)read: for tests and the benchmark. */
  loads = 0;

  constructor(options: RbacCacheOptions = {}) {
    this.maxAgeMs = options.maxAgeMs ?? 1000;
    this.now = options.now ?? Date.now;
  }

  /** A write this isolate committed: an RBAC one makes the next read reload. */
  observe(event: { group: string }): void {
    if (event.group !== RBAC_GROUP) return;
    this.generation++;
  }

  /** The current snapshot: cached, revalidated by revision when older than maxAgeMs, or reloaded. */
  async get(source: RbacSource): Promise<RbacSnapshot> {
    const now = this.now();
    const fresh = this.snapshot && this.loaded === this.generation;
    if (fresh && this.snapshot && now - this.checkedAt < this.maxAgeMs) return this.snapshot;
    if (fresh && this.snapshot) {
      const held = this.snapshot;
      const current = await Promise.all(RBAC_RESOURCES.map((r) => source.revision(r)));
      if (current.every((rev, i) => rev === held.revisions[i]) && this.snapshot === held) {
        this.checkedAt = now;
        return held;
      }
    }
    // Each request loads for itself rather than awaiting another's load: in workerd a load begun by a
    // request that is then cancelled may never settle, and every request waiting on it would hang.
    return this.load(source, now, this.generation);
  }

  private async load(source: RbacSource, now: number, generation: number): Promise<RbacSnapshot> {
    const lists = await Promise.all(RBAC_RESOURCES.map((r) => source.list(r)));
    const objects = Object.fromEntries(RBAC_RESOURCES.map((r, i) => [r, lists[i].items])) as Record<
      RbacResource,
      KubeObject[]
    >;
    const snapshot = new RbacSnapshot(
      lists.map((l) => l.revision),
      objects,
    );
    this.loads++;
    // A write observed while loading bumped the generation: serve this once, load again next time.
    // Loads of one generation may finish out of order: never replace a snapshot with an older one.
    const older =
      this.snapshot !== undefined &&
      this.loaded === generation &&
      snapshot.revisions.some((rev, i) => Number(rev) < Number(this.snapshot?.revisions[i]));
    if (generation === this.generation && !older) {
      this.snapshot = snapshot;
      this.loaded = generation;
      this.checkedAt = now;
    }
    return snapshot;
  }
}
