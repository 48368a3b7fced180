/**
 * Validation of a CustomResourceDefinition (apiextensions' validation.go):
 * names, group, scope, versions (exactly one storage, unique names), the
 * structural-schema rules this server relies on, subresources and printer
 * columns. Returns every error, worded as kube's.
 */
import type {
  CustomResourceDefinition,
  CustomResourceDefinitionVersion,
} from "kubernetes-types/apiextensions/v1.js";
import { forbidden, invalid, notSupported, required } from "../kinds/validation/errors.ts";
import { validateDNS1123Subdomain } from "../kinds/validation/names.ts";
import type { FieldError } from "../registry/types.ts";
import type { SchemaProps as JSONSchemaProps } from "./types.ts";

const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const COLUMN_TYPES = ["integer", "number", "string", "boolean", "date"];
const SCHEMA_TYPES = ["object", "array", "string", "integer", "number", "boolean"];

function label(value: unknown, field: string, errs: FieldError[]): void {
  if (typeof value !== "string" || value === "") errs.push(required(field, ""));
  else if (!DNS1035_LABEL.test(value) || value.length > 63)
    errs.push(
      invalid(
        field,
        value,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ),
    );
}

/**
 * A group ending in + or * that is itself repeated by + or * ("(a+)+", "(\\w*)*"). JavaScript regexes
 * backtrack (kube's RE2 does not), so such patterns could stall validation; refused at CRD time. A heuristic
 * over innermost groups, not a proof of safety.
 */
const NESTED_QUANTIFIER = /\((?:[^()\\]|\\.)*[+*]\)[+*]/;

const JUNCTOR_FORBIDDEN = ["type", "default", "nullable", "additionalProperties", "description"] as const;

/** Inside allOf/anyOf/oneOf/not a structural schema only repeats constraints: none of these may be set. */
function validateJunctors(schema: JSONSchemaProps, path: string, errs: FieldError[]): void {
  const subs: [string, JSONSchemaProps][] = [
    ...(["allOf", "anyOf", "oneOf"] as const).flatMap((j) =>
      (schema[j] ?? []).map((sub, i): [string, JSONSchemaProps] => [`${path}.${j}[${i}]`, sub]),
    ),
    ...(schema.not ? [[`${path}.not`, schema.not] as [string, JSONSchemaProps]] : []),
  ];
  // controller-gen writes IntOrString as x-kubernetes-int-or-string with anyOf [integer, string]; kube allows that.
  const intOrString = schema["x-kubernetes-int-or-string"] === true;
  for (const [at, sub] of subs) {
    if (intOrString && Object.keys(sub).length === 1 && (sub.type === "integer" || sub.type === "string"))
      continue;
    checkJunctorBody(sub, at, errs);
  }
}

function checkJunctorBody(schema: JSONSchemaProps, path: string, errs: FieldError[]): void {
  if (!validateKeywordTypes(schema, path, errs)) return;
  for (const field of JUNCTOR_FORBIDDEN)
    if (schema[field] !== undefined)
      errs.push(forbidden(`${path}.${field}`, "must be empty to be structural"));
  for (const [name, sub] of Object.entries(schema.properties ?? {}))
    checkJunctorBody(sub, `${path}.properties[${name}]`, errs);
  if (schema.items && !Array.isArray(schema.items)) checkJunctorBody(schema.items, `${path}.items`, errs);
  validateJunctors(schema, path, errs);
}

/** The structural rules the engine (schema.ts) depends on: a type at every level, no uniqueItems, no additionalProperties: false. */
/** What each keyword must hold (kube decodes a CRD into typed Go structs, so a wrong type is refused there). */
const KEYWORD_TYPES: Record<string, (v: unknown) => boolean> = {
  type: (v) => typeof v === "string",
  format: (v) => typeof v === "string",
  pattern: (v) => typeof v === "string",
  description: (v) => typeof v === "string",
  title: (v) => typeof v === "string",
  nullable: (v) => typeof v === "boolean",
  exclusiveMinimum: (v) => typeof v === "boolean",
  exclusiveMaximum: (v) => typeof v === "boolean",
  uniqueItems: (v) => typeof v === "boolean",
  minimum: (v) => typeof v === "number",
  maximum: (v) => typeof v === "number",
  multipleOf: (v) => typeof v === "number" && v > 0,
  minLength: isCount,
  maxLength: isCount,
  minItems: isCount,
  maxItems: isCount,
  minProperties: isCount,
  maxProperties: isCount,
  enum: Array.isArray,
  required: (v) => Array.isArray(v) && v.every((x) => typeof x === "string"),
  properties: (v) => isPlainObject(v) && Object.values(v as object).every(isPlainObject),
  items: isPlainObject,
  additionalProperties: (v) => typeof v === "boolean" || isPlainObject(v),
  allOf: isSchemaList,
  anyOf: isSchemaList,
  oneOf: isSchemaList,
  not: isPlainObject,
  "x-kubernetes-preserve-unknown-fields": (v) => typeof v === "boolean",
  "x-kubernetes-int-or-string": (v) => typeof v === "boolean",
  "x-kubernetes-embedded-resource": (v) => typeof v === "boolean",
  "x-kubernetes-list-type": (v) => v === "atomic" || v === "set" || v === "map",
  "x-kubernetes-map-type": (v) => v === "atomic" || v === "granular",
  "x-kubernetes-list-map-keys": (v) => Array.isArray(v) && v.every((x) => typeof x === "string"),
};

function isPlainObject(v: unknown): boolean {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

function isCount(v: unknown): boolean {
  return typeof v === "number" && Number.isInteger(v) && v >= 0;
}

function isSchemaList(v: unknown): boolean {
  return Array.isArray(v) && v.every(isPlainObject);
}

/** Keywords holding the wrong kind of value; true when the node can be walked further. */
function validateKeywordTypes(schema: JSONSchemaProps, path: string, errs: FieldError[]): boolean {
  if (!isPlainObject(schema)) {
    errs.push(invalid(path, schema, "must be an object"));
    return false;
  }
  let ok = true;
  for (const [keyword, check] of Object.entries(KEYWORD_TYPES)) {
    const value = (schema as Record<string, unknown>)[keyword];
    if (value !== undefined && !check(value)) {
      errs.push(invalid(`${path}.${keyword}`, value, "has the wrong type for this keyword"));
      ok = false;
    }
  }
  return ok;
}

function validateStructural(schema: JSONSchemaProps, path: string, errs: FieldError[], root = false): void {
  if (!validateKeywordTypes(schema, path, errs)) return;
  const preserve = schema["x-kubernetes-preserve-unknown-fields"] === true;
  const intOrString = schema["x-kubernetes-int-or-string"] === true;
  if (!schema.type) {
    if (!preserve && !intOrString)
      errs.push(required(`${path}.type`, "must not be empty for specified object fields"));
  } else if (!SCHEMA_TYPES.includes(schema.type))
    errs.push(notSupported(`${path}.type`, schema.type, SCHEMA_TYPES));
  const meta = root ? schema.properties?.metadata : undefined;
  if (meta && isPlainObject(meta)) {
    const extra = Object.keys(meta).filter((k) => k !== "type" && k !== "properties");
    const fields = Object.keys(meta.properties ?? {}).filter((k) => k !== "name" && k !== "generateName");
    if (extra.length || fields.length || (meta.type !== undefined && meta.type !== "object"))
      errs.push(
        forbidden(
          `${path}.properties[metadata]`,
          "must not specify anything other than name and generateName, but metadata is implicitly specified",
        ),
      );
  }
  if (root && schema.type && schema.type !== "object")
    errs.push(invalid(`${path}.type`, schema.type, "must be object at the root"));
  if (intOrString && schema.type)
    errs.push(forbidden(`${path}.type`, "must be empty if x-kubernetes-int-or-string is true"));
  if (schema.uniqueItems === true)
    errs.push(
      forbidden(
        `${path}.uniqueItems`,
        "uniqueItems cannot be set to true since the runtime complexity becomes quadratic",
      ),
    );
  if (schema.additionalProperties === false)
    errs.push(forbidden(`${path}.additionalProperties`, "additionalProperties cannot be set to false"));
  if (schema.additionalProperties && typeof schema.additionalProperties === "object" && schema.properties)
    errs.push(
      forbidden(`${path}.additionalProperties`, "additionalProperties and properties are mutual exclusive"),
    );
  validateJunctors(schema, path, errs);
  if (schema.$ref !== undefined) errs.push(forbidden(`${path}.$ref`, "$ref is not supported"));
  if (schema.pattern !== undefined) {
    try {
      new RegExp(schema.pattern);
      if (NESTED_QUANTIFIER.test(schema.pattern))
        errs.push(
          invalid(
            `${path}.pattern`,
            schema.pattern,
            "a repeated group that itself repeats (such as (a+)+) is refused: it can make matching take exponential time",
          ),
        );
    } catch {
      errs.push(invalid(`${path}.pattern`, schema.pattern, "must be a valid regular expression"));
    }
  }
  if (schema["x-kubernetes-list-type"] === "map" && !schema["x-kubernetes-list-map-keys"]?.length)
    errs.push(
      required(`${path}.x-kubernetes-list-map-keys`, "must not be empty if x-kubernetes-list-type is map"),
    );
  if (schema.type === "array" && !schema.items) errs.push(required(`${path}.items`, "must be specified"));
  for (const [name, sub] of Object.entries(schema.properties ?? {}))
    validateStructural(sub, `${path}.properties[${name}]`, errs);
  if (schema.items && typeof schema.items === "object" && !Array.isArray(schema.items))
    validateStructural(schema.items as JSONSchemaProps, `${path}.items`, errs);
  if (schema.additionalProperties && typeof schema.additionalProperties === "object")
    validateStructural(schema.additionalProperties as JSONSchemaProps, `${path}.additionalProperties`, errs);
}

function validateVersion(version: CustomResourceDefinitionVersion, path: string, errs: FieldError[]): void {
  label(version.name, `${path}.name`, errs);
  const schema = version.schema?.openAPIV3Schema;
  if (!schema) errs.push(required(`${path}.schema.openAPIV3Schema`, "schemas are required"));
  else validateStructural(schema, `${path}.schema.openAPIV3Schema`, errs, true);
  const scale = version.subresources?.scale;
  if (scale) {
    if (!/^\.spec(\.[^.[\]]+)+$/.test(scale.specReplicasPath ?? ""))
      errs.push(
        invalid(
          `${path}.subresources.scale.specReplicasPath`,
          scale.specReplicasPath ?? "",
          "should be a json path under .spec",
        ),
      );
    if (!/^\.status(\.[^.[\]]+)+$/.test(scale.statusReplicasPath ?? ""))
      errs.push(
        invalid(
          `${path}.subresources.scale.statusReplicasPath`,
          scale.statusReplicasPath ?? "",
          "should be a json path under .status",
        ),
      );
    if (scale.labelSelectorPath && !/^\.(spec|status)(\.[^.[\]]+)+$/.test(scale.labelSelectorPath))
      errs.push(
        invalid(
          `${path}.subresources.scale.labelSelectorPath`,
          scale.labelSelectorPath,
          "should be a json path under either .spec or .status",
        ),
      );
  }
  const columns: unknown = version.additionalPrinterColumns ?? [];
  if (!Array.isArray(columns) || !columns.every(isPlainObject)) {
    errs.push(invalid(`${path}.additionalPrinterColumns`, columns, "must be a list of columns"));
    return;
  }
  (columns as NonNullable<CustomResourceDefinitionVersion["additionalPrinterColumns"]>).forEach(
    (column, i) => {
      const p = `${path}.additionalPrinterColumns[${i}]`;
      if (!column.name) errs.push(required(`${p}.name`, ""));
      if (!COLUMN_TYPES.includes(column.type))
        errs.push(notSupported(`${p}.type`, column.type, COLUMN_TYPES));
      if (!column.jsonPath) errs.push(required(`${p}.jsonPath`, ""));
      if ((column.priority ?? 0) < 0)
        errs.push(invalid(`${p}.priority`, column.priority, "must be greater than or equal to 0"));
    },
  );
}

/** Every error of a CRD (defaults already applied). */
export function validateCRD(crd: CustomResourceDefinition): FieldError[] {
  const errs: FieldError[] = [];
  const spec = (isPlainObject(crd.spec) ? crd.spec : {}) as CustomResourceDefinition["spec"];
  const names = (isPlainObject(spec.names) ? spec.names : {}) as CustomResourceDefinition["spec"]["names"];
  if (!isPlainObject(crd.spec)) errs.push(required("spec", ""));
  const group = spec.group;
  if (!group) errs.push(required("spec.group", ""));
  else {
    errs.push(...validateDNS1123Subdomain(group, "spec.group"));
    if (!group.includes("."))
      errs.push(invalid("spec.group", group, "should be a domain with at least one dot"));
    // Kubernetes' own groups take new APIs only through its review (KEP 1111), as kube's validation.
    const isProtected = /(^|\.)(k8s|kubernetes)\.io$/.test(group);
    if (isProtected && !crd.metadata?.annotations?.["api-approved.kubernetes.io"])
      errs.push(
        required(
          "metadata.annotations[api-approved.kubernetes.io]",
          "protected groups must have approval annotation api-approved.kubernetes.io, see https://github.com/kubernetes/enhancements/pull/1111",
        ),
      );
  }
  const expected = `${names.plural}.${group}`;
  if (crd.metadata?.name !== expected)
    errs.push(invalid("metadata.name", crd.metadata?.name ?? "", `must be spec.names.plural+"."+spec.group`));
  label(names.plural, "spec.names.plural", errs);
  label(names.singular, "spec.names.singular", errs);
  for (const field of ["shortNames", "categories"] as const) {
    const values: unknown = names[field];
    if (values === undefined) continue;
    if (!Array.isArray(values)) errs.push(invalid(`spec.names.${field}`, values, "must be a list of names"));
    else for (const [i, s] of values.entries()) label(s, `spec.names.${field}[${i}]`, errs);
  }
  for (const [field, value] of [
    ["kind", names.kind],
    ["listKind", names.listKind],
  ] as const) {
    if (!value) errs.push(required(`spec.names.${field}`, ""));
    else if (!/^[A-Za-z][A-Za-z0-9]*$/.test(value))
      errs.push(
        invalid(
          `spec.names.${field}`,
          value,
          "must be a valid Kind name (alphanumeric, starting with a letter)",
        ),
      );
  }
  if (names.kind && names.kind === names.listKind)
    errs.push(invalid("spec.names.listKind", names.listKind, "kind and listKind may not be the same"));
  if (!["Cluster", "Namespaced"].includes(spec.scope))
    errs.push(notSupported("spec.scope", spec.scope ?? "", ["Cluster", "Namespaced"]));
  const versions = Array.isArray(spec.versions) ? spec.versions : [];
  for (const [i, v] of versions.entries())
    if (!isPlainObject(v)) errs.push(invalid(`spec.versions[${i}]`, v, "must be an object"));
  if (versions.some((v) => !isPlainObject(v))) return errs;
  if (!versions.length)
    errs.push(required("spec.versions", "must have exactly one version marked as storage version"));
  else {
    const storage = versions.filter((v) => v.storage).length;
    if (storage !== 1)
      errs.push(
        invalid(
          "spec.versions",
          `${storage} storage versions`,
          "must have exactly one version marked as storage version",
        ),
      );
    if (!versions.some((v) => v.served))
      errs.push(invalid("spec.versions", "0 served versions", "must have at least one served version"));
    const seen = new Set<string>();
    versions.forEach((v, i) => {
      if (seen.has(v.name)) errs.push(invalid("spec.versions", v.name, "must contain unique version names"));
      seen.add(v.name);
      validateVersion(v, `spec.versions[${i}]`, errs);
    });
  }
  if (spec.conversion !== undefined && !isPlainObject(spec.conversion))
    errs.push(invalid("spec.conversion", spec.conversion, "must be an object"));
  const strategy = isPlainObject(spec.conversion) ? (spec.conversion?.strategy ?? "None") : "None";
  if (strategy !== "None" && strategy !== "Webhook")
    errs.push(notSupported("spec.conversion.strategy", strategy, ["None", "Webhook"]));
  return errs;
}
