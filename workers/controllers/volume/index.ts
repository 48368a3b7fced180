/**
 * The volume controller: kube's PV controller (binding claims to volumes,
 * releasing and reclaiming them) plus the local-path provisioner. Keys are
 * "pvc:<ns>/<name>", "pv:<name>" and "sc" (the default StorageClass exists).
 *
 * Binding follows kube's order, so a crash between writes is repaired by the
 * next reconcile: PV.spec.claimRef, PV status Bound, PVC.spec.volumeName,
 * PVC status Bound. A claim of a WaitForFirstConsumer class waits for the
 * scheduler's selected-node annotation before a volume is made for it.
 */
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import { clone, type Node, splitKey } from "../../reconcile/k8s.ts";
import { matchTerm } from "../../reconcile/placement/filters.ts";
import { parseQuantity } from "../../reconcile/placement/resources.ts";
import type { Controller, Deps, ObjectEvent, Result } from "../../reconcile/types.ts";
import { ALL_KEYS } from "../../reconcile/types.ts";
import {
  CLEANUP_FINALIZER,
  defaultClass,
  LOCAL_PATH_CLEANUP,
  LOCAL_PATH_PROVISIONER,
  type PersistentVolume,
  type PersistentVolumeClaim,
  SELECTED_NODE,
  type StorageClass,
} from "../../reconcile/volumes.ts";
import { LOCAL_PATH_CLASS, localPathVolume, volumeNameFor } from "./provision.ts";

const PROVISIONERS = new Set([LOCAL_PATH_PROVISIONER, "edgeplane.dev/local-path"]);

/** Create or forgive a lost race: someone (or our earlier run) already made it. */
async function ignoreConflict(write: Promise<unknown>): Promise<void> {
  try {
    await write;
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 409)) throw error;
  }
}

/** Does `pv` fit `claim` (class, size, access modes) for static binding? */
function fits(pv: PersistentVolume, claim: PersistentVolumeClaim, className: string | undefined): boolean {
  if (
    pv.spec.claimRef ||
    pv.metadata.deletionTimestamp ||
    (pv.spec.storageClassName ?? "") !== (className ?? "")
  )
    return false;
  const want = parseQuantity(claim.spec.resources?.requests?.storage);
  if (parseQuantity(pv.spec.capacity?.storage) < want) return false;
  return (claim.spec.accessModes ?? []).every((m) => pv.spec.accessModes?.includes(m));
}

/** Does the volume's required nodeAffinity (if any) admit the node? */
function reaches(pv: PersistentVolume, node: Node): boolean {
  const terms = pv.spec.nodeAffinity?.required?.nodeSelectorTerms;
  return (
    !terms?.length || terms.some((t) => matchTerm(t, node.metadata.labels ?? {}, node.metadata.name ?? ""))
  );
}

/** Write PV claimRef + Bound, then PVC volumeName + Bound, skipping what is already so. */
async function bind(deps: Deps, claim: PersistentVolumeClaim, volume: PersistentVolume): Promise<void> {
  let pv = clone(volume);
  if (pv.spec.claimRef?.uid !== claim.metadata.uid) {
    pv.spec.claimRef = {
      apiVersion: "v1",
      kind: "PersistentVolumeClaim",
      namespace: claim.metadata.namespace,
      name: claim.metadata.name,
      uid: claim.metadata.uid,
    };
    pv = await deps.client.update<PersistentVolume>(R.persistentvolumes, undefined, pv);
  }
  if (pv.status?.phase !== "Bound")
    await deps.client.update(
      R.persistentvolumes,
      undefined,
      { ...pv, status: { phase: "Bound" } },
      { subresource: "status" },
    );
  let pvc = clone(claim);
  if (pvc.spec.volumeName !== pv.metadata.name) {
    pvc.spec.volumeName = pv.metadata.name;
    pvc.metadata.annotations = {
      ...pvc.metadata.annotations,
      "pv.kubernetes.io/bind-completed": "yes",
      "pv.kubernetes.io/bound-by-controller": "yes",
    };
    pvc = await deps.client.update<PersistentVolumeClaim>(
      R.persistentvolumeclaims,
      pvc.metadata.namespace,
      pvc,
    );
  }
  if (pvc.status?.phase !== "Bound") {
    const status = { phase: "Bound", accessModes: pv.spec.accessModes, capacity: pv.spec.capacity };
    await deps.client.update(
      R.persistentvolumeclaims,
      pvc.metadata.namespace,
      { ...pvc, status },
      { subresource: "status" },
    );
    await deps.recorder.event(pvc, "Normal", "Bound", `bound to volume ${pv.metadata.name}`);
  }
}

/** Bring one claim to Bound: bind a fitting volume, or provision one where its consumer was scheduled. */
async function reconcileClaim(key: string, deps: Deps): Promise<Result | undefined> {
  const { namespace, name } = splitKey(key);
  const claim = await deps.cache.get<PersistentVolumeClaim>(R.persistentvolumeclaims, namespace, name);
  if (!claim || claim.metadata.deletionTimestamp) return undefined;
  if (claim.spec.volumeName) {
    const pv = await deps.cache.get<PersistentVolume>(R.persistentvolumes, undefined, claim.spec.volumeName);
    if (pv && (!pv.spec.claimRef || pv.spec.claimRef.uid === claim.metadata.uid)) await bind(deps, claim, pv);
    else if (claim.status?.phase !== "Lost") {
      // kube's ClaimLost: the volume it was bound to is gone or taken.
      await deps.client.update(
        R.persistentvolumeclaims,
        namespace,
        { ...claim, status: { phase: "Lost" } },
        { subresource: "status" },
      );
      await deps.recorder.event(claim, "Warning", "ClaimLost", `Bound claim has lost its PersistentVolume.`);
    }
    return undefined;
  }
  const classes = await deps.cache.list<StorageClass>(R.storageclasses);
  const className = claim.spec.storageClassName;
  if (className === undefined) {
    // kube's retroactive default class assignment: the claim is given the default class once there is one.
    const fallback = defaultClass(classes);
    if (fallback) {
      const next = clone(claim);
      next.spec.storageClassName = fallback.metadata.name;
      await deps.client.update(R.persistentvolumeclaims, namespace, next);
      return undefined;
    }
  }
  const sc = classes.find((c) => c.metadata.name === className);
  const selected = claim.metadata.annotations?.[SELECTED_NODE];
  const waits = sc?.volumeBindingMode === "WaitForFirstConsumer";
  // Pre-made volumes first (kube's static binding); for a delayed class only once a node is chosen.
  if (!waits || selected) {
    const volumes = await deps.cache.list<PersistentVolume>(R.persistentvolumes);
    const mine = volumes.find((v) => v.spec.claimRef?.uid === claim.metadata.uid);
    // A delayed claim only takes a pre-made volume its consumer's node can reach (kube's FindMatchingVolume).
    const host = selected ? await deps.cache.get<Node>(R.nodes, undefined, selected) : undefined;
    const reachable = (v: PersistentVolume) => !waits || (host !== undefined && reaches(v, host));
    const match = mine ?? volumes.find((v) => fits(v, claim, className) && reachable(v));
    if (match) {
      await bind(deps, claim, match);
      return undefined;
    }
  }
  if (!sc || !PROVISIONERS.has(sc.provisioner) || !selected) return undefined;
  const node = await deps.cache.get<Node>(R.nodes, undefined, selected);
  if (!node) return undefined; // the scheduler will choose again
  const pv = localPathVolume(claim, sc, node);
  let created: PersistentVolume;
  try {
    created = await deps.client.create<PersistentVolume>(R.persistentvolumes, undefined, pv);
  } catch (error) {
    if (!(error instanceof ApiError && error.code === 409)) throw error;
    return undefined; // made by an earlier run: the PV's event brings this key back
  }
  await deps.recorder.event(
    claim,
    "Normal",
    "ProvisioningSucceeded",
    `Successfully provisioned volume ${volumeNameFor(claim)} on node ${selected}`,
  );
  await bind(deps, claim, created);
  return undefined;
}

/** Release a volume whose claim is gone and reclaim it (Delete: remove its directory, then it). */
async function reconcileVolume(name: string, deps: Deps): Promise<Result | undefined> {
  const pv = await deps.cache.get<PersistentVolume>(R.persistentvolumes, undefined, name);
  if (!pv) return undefined;
  const node = pv.spec.nodeAffinity?.required?.nodeSelectorTerms[0]?.matchExpressions?.[0]?.values?.[0];
  if (pv.metadata.deletionTimestamp) {
    if (!pv.metadata.finalizers?.includes(CLEANUP_FINALIZER)) return undefined;
    // Deleting: wait until the node's agent says the directory is gone (or the node is).
    const host = node ? await deps.cache.get<Node>(R.nodes, undefined, node) : undefined;
    if (host && cleanupList(host).includes(name)) return undefined;
    const next = clone(pv);
    next.metadata.finalizers = next.metadata.finalizers?.filter((f) => f !== CLEANUP_FINALIZER);
    await deps.client.update(R.persistentvolumes, undefined, next);
    return undefined;
  }
  const ref = pv.spec.claimRef;
  if (!ref) {
    if (pv.status?.phase !== "Available")
      await deps.client.update(
        R.persistentvolumes,
        undefined,
        { ...pv, status: { phase: "Available" } },
        { subresource: "status" },
      );
    return undefined;
  }
  const claim = await deps.cache.get<PersistentVolumeClaim>(
    R.persistentvolumeclaims,
    ref.namespace,
    ref.name ?? "",
  );
  if (claim && (!ref.uid || claim.metadata.uid === ref.uid)) return undefined;
  if (pv.status?.phase !== "Released")
    await deps.client.update(
      R.persistentvolumes,
      undefined,
      { ...pv, status: { phase: "Released" } },
      { subresource: "status" },
    );
  if (pv.spec.persistentVolumeReclaimPolicy !== "Delete") return undefined;
  // Ask the node's agent first, then delete: a deleting PV has always been asked for.
  if (pv.metadata.finalizers?.includes(CLEANUP_FINALIZER) && node) await requestCleanup(deps, node, name);
  await deps.client.delete(R.persistentvolumes, undefined, name, { preconditions: { uid: pv.metadata.uid } });
  return undefined;
}

/** The PV names a node is asked to clean. */
function cleanupList(node: Node): string[] {
  return (node.metadata.annotations?.[LOCAL_PATH_CLEANUP] ?? "").split(",").filter(Boolean);
}

/** Add `volume` to the node's cleanup annotation (a merge patch of that one key). */
async function requestCleanup(deps: Deps, nodeName: string, volume: string): Promise<void> {
  const node = await deps.cache.get<Node>(R.nodes, undefined, nodeName);
  if (!node) return;
  const list = cleanupList(node);
  if (list.includes(volume)) return;
  const next = clone(node);
  next.metadata.annotations = {
    ...next.metadata.annotations,
    [LOCAL_PATH_CLEANUP]: [...list, volume].join(","),
  };
  // A CAS update: the agent edits the same list; a conflict is retried with the fresh node.
  await deps.client.update(R.nodes, undefined, next);
}

/** Make the default StorageClass when the cluster has none (k3s ships local-path the same way). */
async function reconcileClasses(deps: Deps): Promise<Result | undefined> {
  const classes = await deps.cache.list<StorageClass>(R.storageclasses);
  if (classes.some((c) => c.metadata.name === LOCAL_PATH_CLASS.metadata.name) || defaultClass(classes))
    return undefined;
  await ignoreConflict(deps.client.create(R.storageclasses, undefined, LOCAL_PATH_CLASS));
  return undefined;
}

/** Reconcile one key of the volume controller. */
export async function reconcileVolumes(key: string, deps: Deps): Promise<Result | undefined> {
  if (key === "sc") return reconcileClasses(deps);
  if (key.startsWith("pvc:")) return reconcileClaim(key.slice(4), deps);
  if (key.startsWith("pv:")) return reconcileVolume(key.slice(3), deps);
  return undefined;
}

/** Which keys an event touches: a claim and its volume wake each other; nodes wake volumes they finished cleaning. */
export function volumeKeysFor(event: ObjectEvent): string[] {
  const meta = event.object.metadata ?? {};
  if (event.resource === "/persistentvolumeclaims") {
    const claim = event.object as PersistentVolumeClaim;
    const keys = [`pvc:${meta.namespace}/${meta.name}`];
    if (claim.spec?.volumeName) keys.push(`pv:${claim.spec.volumeName}`);
    return keys;
  }
  if (event.resource === "/persistentvolumes") {
    const ref = (event.object as PersistentVolume).spec?.claimRef;
    return ref ? [`pv:${meta.name}`, `pvc:${ref.namespace}/${ref.name}`] : [`pv:${meta.name}`];
  }
  if (event.resource === "/nodes") {
    const now = new Set(event.type === "DELETED" ? [] : cleanupList(event.object as Node));
    const before = event.old ? cleanupList(event.old as Node) : [];
    const freed = before.filter((v) => !now.has(v)).map((v) => `pv:${v}`);
    // A node joining is when local storage becomes usable: make sure the default class exists by then, not at
    // the next cron resync (the informers may already be watching nodes, so no poke queues every key).
    return event.type === "ADDED" ? ["sc", ...freed] : freed;
  }
  return ["sc", ALL_KEYS];
}

/** The volume controller (PV binder and local-path provisioner). */
export const volumeController: Controller = {
  name: "volume",
  watches: ["/persistentvolumeclaims", "/persistentvolumes", "storage.k8s.io/storageclasses", "/nodes"],
  keys: async (deps) => [
    "sc",
    ...(await deps.cache.list(R.persistentvolumeclaims)).map(
      (c) => `pvc:${c.metadata?.namespace}/${c.metadata?.name}`,
    ),
    ...(await deps.cache.list(R.persistentvolumes)).map((v) => `pv:${v.metadata?.name}`),
  ],
  keysFor: volumeKeysFor,
  reconcile: reconcileVolumes,
};
