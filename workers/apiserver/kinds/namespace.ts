/**
 * core/v1 Namespace: phase Active on create, the "kubernetes" finalizer that
 * the namespace controller removes once the namespace is empty, and the
 * kubernetes.io/metadata.name label kube-apiserver maintains.
 */

import { errors } from "../../client/status.ts";
import type { Namespace } from "../../client/types.ts";
import { readJsonObject } from "../decode.ts";
import type { CustomSubresource, FieldError, Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { statusSplit } from "./status.ts";
import { obj } from "./util.ts";
import { checkImmutable } from "./validation/errors.ts";
import { validateQualifiedName } from "./validation/names.ts";

const split = statusSplit(() => ({ phase: "Active" }));

function nameLabel(ns: Namespace): void {
  const meta = ns.metadata ?? {};
  ns.metadata = meta;
  if (meta.name) meta.labels = { ...(meta.labels ?? {}), "kubernetes.io/metadata.name": meta.name };
}

function validateFinalizers(ns: Namespace): FieldError[] {
  const finalizers = obj(ns.spec).finalizers;
  if (!Array.isArray(finalizers)) return [];
  return finalizers.flatMap((f, i) => validateQualifiedName(String(f), `spec.finalizers[${i}]`));
}

/** The Namespace strategy. */
export const namespaceStrategy: Strategy<Namespace> = {
  defaults: nameLabel,
  prepareForCreate(ns, ctx) {
    split.prepareForCreate?.(ns, ctx);
    ns.spec = { finalizers: ["kubernetes"] };
  },
  prepareForUpdate(ns, old, ctx) {
    split.prepareForUpdate?.(ns, old, ctx);
    // spec.finalizers only change through namespaces/NAME/finalize.
    if (ctx.subresource !== "finalize") ns.spec = structuredClone(old.spec ?? {});
  },
  prepareForStatusUpdate: split.prepareForStatusUpdate,
  validate: validateFinalizers,
  validateUpdate(ns, old) {
    return checkImmutable(ns.metadata?.name, old.metadata?.name, "metadata.name");
  },
  columns: [col("Status", "The status of the namespace")],
  row: (ns) => [ns.status?.phase ?? ""],
  fieldSelectors: { "status.phase": (ns) => ns.status?.phase ?? "" },
};

/**
 * The finalizers a finalize body sets, once the body is known to be this
 * Namespace (as kube decodes it into one): 400 otherwise, so a stray body
 * cannot empty a namespace's finalizers.
 */
function finalizeBody(body: Namespace, name: string): string[] {
  const isObject = (v: unknown) =>
    v === undefined || (v !== null && typeof v === "object" && !Array.isArray(v));
  if (body.kind !== undefined && body.kind !== "Namespace")
    throw errors.badRequest(
      `the body of a finalize request must be a Namespace, not ${JSON.stringify(body.kind)}`,
    );
  if (body.apiVersion !== undefined && body.apiVersion !== "v1")
    throw errors.badRequest(
      `the body of a finalize request must be a v1 Namespace, not ${JSON.stringify(body.apiVersion)}`,
    );
  if (!isObject(body.metadata) || !isObject(body.spec))
    throw errors.badRequest("metadata and spec of a finalize request must be objects");
  if (body.metadata?.name !== undefined && body.metadata.name !== name)
    throw errors.badRequest(
      `the name of the object (${String(body.metadata.name)}) does not match the name on the URL (${name})`,
    );
  const finalizers = obj(body.spec).finalizers ?? [];
  if (!Array.isArray(finalizers) || finalizers.some((f) => typeof f !== "string"))
    throw errors.badRequest("spec.finalizers must be a list of strings");
  return finalizers as string[];
}

/** PUT namespaces/NAME/finalize: replace spec.finalizers (the namespace controller's last step). */
export const finalize: CustomSubresource = {
  verbs: ["update"],
  kind: "Namespace",
  async handle(req) {
    const info = req.registry.lookup("", "namespaces");
    if (!info) throw errors.internal("namespaces are not registered");
    const body = (await readJsonObject(req.request)) as Namespace;
    const finalizers = finalizeBody(body, req.name);
    const updated = await req.registry.update(
      info,
      undefined,
      req.name,
      (current) => ({ ...structuredClone(current), spec: { ...obj(current.spec), finalizers } }),
      { ...req.ctx, subresource: "finalize" },
    );
    return new Response(JSON.stringify(updated), { headers: { "Content-Type": "application/json" } });
  },
};
