/**
 * Generic ObjectMeta validation with Kubernetes' own syntax rules
 * (apimachinery validation: DNS-1123 names, qualified names, label values,
 * annotation size). Returns every error, never just the first.
 */
import type { KubeObject } from "../../client/kube.ts";
import type { FieldError, ResourceInfo } from "./types.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME_PART = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const TOTAL_ANNOTATION_SIZE = 256 * 1024;

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const QUALIFIED_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";

/** Errors for a DNS-1123 label (max 63). */
function dns1123Label(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push("must be no more than 63 characters");
  if (!DNS1123_LABEL.test(value)) out.push(LABEL_MSG);
  return out;
}

/** Errors for a DNS-1123 subdomain (max 253). */
function dns1123Subdomain(value: string): string[] {
  const out: string[] = [];
  if (value.length > 253) out.push("must be no more than 253 characters");
  if (!DNS1123_SUBDOMAIN.test(value)) out.push(SUBDOMAIN_MSG);
  return out;
}

/** Errors for a name usable as a path segment (RBAC objects allow almost anything). */
function pathSegmentName(value: string): string[] {
  if (value === "." || value === "..") return [`may not be '${value}'`];
  if (value.includes("/")) return ["may not contain '/'"];
  if (value.includes("%")) return ["may not contain '%'"];
  return [];
}

/** Errors for a qualified name such as a label or annotation key ("prefix/name" or "name"). */
function qualifiedName(value: string): string[] {
  const out: string[] = [];
  const parts = value.split("/");
  let name = value;
  if (parts.length === 2) {
    const [prefix, rest] = parts;
    name = rest;
    if (prefix.length === 0) out.push("prefix part must be non-empty");
    else for (const e of dns1123Subdomain(prefix)) out.push(`prefix part ${e}`);
  } else if (parts.length > 2) {
    return [
      "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character, with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
    ];
  }
  if (name.length === 0) out.push("name part must be non-empty");
  else {
    if (name.length > 63) out.push("name part must be no more than 63 characters");
    if (!QUALIFIED_NAME_PART.test(name)) out.push(QUALIFIED_MSG);
  }
  return out;
}

/** Errors for a label value (max 63, may be empty). */
function labelValue(value: string): string[] {
  const out: string[] = [];
  if (value.length > 63) out.push("must be no more than 63 characters");
  if (!LABEL_VALUE.test(value)) out.push(VALUE_MSG);
  return out;
}

/** A FieldValueInvalid error with Kubernetes' message shape. */
function invalid(field: string, value: unknown, detail: string): FieldError {
  return {
    reason: "FieldValueInvalid",
    field,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  };
}

/** A FieldValueRequired error. */
function required(field: string, detail = ""): FieldError {
  return { reason: "FieldValueRequired", field, message: `Required value${detail ? `: ${detail}` : ""}` };
}

/** Name validation for a resource, by its nameFormat. */
function nameErrors(info: ResourceInfo, name: string): string[] {
  if (info.nameFormat === "label") return dns1123Label(name);
  if (info.nameFormat === "path") return pathSegmentName(name);
  return dns1123Subdomain(name);
}

/** Every metadata error of an object about to be written (name, namespace, labels, annotations, finalizers, ownerReferences). */
export function validateObjectMeta(object: KubeObject, info: ResourceInfo): FieldError[] {
  const meta = object.metadata ?? {};
  const errs: FieldError[] = [];
  if (!meta.name) {
    errs.push(required("metadata.name", "name or generateName is required"));
  } else {
    for (const e of nameErrors(info, meta.name)) errs.push(invalid("metadata.name", meta.name, e));
  }
  if (info.namespaced) {
    if (!meta.namespace) errs.push(required("metadata.namespace"));
    else
      for (const e of dns1123Label(meta.namespace))
        errs.push(invalid("metadata.namespace", meta.namespace, e));
  }
  errs.push(...validateLabels(meta.labels, "metadata.labels"));
  errs.push(...validateAnnotations(meta.annotations, "metadata.annotations"));
  if (meta.finalizers !== undefined) {
    if (!Array.isArray(meta.finalizers))
      errs.push(invalid("metadata.finalizers", meta.finalizers, "must be a list"));
    else
      meta.finalizers.forEach((f, i) => {
        for (const e of qualifiedName(String(f))) errs.push(invalid(`metadata.finalizers[${i}]`, f, e));
      });
  }
  if (meta.ownerReferences !== undefined) {
    if (!Array.isArray(meta.ownerReferences))
      errs.push(invalid("metadata.ownerReferences", meta.ownerReferences, "must be a list"));
    else
      meta.ownerReferences.forEach((ref, i) => {
        const path = `metadata.ownerReferences[${i}]`;
        for (const field of ["apiVersion", "kind", "name", "uid"] as const) {
          if (!ref?.[field]) errs.push(required(`${path}.${field}`));
        }
      });
    const controllers = (meta.ownerReferences ?? []).filter((r) => r?.controller);
    if (controllers.length > 1)
      errs.push(
        invalid(
          "metadata.ownerReferences",
          meta.ownerReferences,
          "Only one reference can have Controller set to true",
        ),
      );
  }
  return errs;
}

/** Every error of a label map (keys qualified names, values label values). */
function validateLabels(labels: unknown, path: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object" || Array.isArray(labels)) return [invalid(path, labels, "must be a map")];
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    for (const e of qualifiedName(key)) errs.push(invalid(path, key, e));
    if (typeof value !== "string") errs.push(invalid(`${path}[${key}]`, value, "must be a string"));
    else for (const e of labelValue(value)) errs.push(invalid(`${path}[${key}]`, value, e));
  }
  return errs;
}

/** Every error of an annotation map (keys qualified names, total size <= 256 KiB). */
function validateAnnotations(annotations: unknown, path: string): FieldError[] {
  if (annotations === undefined || annotations === null) return [];
  if (typeof annotations !== "object" || Array.isArray(annotations))
    return [invalid(path, annotations, "must be a map")];
  const errs: FieldError[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(annotations as Record<string, unknown>)) {
    for (const e of qualifiedName(key.toLowerCase())) errs.push(invalid(path, key, e));
    if (typeof value !== "string") errs.push(invalid(`${path}[${key}]`, value, "must be a string"));
    total += key.length + (typeof value === "string" ? value.length : 0);
  }
  if (total > TOTAL_ANNOTATION_SIZE)
    errs.push({
      reason: "FieldValueTooLong",
      field: path,
      message: `Too long: must have at most ${TOTAL_ANNOTATION_SIZE} bytes`,
    });
  return errs;
}
