/**
 * resource.Quantity parsing ("500m", "1Gi", "2e3"): enough to validate
 * syntax and compare requests with limits.
 */
import type { FieldError } from "../../registry/types.ts";
import { invalid } from "./errors.ts";

const QUANTITY = /^([+-]?[0-9.]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const SUFFIX: Record<string, number> = {
  "": 1,
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/** The numeric value of a quantity (approximate for huge values), or undefined when malformed. */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? value : undefined;
  if (typeof value !== "string") return undefined;
  const m = QUANTITY.exec(value);
  if (!m || !/^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$/.test(m[1])) return undefined;
  const suffix = m[2] ?? "";
  const scale = /^[eE]/.test(suffix) ? 10 ** Number(suffix.slice(1)) : SUFFIX[suffix];
  return Number(m[1]) * scale;
}

/** Errors for a quantity that must parse and be non-negative. */
export function validateNonNegativeQuantity(value: unknown, field: string): FieldError[] {
  const n = parseQuantity(value);
  if (n === undefined)
    return [
      invalid(
        field,
        value,
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
      ),
    ];
  if (n < 0) return [invalid(field, value, "must be greater than or equal to 0")];
  return [];
}
