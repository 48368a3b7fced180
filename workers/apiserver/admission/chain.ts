/**
 * The admission chain (kube's admission plugins): an ordered list of
 * plugins the registry runs on every create, update and delete, in one
 * place. Each plugin's `admit` runs before the object's validation (kube's
 * mutating phase) and its `validate` after it (kube's validating phase), so
 * the order is every admit in list order, then the strategy's validation,
 * then every validate in list order. A delete runs only the validating
 * phase (kube's rest.ValidateObjectFunc), through `validateDelete`, and a
 * CONNECT (pods/exec, attach, portforward) through `validateConnect`: a
 * plugin names those only when they concern it.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { Registry } from "../registry/registry.ts";
import type { RequestContext, ResourceInfo } from "../registry/types.ts";

/** kube's admission.Operation. CONNECT: pods/exec, attach and portforward, validating phase only. */
export type Operation = "CREATE" | "UPDATE" | "DELETE" | "CONNECT";

/** What every operation's attributes carry. */
interface SharedAttributes {
  info: ResourceInfo;
  /** Which part an update writes: main (spec side), status, or raw (subresource handlers). */
  target?: "main" | "status" | "raw";
  registry: Registry;
  ctx: RequestContext;
}

/** A create or update: the object as it will be stored, and the stored one an update replaces. */
interface WriteAttributes<Op extends "CREATE" | "UPDATE"> extends SharedAttributes {
  operation: Op;
  /** The object as it will be stored (prepared by the strategy, not yet validated in admit). */
  object: KubeObject;
  /** The stored object an update replaces. */
  old?: KubeObject;
}

/** A delete: no new object (kube's nil GetObject()), the stored object, and the request's DeleteOptions. */
interface DeleteAttributes extends SharedAttributes {
  operation: "DELETE";
  object?: undefined;
  /** The object as stored when the delete is decided. */
  old: KubeObject;
  /** metav1.DeleteOptions as JSON (kind DeleteOptions, apiVersion meta.k8s.io/v1). */
  options: Record<string, unknown>;
}

/** A CONNECT (pods/exec, attach, portforward): the request's options object and the pod it reaches. */
interface ConnectAttributes extends SharedAttributes {
  operation: "CONNECT";
  /** PodExecOptions, PodAttachOptions or PodPortForwardOptions, as kube decodes them from the query. */
  object: KubeObject;
  old?: undefined;
  /** The pod's name and namespace (the options object has no metadata). */
  name: string;
  namespace?: string;
}

/**
 * What a plugin is shown: kube's admission.Attributes, per operation. The
 * default is a create or update (object always set), so plugins that only
 * handle those need no checks; AdmissionAttributes<Operation> is every kind.
 */
export type AdmissionAttributes<Op extends Operation = "CREATE" | "UPDATE"> = Op extends "DELETE"
  ? DeleteAttributes
  : Op extends "CONNECT"
    ? ConnectAttributes
    : Op extends "CREATE" | "UPDATE"
      ? WriteAttributes<Op>
      : never;

/** One admission plugin; every hook is optional and throws an ApiError to refuse. */
export interface AdmissionPlugin {
  /** The plugin's kube name, for readers and error messages. */
  name: string;
  /** Before validation (NamespaceLifecycle, NodeRestriction). */
  admit?(attrs: AdmissionAttributes): void | Promise<void>;
  /** After validation (PodSecurity). */
  validate?(attrs: AdmissionAttributes): void | Promise<void>;
  /** Before a delete is written (validating webhooks); plugins without it never see deletes. */
  validateDelete?(attrs: AdmissionAttributes<"DELETE">): void | Promise<void>;
  /** Before a connection is made (validating webhooks); plugins without it never see CONNECT. */
  validateConnect?(attrs: AdmissionAttributes<"CONNECT">): void | Promise<void>;
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

/** Run the chain's delete validation, in list order, before the delete (or its deletionTimestamp) is written. */
export async function runDeleteAdmission(
  chain: readonly AdmissionPlugin[],
  attrs: AdmissionAttributes<"DELETE">,
): Promise<void> {
  for (const plugin of chain) await plugin.validateDelete?.(attrs);
}

/** Run the chain's connect validation, in list order, before the stream is opened. */
export async function runConnectAdmission(
  chain: readonly AdmissionPlugin[],
  attrs: AdmissionAttributes<"CONNECT">,
): Promise<void> {
  for (const plugin of chain) await plugin.validateConnect?.(attrs);
}
