/**
 * Name and label syntax rules (k8s.io/apimachinery/pkg/util/validation),
 * each returning field errors for one value at one path.
 */
import type { FieldError } from "../../registry/types.ts";
import { invalid, required, tooLong } from "./errors.ts";

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const IANA_SVC_NAME = /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/;
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

/** True when `value` is a DNS-1123 subdomain (253 chars max). */
function isDNS1123Subdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/** Errors for a value that must be a non-empty DNS-1123 label. */
export function validateDNS1123Label(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null || value === "") return [required(field)];
  if (typeof value !== "string") return [invalid(field, value, "must be a string")];
  if (value.length > 63) return [invalid(field, value, "must be no more than 63 characters")];
  return DNS1123_LABEL.test(value) ? [] : [invalid(field, value, LABEL_MSG)];
}

/** Errors for a value that must be a non-empty DNS-1123 subdomain. */
export function validateDNS1123Subdomain(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null || value === "") return [required(field)];
  if (typeof value !== "string") return [invalid(field, value, "must be a string")];
  if (value.length > 253) return [invalid(field, value, "must be no more than 253 characters")];
  return DNS1123_SUBDOMAIN.test(value) ? [] : [invalid(field, value, SUBDOMAIN_MSG)];
}

/** Errors for a qualified name ("prefix/name" with a DNS subdomain prefix), used for label and annotation keys. */
export function validateQualifiedName(value: string, field: string): FieldError[] {
  const parts = value.split("/");
  let name = value;
  if (parts.length === 2) {
    const [prefix, rest] = parts;
    if (!prefix) return [invalid(field, value, "prefix part must be non-empty")];
    if (!isDNS1123Subdomain(prefix)) return [invalid(field, value, `prefix part ${SUBDOMAIN_MSG}`)];
    name = rest;
  } else if (parts.length > 2) {
    return [
      invalid(
        field,
        value,
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix and '/' (e.g. 'example.com/MyName')",
      ),
    ];
  }
  if (!name) return [invalid(field, value, "name part must be non-empty")];
  if (name.length > 63) return [invalid(field, value, "name part must be no more than 63 characters")];
  if (!QUALIFIED_NAME.test(name))
    return [
      invalid(
        field,
        value,
        "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      ),
    ];
  return [];
}

/** Errors for a label value (may be empty; 63 chars max). */
export function validateLabelValue(value: unknown, field: string): FieldError[] {
  if (typeof value !== "string") return [invalid(field, value, "must be a string")];
  if (value.length > 63) return [invalid(field, value, "must be no more than 63 characters")];
  if (!LABEL_VALUE.test(value))
    return [
      invalid(
        field,
        value,
        "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      ),
    ];
  return [];
}

/** Errors for a label map (metav1 ValidateLabels): every key and value. */
export function validateLabels(labels: unknown, field: string): FieldError[] {
  if (labels === undefined || labels === null) return [];
  if (typeof labels !== "object" || Array.isArray(labels)) return [invalid(field, labels, "must be a map")];
  const errs: FieldError[] = [];
  for (const [key, value] of Object.entries(labels as Record<string, unknown>)) {
    errs.push(...validateQualifiedName(key, field), ...validateLabelValue(value, field));
  }
  return errs;
}

/** Errors for an IANA service name (port names): 15 chars, lowercase alphanumerics and '-', at least one letter. */
export function validatePortName(value: string, field: string): FieldError[] {
  if (value.length > 15) return [invalid(field, value, "must be no more than 15 characters")];
  if (!IANA_SVC_NAME.test(value))
    return [invalid(field, value, "must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)")];
  if (value.includes("--")) return [invalid(field, value, "must not contain consecutive hyphens")];
  if (!/[a-z]/.test(value)) return [invalid(field, value, "must contain at least one letter (a-z)")];
  return [];
}

/** Errors for an environment variable name. */
export function validateEnvVarName(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === "") return [required(field)];
  if (typeof value !== "string" || !ENV_VAR_NAME.test(value))
    return [
      invalid(
        field,
        value,
        "a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit (e.g. 'my.env-name',  or 'MY_ENV.NAME',  or 'MyEnvName1', regex used for validation is '[-._a-zA-Z][-._a-zA-Z0-9]*')",
      ),
    ];
  return [];
}

/** Errors for a ConfigMap/Secret data key: [-._a-zA-Z0-9]+, 253 chars max, not "." or "..". */
export function validateConfigMapKey(key: string, field: string): FieldError[] {
  if (key.length > 253) return [tooLong(field, 253)];
  if (!/^[-._a-zA-Z0-9]+$/.test(key))
    return [
      invalid(
        field,
        key,
        "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      ),
    ];
  if (key === "." || key === "..") return [invalid(field, key, `must not be '${key}'`)];
  return [];
}
