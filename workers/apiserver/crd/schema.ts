/**
 * The structural-schema engine for custom resources, in kube's order:
 * prune unknown fields, default, validate. One purpose-built interpreter
 * walking the CRD's openAPIV3Schema (Workers cannot compile code at run
 * time, so no ajv), with kube's field paths and error wording
 * (apiextensions-apiserver's validation over kube-openapi's errors).
 */

import type { FieldError } from "../registry/types.ts";
import { checkFormat } from "./formats.ts";
import type { SchemaProps as JSONSchemaProps } from "./types.ts";

/** The schema of one CRD version, ready to prune, default and validate objects (regexes compiled once). */
export interface CompiledSchema {
  /** Remove fields the schema does not declare; returns their paths ("spec.foo", "spec.items[0].bar"). */
  prune(object: Record<string, unknown>): string[];
  /** Drop nulls of non-nullable fields and fill `default:`s, in place. */
  applyDefaults(object: Record<string, unknown>): void;
  /** Every schema violation of the object (apiVersion, kind and metadata excluded: validated generically). */
  validate(object: Record<string, unknown>): FieldError[];
}

type Props = JSONSchemaProps;
type Obj = Record<string, unknown>;

/** Fields every object has at its root (and every embedded resource): never pruned by the schema. */
const ROOT_FIELDS = new Set(["apiVersion", "kind", "metadata"]);

function isObject(value: unknown): value is Obj {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

function child(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

/** additionalProperties as a schema, when it is one (true means "anything", false is not structural). */
function additional(schema: Props): Props | undefined {
  const a = schema.additionalProperties;
  return isObject(a) ? (a as Props) : undefined;
}

/** Go's %v of a value, as kube's messages show it. */
function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined || value === null) return "null";
  return typeof value === "object" ? JSON.stringify(value) : String(value);
}

function fieldError(reason: string, field: string, message: string): FieldError {
  return { reason, field, message };
}

/** field.Invalid with kube-openapi's "<path> in body ..." detail. */
function invalid(path: string, value: unknown, detail: string): FieldError {
  return fieldError("FieldValueInvalid", path, `Invalid value: ${show(value)}: ${path} in body ${detail}`);
}

function typeInvalid(path: string, value: unknown, type: string): FieldError {
  return fieldError(
    "FieldValueTypeInvalid",
    path,
    `Invalid value: ${show(value)}: ${path} in body must be of type ${type}: ${JSON.stringify(typeName(value))}`,
  );
}

/** The JSON type name kube-openapi reports for a value of the wrong type. */
function typeName(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

/** Characters (code points) in a string, without allocating. */
function runeCount(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0xd800 || c > 0xdbff) n++;
  }
  return n;
}

/** Build the engine for one schema. */
export function compileSchema(root: Props): CompiledSchema {
  const patterns = new Map<string, RegExp | null>();
  // Enums compared as JSON text, computed once per schema node.
  const enums = new WeakMap<Props, Set<string>>();
  const allowed = (schema: Props): Set<string> => {
    let set = enums.get(schema);
    if (!set) {
      set = new Set((schema.enum ?? []).map((e) => JSON.stringify(e)));
      enums.set(schema, set);
    }
    return set;
  };
  const regex = (pattern: string): RegExp | null => {
    let re = patterns.get(pattern);
    if (re === undefined) {
      try {
        re = new RegExp(pattern);
      } catch {
        re = null;
      }
      patterns.set(pattern, re);
    }
    return re;
  };

  function prune(value: unknown, schema: Props, path: string, out: string[], atRoot: boolean): void {
    if (Array.isArray(value)) {
      if (schema.items && isObject(schema.items))
        for (let i = 0; i < value.length; i++)
          prune(value[i], schema.items as Props, `${path}[${i}]`, out, false);
      return;
    }
    if (!isObject(value)) return;
    const embedded = atRoot || schema["x-kubernetes-embedded-resource"] === true;
    const props = schema.properties;
    const extra = additional(schema);
    const keep = schema["x-kubernetes-preserve-unknown-fields"] === true;
    for (const key of Object.keys(value)) {
      // apiVersion, kind and metadata are the object's own (ObjectMeta is validated generically), whatever the schema says.
      if (embedded && ROOT_FIELDS.has(key)) continue;
      const sub = props?.[key] ?? extra;
      if (sub) prune(value[key], sub, child(path, key), out, false);
      else if (!keep && schema.additionalProperties !== true) {
        out.push(child(path, key));
        delete value[key];
      }
    }
  }

  function defaults(value: unknown, schema: Props, atRoot = false): void {
    if (Array.isArray(value)) {
      if (isObject(schema.items)) for (const item of value) defaults(item, schema.items as Props);
      return;
    }
    if (!isObject(value)) return;
    const props = schema.properties ?? {};
    for (const key in props) {
      if (atRoot && ROOT_FIELDS.has(key)) continue;
      const sub = props[key];
      // kube prunes nulls of non-nullable fields first; a default then fills the gap.
      if (value[key] === null && !sub.nullable) delete value[key];
      if (value[key] === undefined && sub.default !== undefined) value[key] = structuredClone(sub.default);
      if (value[key] !== undefined) defaults(value[key], sub);
    }
    const extra = additional(schema);
    if (extra)
      for (const key of Object.keys(value)) {
        if (props[key]) continue;
        if (value[key] === null && !extra.nullable) delete value[key];
        else defaults(value[key], extra);
      }
  }

  function validateNumber(value: number, schema: Props, path: string, errs: FieldError[]): void {
    if (schema.minimum !== undefined) {
      if (schema.exclusiveMinimum ? value <= schema.minimum : value < schema.minimum)
        errs.push(
          invalid(
            path,
            value,
            `should be greater than ${schema.exclusiveMinimum ? "" : "or equal to "}${schema.minimum}`,
          ),
        );
    }
    if (schema.maximum !== undefined) {
      if (schema.exclusiveMaximum ? value >= schema.maximum : value > schema.maximum)
        errs.push(
          invalid(
            path,
            value,
            `should be less than ${schema.exclusiveMaximum ? "" : "or equal to "}${schema.maximum}`,
          ),
        );
    }
    if (schema.multipleOf !== undefined && schema.multipleOf > 0) {
      const q = value / schema.multipleOf;
      if (Math.abs(q - Math.round(q)) > 1e-9)
        errs.push(invalid(path, value, `should be a multiple of ${schema.multipleOf}`));
    }
  }

  function validateString(value: string, schema: Props, path: string, errs: FieldError[]): void {
    // kube counts characters (runes), not UTF-16 units; only strings near a bound need counting.
    const length = schema.minLength !== undefined || schema.maxLength !== undefined ? runeCount(value) : 0;
    if (schema.maxLength !== undefined && length > schema.maxLength)
      errs.push(
        fieldError("FieldValueTooLong", path, `Too long: may not be longer than ${schema.maxLength}`),
      );
    if (schema.minLength !== undefined && length < schema.minLength)
      errs.push(invalid(path, value, `should be at least ${schema.minLength} chars long`));
    if (schema.pattern !== undefined) {
      const re = regex(schema.pattern);
      if (re && !re.test(value)) errs.push(invalid(path, value, `should match '${schema.pattern}'`));
    }
  }

  function validateList(value: unknown[], schema: Props, path: string, errs: FieldError[]): void {
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      errs.push(
        fieldError(
          "FieldValueTooMany",
          path,
          `Too many: ${value.length}: must have at most ${schema.maxItems} items`,
        ),
      );
    if (schema.minItems !== undefined && value.length < schema.minItems)
      errs.push(invalid(path, value, `should have at least ${schema.minItems} items`));
    const listType = schema["x-kubernetes-list-type"];
    if (listType === "set") {
      const seen = new Set<string>();
      value.forEach((item, i) => {
        const key = JSON.stringify(item);
        if (seen.has(key))
          errs.push(fieldError("FieldValueDuplicate", `${path}[${i}]`, `Duplicate value: ${show(item)}`));
        seen.add(key);
      });
    } else if (listType === "map") {
      const keys = schema["x-kubernetes-list-map-keys"] ?? [];
      const seen = new Set<string>();
      value.forEach((item, i) => {
        if (!isObject(item)) return;
        const id = Object.fromEntries(keys.map((k) => [k, item[k]]));
        const key = JSON.stringify(id);
        if (seen.has(key))
          errs.push(fieldError("FieldValueDuplicate", `${path}[${i}]`, `Duplicate value: ${show(id)}`));
        seen.add(key);
      });
    }
    if (isObject(schema.items))
      for (let i = 0; i < value.length; i++) walk(value[i], schema.items as Props, `${path}[${i}]`, errs);
  }

  function validateObject(value: Obj, schema: Props, path: string, errs: FieldError[]): void {
    const props = schema.properties ?? {};
    for (const name of schema.required ?? [])
      if (value[name] === undefined)
        errs.push(fieldError("FieldValueRequired", child(path, name), "Required value"));
    const count = Object.keys(value).length;
    if (schema.maxProperties !== undefined && count > schema.maxProperties)
      errs.push(
        fieldError(
          "FieldValueTooMany",
          path,
          `Too many: ${count}: must have at most ${schema.maxProperties} items`,
        ),
      );
    if (schema.minProperties !== undefined && count < schema.minProperties)
      errs.push(invalid(path, count, `should have at least ${schema.minProperties} properties`));
    if (schema["x-kubernetes-embedded-resource"] === true)
      for (const name of ["apiVersion", "kind"])
        if (typeof value[name] !== "string" || value[name] === "")
          errs.push(fieldError("FieldValueRequired", child(path, name), "Required value: must not be empty"));
    const extra = additional(schema);
    for (const key in value) {
      const sub = props[key] ?? extra;
      if (sub) walk(value[key], sub, child(path, key), errs);
    }
  }

  /** A value's errors under one schema node: its type and keywords, then the logical junctors. */
  function walk(value: unknown, schema: Props, path: string, errs: FieldError[]): void {
    walkType(value, schema, path, errs);
    if (value === null || value === undefined) return;
    if (schema.allOf) for (const sub of schema.allOf) walk(value, sub, path, errs);
    if (!schema.anyOf && !schema.oneOf && !schema.not) return;
    const passes = (sub: Props) => {
      const found: FieldError[] = [];
      walk(value, sub, path, found);
      return found.length === 0;
    };
    // Int-or-string nodes carry kube's anyOf [integer, string] for publishing; their own check covers it.
    if (schema.anyOf && schema["x-kubernetes-int-or-string"] !== true && !schema.anyOf.some((s) => passes(s)))
      errs.push(invalid(path, value, "must validate at least one schema (anyOf)"));
    if (schema.oneOf) {
      const valid = schema.oneOf.filter((s) => passes(s)).length;
      if (valid !== 1)
        errs.push(
          invalid(
            path,
            value,
            `must validate one and only one schema (oneOf). ${valid === 0 ? "Found none valid" : `Found ${valid} valid alternatives`}`,
          ),
        );
    }
    if (schema.not && passes(schema.not))
      errs.push(invalid(path, value, "must not validate the schema (not)"));
  }

  /** Type check, then the keyword checks of that type, then children. */
  function walkType(value: unknown, schema: Props, path: string, errs: FieldError[]): void {
    if (value === null) {
      if (!schema.nullable && schema.type) errs.push(typeInvalid(path, value, schema.type));
      return;
    }
    if (schema.enum && !allowed(schema).has(JSON.stringify(value))) {
      errs.push(
        fieldError(
          "FieldValueNotSupported",
          path,
          `Unsupported value: ${show(value)}: supported values: ${schema.enum.map((e) => show(e)).join(", ")}`,
        ),
      );
    }
    const type = schema.type;
    if (schema["x-kubernetes-int-or-string"] === true) {
      const ok = typeof value === "string" || (typeof value === "number" && Number.isInteger(value));
      if (!ok) errs.push(typeInvalid(path, value, "integer or string"));
      else if (typeof value === "string") validateString(value, schema, path, errs);
      else validateNumber(value, schema, path, errs);
      return;
    }
    switch (type) {
      case "object":
        if (isObject(value)) validateObject(value, schema, path, errs);
        else errs.push(typeInvalid(path, value, "object"));
        return;
      case "array":
        if (Array.isArray(value)) validateList(value, schema, path, errs);
        else errs.push(typeInvalid(path, value, "array"));
        return;
      case "string":
        if (typeof value !== "string") return void errs.push(typeInvalid(path, value, "string"));
        validateString(value, schema, path, errs);
        break;
      case "integer":
        if (typeof value !== "number" || !Number.isInteger(value))
          return void errs.push(typeInvalid(path, value, "integer"));
        validateNumber(value, schema, path, errs);
        break;
      case "number":
        if (typeof value !== "number") return void errs.push(typeInvalid(path, value, "number"));
        validateNumber(value, schema, path, errs);
        break;
      case "boolean":
        if (typeof value !== "boolean") return void errs.push(typeInvalid(path, value, "boolean"));
        break;
      default:
        // No type: x-kubernetes-preserve-unknown-fields nodes, and the junctors' sub-schemas (which structural
        // schemas forbid a type), whose keywords apply to whatever the value is.
        if (isObject(value)) validateObject(value, schema, path, errs);
        else if (Array.isArray(value)) validateList(value, schema, path, errs);
        else if (typeof value === "string") validateString(value, schema, path, errs);
        else if (typeof value === "number") validateNumber(value, schema, path, errs);
    }
    if (schema.format && (typeof value === "string" || typeof value === "number")) {
      if (!checkFormat(schema.format, value))
        errs.push(
          fieldError(
            "FieldValueTypeInvalid",
            path,
            `Invalid value: ${show(value)}: ${path} in body must be of type ${schema.format}: ${JSON.stringify(String(value))}`,
          ),
        );
    }
  }

  // The root without what every object has (apiVersion, kind, metadata: validated generically).
  const { apiVersion: _sa, kind: _sk, metadata: _sm, ...bodyProps } = root.properties ?? {};
  const body: Props = {
    ...root,
    properties: bodyProps,
    required: (root.required ?? []).filter((r) => !ROOT_FIELDS.has(r)),
  };

  return {
    prune(object) {
      const out: string[] = [];
      prune(object, root, "", out, true);
      return out;
    },
    applyDefaults(object) {
      defaults(object, root, true);
    },
    validate(object) {
      const errs: FieldError[] = [];
      const { apiVersion: _a, kind: _k, metadata: _m, ...rest } = object;
      walk(rest, body, "", errs);
      return errs;
    },
  };
}
