/**
 * The generated model table (schemas.generated.json, from
 * scripts/gen-openapi.ts) and its translation into OpenAPI v3 component
 * schemas, as kube-apiserver publishes them (refs wrapped in allOf so a
 * property keeps its own description; x-kubernetes-* extensions).
 */
import { METRICS_MODELS } from "../metrics/models.ts";
import { mergeRule } from "../registry/strategicpatch.ts";
import generated from "./schemas.generated.json";

/** One property: client-node's type string ("Array<V1Container>", "{ [key: string]: string; }", "IntOrString"...), format, description. */
export interface ModelProperty {
  t: string;
  f?: string;
  d?: string;
}

/** One model as generated. */
export interface Model {
  name: string;
  description?: string;
  required?: string[];
  properties: Record<string, ModelProperty>;
}

/** Every model reachable from the served kinds, by @kubernetes/client-node name (plus metrics.k8s.io's, which it lacks). */
export const MODELS: Record<string, Model> = {
  ...(generated as { models: Record<string, Model> }).models,
  ...METRICS_MODELS,
};

/** Where the schemas came from (package and version), for the document's info block. */
export const SCHEMA_SOURCE: string = (generated as { source: string }).source;

/** Content hash of the generated models (computed by the generator). */
export const SCHEMA_HASH: string = (generated as { hash: string }).hash;

/** A JSON schema object. */
export type Schema = Record<string, unknown>;

const INT_OR_STRING = "io.k8s.apimachinery.pkg.util.intstr.IntOrString";
const PATCH = "io.k8s.apimachinery.pkg.apis.meta.v1.Patch";
const REF = "#/components/schemas/";

/** Components that are not client-node models: IntOrString and the Patch body. */
export const SPECIAL_SCHEMAS: Record<string, Schema> = {
  // As kube-openapi's v3 definition: anyOf without a top-level type, so `kubectl explain` prints <IntOrString>.
  [INT_OR_STRING]: {
    anyOf: [{ type: "integer" }, { type: "string" }],
    format: "int-or-string",
    description:
      "IntOrString is a type that can hold an int32 or a string.  When used in JSON or YAML marshalling and unmarshalling, it produces or consumes the inner type.  This allows you to have, for example, a JSON field that can accept a name or number.",
  },
  [PATCH]: {
    type: "object",
    description: "Patch is provided to give a concrete name and type to the Kubernetes PATCH request body.",
  },
};

/** The component name of the Patch body schema. */
export const PATCH_SCHEMA = PATCH;

/** The $ref to a component. */
export function ref(name: string): Schema {
  return { $ref: REF + name };
}

const ARRAY = /^Array<(.*)>$/;
const MAP = /^\{ \[key: string\]: (.*); \}$/;

/** The element/value type of an array or map type string, or undefined. */
export function innerType(t: string): { kind: "array" | "map"; of: string } | undefined {
  const a = ARRAY.exec(t);
  if (a) return { kind: "array", of: a[1] };
  const m = MAP.exec(t);
  return m ? { kind: "map", of: m[1] } : undefined;
}

/** The OpenAPI schema for a client-node type string; `refs` collects referenced models. */
function typeSchema(t: string, format: string | undefined, refs: Set<string>): Schema {
  const inner = innerType(t);
  if (inner?.kind === "array") return { type: "array", items: typeSchema(inner.of, undefined, refs) };
  if (inner?.kind === "map")
    return { type: "object", additionalProperties: typeSchema(inner.of, undefined, refs) };
  switch (t) {
    case "string":
      return format ? { type: "string", format } : { type: "string" };
    case "number":
      return format === "int32" || format === "int64"
        ? { type: "integer", format }
        : { type: "number", format: format || "double" };
    case "boolean":
      return { type: "boolean" };
    case "Date":
    case "V1MicroTime":
      return { type: "string", format: "date-time" };
    case "IntOrString":
      return { allOf: [ref(INT_OR_STRING)] };
    case "any":
      return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
    case "object":
      return { type: "object" };
  }
  const model = MODELS[t];
  if (!model) return { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  refs.add(t);
  return { allOf: [ref(model.name)], default: {} };
}

/** Containers name their ports by containerPort; everywhere else mergeRule keys by field name alone. */
const CONTAINER_MODELS = new Set(["V1Container", "V1EphemeralContainer"]);

/** The component schema of a model; `refs` collects the models it references. */
export function modelSchema(modelName: string, refs: Set<string>): Schema {
  const model = MODELS[modelName];
  const properties: Record<string, Schema> = {};
  for (const [field, p] of Object.entries(model.properties)) {
    const schema = typeSchema(p.t, p.f, refs);
    if (p.d) schema.description = p.d;
    const inner = innerType(p.t);
    if (inner?.kind === "array") {
      // kubectl computes client-side strategic merge patches from these, so they must agree with the server's table.
      const parent = CONTAINER_MODELS.has(modelName)
        ? "containers"
        : modelName === "V1ObjectMeta"
          ? "metadata"
          : "";
      const rule = mergeRule([parent, field]);
      const item = MODELS[inner.of];
      if (rule.key && item?.properties[rule.key]) {
        schema["x-kubernetes-patch-merge-key"] = rule.key;
        schema["x-kubernetes-patch-strategy"] = "merge";
      } else if (rule.primitiveMerge) {
        schema["x-kubernetes-patch-strategy"] = "merge";
      }
    }
    properties[field] = schema;
  }
  const schema: Schema = { type: "object" };
  if (model.description) schema.description = model.description;
  if (model.required?.length) schema.required = model.required;
  schema.properties = properties;
  return schema;
}
