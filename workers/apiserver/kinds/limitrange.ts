/**
 * core/v1 LimitRange: kube's defaults for Container items (a max is the
 * default limit, a default limit the default request, a min the default
 * request: SetDefaults_LimitRangeItem), validation (ValidateLimitRange:
 * supported and unique types, quantities, min <= defaultRequest <= default
 * <= max, ratio >= 1, no defaults on Pod items) and kube's columns (NAME,
 * CREATED AT). The LimitRanger admission plugin (admission/limitranger.ts)
 * applies and enforces it.
 */
import { parseQuantity } from "../../client/quantity.ts";
import type { LimitRange } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { list, type Obj, obj } from "./util.ts";
import { duplicate, forbidden, invalid, required } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";
import { validateNonNegativeQuantity } from "./validation/quantity.ts";

const TYPES = ["Container", "PersistentVolumeClaim", "Pod"];
const MAPS = ["max", "min", "default", "defaultRequest", "maxLimitRequestRatio"] as const;

/** SetDefaults_LimitRangeItem for Container items. */
function defaultItem(item: Obj): void {
  if (item.type !== "Container") return;
  const max = obj(item.max);
  const min = obj(item.min);
  const def = { ...obj(item.default) };
  const defReq = { ...obj(item.defaultRequest) };
  for (const [k, v] of Object.entries(max)) if (!(k in def)) def[k] = v;
  for (const [k, v] of Object.entries(def)) if (!(k in defReq)) defReq[k] = v;
  for (const [k, v] of Object.entries(min)) if (!(k in defReq)) defReq[k] = v;
  if (Object.keys(def).length > 0) item.default = def;
  if (Object.keys(defReq).length > 0) item.defaultRequest = defReq;
}

/** One `a <= b` check between two of an item's maps, kube's wording. */
function ordered(
  item: Obj,
  at: string,
  lowMap: string,
  highMap: string,
  message: (low: string, high: string) => string,
  field: string,
): FieldError[] {
  const low = obj(item[lowMap]);
  const high = obj(item[highMap]);
  const errs: FieldError[] = [];
  for (const [k, lv] of Object.entries(low)) {
    const l = parseQuantity(lv);
    const h = parseQuantity(high[k]);
    if (l === undefined || h === undefined || l <= h) continue;
    const value = field === lowMap ? lv : high[k];
    errs.push(invalid(`${at}.${field}[${k}]`, value, message(String(lv), String(high[k]))));
  }
  return errs;
}

function validateItem(item: Obj, at: string): FieldError[] {
  const errs: FieldError[] = [];
  if (!item.type) errs.push(required(`${at}.type`));
  else errs.push(...oneOf(item.type, TYPES, `${at}.type`));
  for (const m of MAPS)
    for (const [k, v] of Object.entries(obj(item[m])))
      errs.push(...validateNonNegativeQuantity(v, `${at}.${m}[${k}]`));
  if (item.type === "Pod") {
    if (Object.keys(obj(item.default)).length > 0)
      errs.push(forbidden(`${at}.default`, "may not be specified when `type` is 'Pod'"));
    if (Object.keys(obj(item.defaultRequest)).length > 0)
      errs.push(forbidden(`${at}.defaultRequest`, "may not be specified when `type` is 'Pod'"));
  }
  errs.push(
    ...ordered(item, at, "min", "max", (l, h) => `min value ${l} is greater than max value ${h}`, "min"),
    ...ordered(
      item,
      at,
      "min",
      "defaultRequest",
      (l, h) => `min value ${l} is greater than default request value ${h}`,
      "defaultRequest",
    ),
    ...ordered(
      item,
      at,
      "defaultRequest",
      "max",
      (l, h) => `default request value ${l} is greater than max value ${h}`,
      "defaultRequest",
    ),
    ...ordered(
      item,
      at,
      "defaultRequest",
      "default",
      (l, h) => `default request value ${l} is greater than default limit value ${h}`,
      "defaultRequest",
    ),
    ...ordered(
      item,
      at,
      "min",
      "default",
      (l, h) => `min value ${l} is greater than default value ${h}`,
      "default",
    ),
    ...ordered(
      item,
      at,
      "default",
      "max",
      (l, h) => `default value ${l} is greater than max value ${h}`,
      "default",
    ),
  );
  for (const [k, v] of Object.entries(obj(item.maxLimitRequestRatio))) {
    const ratio = parseQuantity(v);
    if (ratio !== undefined && ratio < 1)
      errs.push(invalid(`${at}.maxLimitRequestRatio[${k}]`, v, `ratio ${v} is less than 1`));
  }
  return errs;
}

/** Every field error of a LimitRange (ValidateLimitRange). */
function validateLimitRange(lr: LimitRange): FieldError[] {
  const errs: FieldError[] = [];
  const seen = new Set<unknown>();
  list(obj(lr.spec).limits).forEach((item, i) => {
    const at = `spec.limits[${i}]`;
    if (item.type !== undefined && seen.has(item.type)) errs.push(duplicate(`${at}.type`, item.type));
    seen.add(item.type);
    errs.push(...validateItem(item, at));
  });
  return errs;
}

/** The LimitRange strategy. */
export const limitRangeStrategy: Strategy<LimitRange> = {
  defaults(lr) {
    for (const item of list(obj(lr.spec).limits)) defaultItem(item);
  },
  validate: (lr) => validateLimitRange(lr),
  // kube prints NAME and CREATED AT (RFC 3339), no AGE.
  fullRow: true,
  columns: [
    col(
      "Name",
      "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically.",
      { format: "name" },
    ),
    col(
      "Created At",
      "CreationTimestamp is a timestamp representing the server time when this object was created.",
      { type: "date" },
    ),
  ],
  row: (lr) => [lr.metadata?.name ?? "", lr.metadata?.creationTimestamp ?? ""],
};
