/**
 * resource.Quantity validation over the shared parser (workers/client/quantity.ts).
 */
import { parseQuantity } from "../../../client/quantity.ts";
import type { FieldError } from "../../registry/types.ts";
import { invalid } from "./errors.ts";

export { parseQuantity };

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
