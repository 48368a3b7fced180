/** Small numeric checks shared by the strategies (ValidateNonnegativeField and friends). */
import type { FieldError } from "../../registry/types.ts";
import { invalid, notSupported } from "./errors.ts";

/** Errors when `value` is set and not an integer >= 0. */
export function nonNegativeInt(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "number" || !Number.isInteger(value))
    return [invalid(field, value, "must be an integer")];
  return value < 0 ? [invalid(field, value, "must be greater than or equal to 0")] : [];
}

/** Errors when `value` is set and not an integer > 0. */
export function positiveInt(value: unknown, field: string): FieldError[] {
  if (value === undefined || value === null) return [];
  if (typeof value !== "number" || !Number.isInteger(value))
    return [invalid(field, value, "must be an integer")];
  return value <= 0 ? [invalid(field, value, "must be greater than zero")] : [];
}

/** Errors when `value` is set and not one of `allowed`. */
export function oneOf(value: unknown, allowed: readonly string[], field: string): FieldError[] {
  if (value === undefined || value === null) return [];
  return allowed.includes(value as string) ? [] : [notSupported(field, value, allowed)];
}

/** Errors when a port number is set and not within 1-65535. */
export function validPort(value: unknown, field: string): FieldError[] {
  if (typeof value !== "number" || !Number.isInteger(value) || value < 1 || value > 65535)
    return [invalid(field, value, "must be between 1 and 65535, inclusive")];
  return [];
}
