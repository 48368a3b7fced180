/**
 * Field error constructors with Kubernetes' reasons and wording
 * (k8s.io/apimachinery/pkg/util/validation/field), so clients see the same
 * causes a real API server reports.
 */
import type { FieldError } from "../../registry/types.ts";

function show(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined || value === null) return "null";
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}

/** FieldValueRequired: the field is missing or empty. */
export function required(field: string, detail = ""): FieldError {
  return {
    reason: "FieldValueRequired",
    field,
    message: detail ? `Required value: ${detail}` : "Required value",
  };
}

/** FieldValueInvalid: the value is malformed or out of range. */
export function invalid(field: string, value: unknown, detail = ""): FieldError {
  const body = `Invalid value: ${show(value)}`;
  return { reason: "FieldValueInvalid", field, message: detail ? `${body}: ${detail}` : body };
}

/** FieldValueNotSupported: the value is not one of an enumerated set. */
export function notSupported(field: string, value: unknown, valid: readonly string[]): FieldError {
  const supported = valid.map((v) => JSON.stringify(v)).join(", ");
  return {
    reason: "FieldValueNotSupported",
    field,
    message: `Unsupported value: ${show(value)}: supported values: ${supported}`,
  };
}

/** FieldValueDuplicate: a value that must be unique appears twice. */
export function duplicate(field: string, value: unknown): FieldError {
  return { reason: "FieldValueDuplicate", field, message: `Duplicate value: ${show(value)}` };
}

/** FieldValueForbidden: the field may not be set (here, or to this value). */
export function forbidden(field: string, detail: string): FieldError {
  return { reason: "FieldValueForbidden", field, message: `Forbidden: ${detail}` };
}

/** FieldValueTooLong: a string or list exceeds its maximum length. */
export function tooLong(field: string, max: number): FieldError {
  return { reason: "FieldValueTooLong", field, message: `Too long: may not be more than ${max} bytes` };
}

/** FieldValueInvalid with "field is immutable", as apimachinery's ValidateImmutableField. */
export function immutable(field: string, value: unknown): FieldError {
  return invalid(field, value, "field is immutable");
}

/** ValidateImmutableField: an error when `now` differs from `old` (deep comparison). */
export function checkImmutable(now: unknown, old: unknown, field: string): FieldError[] {
  return deepEqual(now, old) ? [] : [immutable(field, now)];
}

/** Structural equality of JSON values (objects key-order insensitive). */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== typeof b || a === null || b === null || typeof a !== "object") return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((v, i) => deepEqual(v, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const ak = Object.keys(ao).filter((k) => ao[k] !== undefined);
  const bk = Object.keys(bo).filter((k) => bo[k] !== undefined);
  return ak.length === bk.length && ak.every((k) => deepEqual(ao[k], bo[k]));
}
