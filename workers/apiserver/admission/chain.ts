/**
 * The admission chain (kube's admission plugins): an ordered list of
 * plugins the registry runs on every create and update, in one place. Each
 * plugin's `admit` runs before the object's validation (kube's mutating
 * phase) and its `validate` after it (kube's validating phase), so the
 * order is every admit in list order, then the strategy's validation, then
 * every validate in list order.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { Registry } from "../registry/registry.ts";
import type { RequestContext, ResourceInfo } from "../registry/types.ts";

/** What a plugin is shown: kube's admission.Attributes. */
export interface AdmissionAttributes {
  operation: "CREATE" | "UPDATE";
  info: ResourceInfo;
  /** The object as it will be stored (prepared by the strategy, not yet validated in admit). */
  object: KubeObject;
  /** The stored object an update replaces. */
  old?: KubeObject;
  /** Which part an update writes: main (spec side), status, or raw (subresource handlers). */
  target?: "main" | "status" | "raw";
  registry: Registry;
  ctx: RequestContext;
}

/** One admission plugin; both hooks are optional and throw an ApiError to refuse. */
export interface AdmissionPlugin {
  /** The plugin's kube name, for readers and error messages. */
  name: string;
  /** Before validation (NamespaceLifecycle, NodeRestriction). */
  admit?(attrs: AdmissionAttributes): void | Promise<void>;
  /** After validation (PodSecurity). */
  validate?(attrs: AdmissionAttributes): void | Promise<void>;
}

/** Run the chain around the object's own validation, which throws 422 with every field error. */
export async function runAdmission(
  chain: readonly AdmissionPlugin[],
  attrs: AdmissionAttributes,
  validateObject: () => void,
): Promise<void> {
  for (const plugin of chain) await plugin.admit?.(attrs);
  validateObject();
  for (const plugin of chain) await plugin.validate?.(attrs);
}
