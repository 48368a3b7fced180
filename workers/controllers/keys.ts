/**
 * How an informer event maps to a controller's keys (sample-controller's
 * event handlers): a controller's own objects by namespace/name, owned objects
 * to their controller's key through the controller ownerReference, anything
 * else to every key. Both the object before and after count, so a pod that
 * changes owner wakes the old owner and the new.
 */
import type { KubeObject } from "../client/kube.ts";
import { controllerRef, keyOf } from "../reconcile/k8s.ts";
import { ALL_KEYS, type ObjectEvent } from "../reconcile/types.ts";

/** The objects of an event whose keys matter: after, and before if it differs. */
const versions = (event: ObjectEvent): KubeObject[] =>
  event.old && event.old !== event.object ? [event.object, event.old] : [event.object];

/** The key of the object that controls `object`, if its controller is of `kind`. */
function ownerKey(object: KubeObject, kind: string): string | undefined {
  const ref = controllerRef(object);
  if (!ref || ref.kind !== kind) return undefined;
  const ns = object.metadata?.namespace;
  return ns ? `${ns}/${ref.name}` : ref.name;
}

/**
 * Key mapping for a controller of `kind` objects stored as `resource`: its own objects by key; objects of
 * `owned` resources to their controller of that kind (objects another controller owns to none); orphans of
 * `owned` to every key if the controller adopts orphans, else to none; any other watched resource to every key.
 */
export function ownerKeys(
  resource: string,
  kind: string,
  owned: string[],
  adopts = false,
): (event: ObjectEvent) => string[] {
  return (event) => {
    if (event.resource === resource) return versions(event).map(keyOf);
    if (!owned.includes(event.resource)) return [ALL_KEYS];
    const out = new Set<string>();
    for (const o of versions(event)) {
      const key = ownerKey(o, kind);
      if (key) out.add(key);
      else if (adopts && !controllerRef(o)) out.add(ALL_KEYS);
    }
    return [...out];
  };
}
