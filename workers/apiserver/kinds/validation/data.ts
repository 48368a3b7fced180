/**
 * ConfigMap and Secret data maps: key syntax, base64 values, the 1 MiB
 * total, and the `immutable` rule (ValidateConfigMap / ValidateSecret).
 */
import type { FieldError } from "../../registry/types.ts";
import { deepEqual, forbidden, invalid, tooLong } from "./errors.ts";
import { validateConfigMapKey } from "./names.ts";

const MAX_TOTAL = 1024 * 1024;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** True when `value` is standard, padded base64. */
function isBase64(value: unknown): boolean {
  return typeof value === "string" && BASE64.test(value);
}

/** Bytes of a base64 string once decoded. */
function decodedLength(value: string): number {
  const pad = value.endsWith("==") ? 2 : value.endsWith("=") ? 1 : 0;
  return (value.length / 4) * 3 - pad;
}

/** base64 of a string's UTF-8 bytes (Secret.stringData → data). */
export function encodeBase64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** Errors of a data map at `field`; `base64` when its values must be base64 (Secret.data, ConfigMap.binaryData). */
export function validateDataMap(
  map: unknown,
  field: string,
  base64: boolean,
): { errs: FieldError[]; bytes: number } {
  const errs: FieldError[] = [];
  let bytes = 0;
  if (map === undefined || map === null) return { errs, bytes };
  if (typeof map !== "object" || Array.isArray(map))
    return { errs: [invalid(field, map, "must be a map")], bytes };
  for (const [key, value] of Object.entries(map as Record<string, unknown>)) {
    errs.push(...validateConfigMapKey(key, `${field}[${key}]`));
    if (typeof value !== "string") errs.push(invalid(`${field}[${key}]`, value, "must be a string"));
    else if (base64 && !isBase64(value))
      errs.push(
        invalid(`${field}[${key}]`, "<value omitted>", "illegal base64 data: value must be base64-encoded"),
      );
    else bytes += base64 ? decodedLength(value) : new TextEncoder().encode(value).length;
  }
  return { errs, bytes };
}

/** The 1 MiB limit on a ConfigMap's or Secret's total data. */
export function validateTotalSize(bytes: number, field: string): FieldError[] {
  return bytes > MAX_TOTAL ? [tooLong(field, MAX_TOTAL)] : [];
}

/** Errors when an `immutable: true` object's data (the given fields) or the flag itself changes. */
export function validateImmutableData(
  object: { immutable?: boolean },
  old: { immutable?: boolean },
  dataFields: string[],
): FieldError[] {
  if (old.immutable !== true) return [];
  const errs: FieldError[] = [];
  if (object.immutable !== true)
    errs.push(forbidden("immutable", "field is immutable when `immutable` is set"));
  for (const f of dataFields) {
    if (!deepEqual(Reflect.get(object, f) ?? {}, Reflect.get(old, f) ?? {}))
      errs.push(forbidden(f, "field is immutable when `immutable` is set"));
  }
  return errs;
}
