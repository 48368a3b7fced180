/**
 * A stored CustomResourceDefinition → rows of the resource table, one per
 * served version: scope, names, short names, categories, status and scale
 * subresources, printer columns, and one generic strategy that prunes,
 * defaults and validates against the version's schema (schema.ts).
 */
import type {
  CustomResourceColumnDefinition,
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
} from "kubernetes-types/apiextensions/v1.js";
import type { KubeObject } from "../../client/kube.ts";
import { humanDuration } from "../registry/table.ts";
import {
  type ColumnDefinition,
  DEFAULT_VERBS,
  defineResource,
  type ResourceInfo,
  type Strategy,
} from "../registry/types.ts";
import { evaluate, parseJsonPath } from "./jsonpath.ts";
import { listRules } from "./list-rules.ts";
import { customResourceOpenAPI, modelName } from "./openapi.ts";
import { type CompiledSchema, compileSchema } from "./schema.ts";

const NAME_COLUMN: ColumnDefinition = {
  name: "Name",
  type: "string",
  format: "name",
  description: "Name must be unique within a namespace.",
  priority: 0,
};

/** kube's column when a CRD declares none. */
const AGE_COLUMN: CustomResourceColumnDefinition = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
};

/** One printer-column cell as kube's CRD table convertor makes it: typed, dates as ages, absent as null. */
function cell(column: CustomResourceColumnDefinition, values: unknown[], now: Date): unknown {
  if (values.length === 0) return null;
  const value =
    values.length === 1
      ? values[0]
      : values.map((v) => (typeof v === "object" ? JSON.stringify(v) : String(v))).join(",");
  switch (column.type) {
    case "date": {
      const t = typeof value === "string" ? Date.parse(value) : Number.NaN;
      return Number.isNaN(t) ? null : humanDuration(now.getTime() - t);
    }
    case "integer":
    case "number":
      return typeof value === "number" ? value : null;
    case "boolean":
      return typeof value === "boolean" ? value : null;
    default:
      return typeof value === "object" ? JSON.stringify(value) : String(value);
  }
}

/** The generic strategy of one version: prune, default, validate by its schema; print its columns. */
function customStrategy(
  version: CustomResourceDefinitionVersion,
  schema: CompiledSchema,
): Strategy<KubeObject & Record<string, unknown>> {
  const hasStatus = !!version.subresources?.status;
  const declared = version.additionalPrinterColumns?.length ? version.additionalPrinterColumns : [AGE_COLUMN];
  const columns = declared.map((c) => ({ def: c, steps: parseJsonPath(c.jsonPath) }));
  return {
    defaults(object) {
      schema.prune(object);
      schema.applyDefaults(object);
    },
    prepareForCreate(object) {
      // With a status subresource, status is written only through it (kube's customResourceStrategy).
      if (hasStatus) delete object.status;
    },
    prepareForStatusUpdate(object) {
      schema.prune(object);
      schema.applyDefaults(object);
    },
    // kube bumps generation on any change outside metadata, and outside status too when status is a subresource.
    specChanged(object, old) {
      const rest = (o: Record<string, unknown>) => {
        const { metadata: _m, status, ...others } = o;
        return JSON.stringify(hasStatus ? others : { ...others, status });
      };
      return rest(object) !== rest(old);
    },
    validate: (object) => schema.validate(object),
    validateStatusUpdate: (object) => schema.validate(object),
    fullRow: true,
    columns: [
      NAME_COLUMN,
      ...declared.map((c) => ({
        name: c.name,
        type: c.type as ColumnDefinition["type"],
        description: c.description ?? "",
        priority: c.priority ?? 0,
        ...(c.format ? { format: c.format } : {}),
      })),
    ],
    row: (object, now) => [
      object.metadata?.name ?? "",
      ...columns.map(({ def, steps }) => (steps ? cell(def, evaluate(steps, object), now) : null)),
    ],
  };
}

const KUBE_VERSION = /^v(\d+)(?:(alpha|beta)(\d+))?$/;

/** kube's version priority (GA > beta > alpha, higher numbers first, other names last, alphabetically): discovery's order and preferred version. */
function compareVersions(a: string, b: string): number {
  const rank = (v: string): [number, number, number] | undefined => {
    const m = KUBE_VERSION.exec(v);
    if (!m) return undefined;
    return [m[2] === undefined ? 3 : m[2] === "beta" ? 2 : 1, Number(m[1]), Number(m[3] ?? 0)];
  };
  const ra = rank(a);
  const rb = rank(b);
  if (!ra || !rb) return ra ? -1 : rb ? 1 : a.localeCompare(b);
  for (let i = 0; i < 3; i++) if (ra[i] !== rb[i]) return rb[i] - ra[i];
  return 0;
}

/** The rows a CRD adds: one per served version, highest priority first (none while it is being deleted with no served version left). */
export function rowsForCRD(crd: CustomResourceDefinition): ResourceInfo[] {
  const { group, names, scope } = crd.spec;
  const terminating = !!crd.metadata?.deletionTimestamp;
  return crd.spec.versions
    .filter((v) => v.served)
    .sort((a, b) => compareVersions(a.name, b.name))
    .map((version) => {
      const openAPIV3Schema = version.schema?.openAPIV3Schema ?? {
        type: "object",
        "x-kubernetes-preserve-unknown-fields": true,
      };
      const schema = compileSchema(openAPIV3Schema);
      const scale = version.subresources?.scale;
      const openapi = customResourceOpenAPI(crd, version, openAPIV3Schema);
      return defineResource<KubeObject & Record<string, unknown>>({
        group,
        version: version.name,
        resource: names.plural,
        singular: names.singular ?? names.kind.toLowerCase(),
        kind: names.kind,
        namespaced: scope === "Namespaced",
        shortNames: names.shortNames,
        categories: names.categories,
        // A terminating CRD takes no new objects (kube answers creates with 405 until it is gone).
        verbs: terminating ? DEFAULT_VERBS.filter((v) => v !== "create") : DEFAULT_VERBS,
        subresources: {
          status: !!version.subresources?.status,
          ...(scale
            ? {
                scale: {
                  specReplicasPath: scale.specReplicasPath,
                  statusReplicasPath: scale.statusReplicasPath,
                  labelSelectorPath: scale.labelSelectorPath,
                },
              }
            : {}),
        },
        model: modelName(group, version.name, names.kind),
        strategy: customStrategy(version, schema),
        customResource: {
          prune: (object) => schema.prune(object as Record<string, unknown>),
          openapi,
          hash: `${crd.metadata?.uid ?? ""}/${crd.metadata?.resourceVersion ?? ""}`,
          listKind: names.listKind ?? `${names.kind}List`,
          listRules: listRules(openAPIV3Schema),
        },
      });
    });
}
