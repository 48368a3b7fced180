/**
 * The scale subresource: an autoscaling/v1 Scale view of any resource whose
 * table row has subresources.scale (paths of spec.replicas, status.replicas
 * and the selector in the parent).
 */
import type { KubeObject } from "../../client/kube.ts";
import { labelSelectorString } from "../../client/labels.ts";
import { ApiError } from "../../client/status.ts";
import type { LabelSelector } from "../../client/types.ts";
import { conflictError } from "./guaranteed-update.ts";
import { sameVersion } from "./keys.ts";
import type { Registry } from "./registry.ts";
import type { RequestContext, ResourceInfo } from "./types.ts";

function segments(path: string): string[] {
  return path.replace(/^\./, "").split(".").filter(Boolean);
}

/** Read a dotted path ("spec.replicas"). */
function getPath(object: unknown, path: string): unknown {
  let node = object;
  for (const seg of segments(path)) {
    if (node === null || typeof node !== "object") return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/** Write a dotted path, creating maps on the way. */
function setPath(object: Record<string, unknown>, path: string, value: unknown): void {
  const segs = segments(path);
  let node = object;
  for (const seg of segs.slice(0, -1)) {
    if (node[seg] === null || typeof node[seg] !== "object") node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[segs[segs.length - 1]] = value;
}

/** A LabelSelector object in the parent as Scale.status.selector's string ("" when it is not an object). */
function selectorText(selector: unknown): string {
  return selector && typeof selector === "object" ? labelSelectorString(selector as LabelSelector) : "";
}

/** The Scale of an object. */
export function getScale(info: ResourceInfo, object: KubeObject): KubeObject {
  const spec = info.subresources?.scale;
  if (!spec) throw new ApiError("NotFound", "the server could not find the requested resource");
  const selector = spec.labelSelectorPath ? getPath(object, spec.labelSelectorPath) : undefined;
  const meta = object.metadata ?? {};
  return {
    kind: "Scale",
    apiVersion: "autoscaling/v1",
    metadata: {
      name: meta.name,
      namespace: meta.namespace,
      uid: meta.uid,
      resourceVersion: meta.resourceVersion,
      creationTimestamp: meta.creationTimestamp,
    },
    spec: { replicas: Number(getPath(object, spec.specReplicasPath) ?? 0) },
    status: {
      replicas: Number(getPath(object, spec.statusReplicasPath) ?? 0),
      ...(selector !== undefined
        ? { selector: typeof selector === "string" ? selector : selectorText(selector) }
        : {}),
    },
  };
}

/** Write a Scale (computed from the current one) back into its parent; returns the new Scale. */
export async function scaleToParent(
  registry: Registry,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  compute: (current: KubeObject) => KubeObject,
  ctx: RequestContext,
  manager: string,
): Promise<KubeObject> {
  const spec = info.subresources!.scale!;
  const parent = await registry.update(
    info,
    namespace,
    name,
    (current) => {
      const scale = compute(getScale(info, current));
      const replicas = (scale.spec as { replicas?: unknown } | undefined)?.replicas;
      if (typeof replicas !== "number" || !Number.isInteger(replicas) || replicas < 0)
        throw new ApiError(
          "Invalid",
          `Scale.autoscaling "${name}" is invalid: spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
          {
            name,
            group: "autoscaling",
            kind: "Scale",
            causes: [
              {
                reason: "FieldValueInvalid",
                field: "spec.replicas",
                message: `Invalid value: ${JSON.stringify(replicas)}: must be greater than or equal to 0`,
              },
            ],
          },
        );
      const rv = scale.metadata?.resourceVersion;
      // A Scale naming an older resourceVersion is a conflict, as for the parent itself.
      if (rv && !sameVersion(rv, current.metadata?.resourceVersion)) throw conflictError(info, name);
      setPath(current as Record<string, unknown>, spec.specReplicasPath, replicas);
      return current;
    },
    ctx,
    { manager, target: "main" },
  );
  return getScale(info, parent);
}
