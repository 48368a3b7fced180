/**
 * apiextensions.k8s.io/v1 CustomResourceDefinition. Accepted definitions
 * become rows of the resource table at run time (crd/rows.ts); names that
 * collide are refused here with 422 (admission), so a stored CRD's names are
 * always accepted and it is established at create: the rows are built from
 * the stored CRDs on each isolate's next request (crd/cache.ts), with no
 * controller in between to wait for. Deletion is finalized by the
 * customresourcecleanup controller (workers/controllers/crd).
 */
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionCondition,
} from "kubernetes-types/apiextensions/v1.js";
import type { KubeObject } from "../../client/kube.ts";
import { errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { AdmissionPlugin } from "../admission/chain.ts";
import { validateCRD } from "../crd/validate-crd.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { invalid } from "./validation/errors.ts";

type CRD = CustomResourceDefinition & KubeObject;

/** kube's finalizer on every CRD: its custom resources are deleted before the CRD goes. */
const CRD_CLEANUP_FINALIZER = "customresourcecleanup.apiextensions.k8s.io";

function condition(
  type: string,
  reason: string,
  message: string,
  now: Date,
): CustomResourceDefinitionCondition {
  return { type, status: "True", reason, message, lastTransitionTime: timestamp(now) };
}

/** The status a CRD is stored with: names accepted and established (collisions were refused at admission). */
function acceptedStatus(crd: CRD, now: Date, old?: CRD): CRD["status"] {
  // Runs before validation (prepareFor*): read the body defensively.
  const versions = Array.isArray(crd.spec?.versions) ? crd.spec.versions : [];
  const storage = versions.find((v) => v?.storage)?.name;
  const stored = new Set(old?.status?.storedVersions ?? []);
  if (storage) stored.add(storage);
  const kept = (old?.status?.conditions ?? []).filter(
    (c) => c.type !== "NamesAccepted" && c.type !== "Established",
  );
  const previous = (type: string) =>
    old?.status?.conditions?.find((c) => c.type === type && c.status === "True");
  return {
    conditions: [
      previous("NamesAccepted") ?? condition("NamesAccepted", "NoConflicts", "no conflicts found", now),
      previous("Established") ??
        condition("Established", "InitialNamesAccepted", "the initial names have been accepted", now),
      ...kept,
    ],
    acceptedNames: structuredClone(crd.spec?.names),
    storedVersions: [...stored],
  };
}

/** The CustomResourceDefinition strategy. */
export const crdStrategy: Strategy<CRD> = {
  defaults(crd) {
    const spec = crd.spec;
    if (!spec || typeof spec !== "object") return;
    const names = spec.names;
    if (names && typeof names === "object" && typeof names.kind === "string") {
      names.singular ??= names.kind.toLowerCase();
      names.listKind ??= `${names.kind}List`;
    }
    spec.conversion ??= { strategy: "None" };
  },
  prepareForCreate(crd, ctx) {
    crd.metadata ??= {};
    const meta = crd.metadata;
    // Anything but a list is left for metadata validation to refuse.
    if (meta.finalizers === undefined || Array.isArray(meta.finalizers))
      meta.finalizers = [...new Set([...(meta.finalizers ?? []), CRD_CLEANUP_FINALIZER])];
    crd.status = acceptedStatus(crd, ctx.now);
  },
  prepareForUpdate(crd, old, ctx) {
    crd.status = acceptedStatus(crd, ctx.now, old);
  },
  validate(crd, ctx) {
    const errs = validateCRD(crd);
    if (
      Array.isArray(crd.spec?.versions) &&
      crd.spec.versions.some((v) => hasCel(v?.schema?.openAPIV3Schema))
    )
      ctx.warnings?.push("x-kubernetes-validations (CEL) rules are not evaluated by this server");
    // Operators' charts (cert-manager's and others) declare conversion webhooks; without one being called,
    // every version serves the stored objects with only apiVersion rewritten, as strategy None does.
    if (crd.spec?.conversion?.strategy === "Webhook")
      ctx.warnings?.push(
        "conversion webhooks are not called by this server: versions differ only in apiVersion (as strategy None)",
      );
    return errs;
  },
  validateUpdate(crd, old) {
    const errs: FieldError[] = [];
    if (crd.spec?.group !== old.spec?.group)
      errs.push(invalid("spec.group", crd.spec?.group, "field is immutable"));
    if (crd.spec?.scope !== old.spec?.scope)
      errs.push(invalid("spec.scope", crd.spec?.scope, "field is immutable"));
    if (crd.spec?.names?.plural !== old.spec?.names?.plural)
      errs.push(invalid("spec.names.plural", crd.spec?.names?.plural, "field is immutable"));
    return errs;
  },
  // kube prints NAME and CREATED AT only (no AGE).
  fullRow: true,
  columns: [
    col("Name", "Name must be unique within a namespace.", { format: "name" }),
    col("Created At", "The time the definition was created.", { type: "date" }),
  ],
  row: (crd) => [crd.metadata?.name ?? "", crd.metadata?.creationTimestamp ?? ""],
};

function hasCel(schema: unknown): boolean {
  return JSON.stringify(schema ?? {}).includes('"x-kubernetes-validations"');
}

/** Every name a CRD claims in its group (plural, singular, kind, listKind) and among all short names. */
function claims(crd: CRD): { inGroup: string[]; short: string[] } {
  const n = crd.spec?.names ?? ({} as CRD["spec"]["names"]);
  return {
    inGroup: [n.plural, n.singular, n.kind, n.listKind].filter((x): x is string => !!x),
    short: n.shortNames ?? [],
  };
}

/**
 * Refuses a CRD whose names another CRD or a built-in resource already
 * uses (422): kube reports this as NamesAccepted=False, this server refuses
 * it so that every stored CRD is servable as it is.
 */
export const crdNamesAdmission: AdmissionPlugin = {
  name: "CustomResourceDefinitionNames",
  // After validation, so the names it reads are there and well-formed.
  async validate({ info, object, registry, target }) {
    if (info.group !== "apiextensions.k8s.io" || info.resource !== "customresourcedefinitions") return;
    if (target === "status") return;
    const crd = object as CRD;
    const group = crd.spec?.group;
    const mine = claims(crd);
    const errs: FieldError[] = [];
    const taken = (field: string, value: string) =>
      errs.push(invalid(field, value, `${JSON.stringify(value)} is already in use`));
    for (const row of registry.resources) {
      if (row.customResource) continue;
      const names = [row.resource, row.singular, row.kind];
      if (row.group === group)
        for (const [field, value] of [
          ["plural", crd.spec.names.plural],
          ["singular", crd.spec.names.singular],
          ["kind", crd.spec.names.kind],
        ] as const)
          if (value && names.includes(value)) taken(`spec.names.${field}`, value);
      for (const s of mine.short)
        if (row.shortNames?.includes(s) || row.resource === s) taken("spec.names.shortNames", s);
    }
    const { items } = await registry.list(info, undefined);
    for (const other of items as CRD[]) {
      if (other.metadata?.name === crd.metadata?.name) continue;
      const theirs = claims(other);
      if (other.spec?.group === group)
        for (const value of mine.inGroup) if (theirs.inGroup.includes(value)) taken("spec.names", value);
      for (const s of mine.short) if (theirs.short.includes(s)) taken("spec.names.shortNames", s);
    }
    if (errs.length)
      throw errors.invalid(
        info.kind,
        crd.metadata?.name ?? "",
        [...new Map(errs.map((e) => [e.message, e])).values()],
        info.group,
      );
  },
};
