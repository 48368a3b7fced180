/**
 * core/v1 ResourceQuota: validation (ValidateResourceQuota: non-negative
 * quantities, whole numbers for object counts, known scopes), the status
 * split (status.hard/used are the quota controller's and the admission
 * plugin's), and kube's columns (NAME, AGE, REQUEST "pods: 1/2, ...",
 * LIMIT "limits.cpu: 500m/1, ...").
 */
import { parseQuantity } from "../../client/quantity.ts";
import type { ResourceQuota } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { obj, specOf } from "./util.ts";
import { invalid, notSupported } from "./validation/errors.ts";
import { validateNonNegativeQuantity } from "./validation/quantity.ts";

const SCOPES = [
  "BestEffort",
  "CrossNamespacePodAffinity",
  "NotBestEffort",
  "NotTerminating",
  "PriorityClass",
  "Terminating",
];
/** Resources that count objects: their quantities must be whole numbers (isIntegerResourceName). */
const COUNTS = new Set([
  "configmaps",
  "persistentvolumeclaims",
  "pods",
  "replicationcontrollers",
  "resourcequotas",
  "secrets",
  "services",
  "services.loadbalancers",
  "services.nodeports",
]);

function validateList(list: unknown, field: string): FieldError[] {
  const errs: FieldError[] = [];
  for (const [k, v] of Object.entries(obj(list))) {
    const at = `${field}[${k}]`;
    const before = errs.length;
    errs.push(...validateNonNegativeQuantity(v, at));
    const n = parseQuantity(v);
    if (errs.length === before && (COUNTS.has(k) || k.startsWith("count/")) && !Number.isInteger(n))
      errs.push(invalid(at, v, "must be an integer"));
  }
  return errs;
}

function validateQuota(rq: ResourceQuota): FieldError[] {
  const spec = specOf(rq);
  const errs = validateList(spec.hard, "spec.hard");
  const scopes = Array.isArray(spec.scopes) ? spec.scopes : [];
  scopes.forEach((s, i) => {
    if (!SCOPES.includes(s)) errs.push(notSupported(`spec.scopes[${i}]`, s, SCOPES));
  });
  return errs;
}

/** "name: used/hard" cells of the REQUEST or LIMIT column, sorted by name (printResourceQuota). */
function usageCell(rq: ResourceQuota, limits: boolean): string {
  const names = Object.keys(rq.spec?.hard ?? {}).sort();
  const used = rq.status?.used ?? {};
  const hard = rq.status?.hard ?? {};
  return names
    .filter((n) => (n.split(".")[0] === "limits" && n.includes(".")) === limits)
    .map((n) => `${n}: ${used[n] ?? "0"}/${hard[n] ?? "0"}`)
    .join(", ");
}

/** The ResourceQuota strategy. */
export const resourceQuotaStrategy: Strategy<ResourceQuota> = {
  ...statusSplit<ResourceQuota>(() => ({})),
  validate: (rq) => validateQuota(rq),
  validateStatusUpdate: (rq) => [
    ...validateList(rq.status?.hard, "status.hard"),
    ...validateList(rq.status?.used, "status.used"),
  ],
  specChanged: specDiffers,
  columns: [
    AGE,
    col("Request", "Request represents a minimum amount of cpu/memory that a container may consume."),
    col(
      "Limit",
      "Limits control the maximum amount of cpu/memory that a container may use independent of contention on the node.",
    ),
  ],
  row: (rq, now) => [age(rq, now), usageCell(rq, false), usageCell(rq, true)],
};
