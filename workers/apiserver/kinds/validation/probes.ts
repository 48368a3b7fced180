/**
 * Probe, lifecycle handler and node affinity validation (validateProbe,
 * validateHandler, ValidateNodeSelector), shared by every container.
 */
import type { FieldError } from "../../registry/types.ts";
import { forbidden, invalid, notSupported, required } from "./errors.ts";
import { nonNegativeInt, positiveInt, validPort } from "./numbers.ts";

type Obj = Record<string, unknown>;

const HANDLERS = ["exec", "httpGet", "tcpSocket", "grpc"];
const NODE_SELECTOR_OPERATORS = ["DoesNotExist", "Exists", "Gt", "In", "Lt", "NotIn"];

function validateHandler(handler: Obj, path: string, allowed: string[]): FieldError[] {
  const set = allowed.filter((h) => handler[h] !== undefined && handler[h] !== null);
  if (set.length === 0) return [required(path, "must specify a handler type")];
  if (set.length > 1) return [forbidden(`${path}.${set[1]}`, "may not specify more than 1 handler type")];
  const errs: FieldError[] = [];
  const h = handler[set[0]] as Obj;
  if (set[0] === "exec" && (!Array.isArray(h?.command) || h.command.length === 0))
    errs.push(required(`${path}.exec.command`));
  if (set[0] === "httpGet") {
    if (h?.port === undefined) errs.push(required(`${path}.httpGet.port`));
    else if (typeof h.port === "number") errs.push(...validPort(h.port, `${path}.httpGet.port`));
    if (h?.scheme !== undefined && h.scheme !== "HTTP" && h.scheme !== "HTTPS")
      errs.push(notSupported(`${path}.httpGet.scheme`, h.scheme, ["HTTP", "HTTPS"]));
  }
  if (set[0] === "tcpSocket" && h?.port === undefined) errs.push(required(`${path}.tcpSocket.port`));
  if (set[0] === "grpc") errs.push(...validPort(h?.port, `${path}.grpc.port`));
  return errs;
}

/** Errors of a liveness/readiness/startup probe at `path` (absent: none). */
export function validateProbe(probe: unknown, path: string): FieldError[] {
  if (probe === undefined || probe === null) return [];
  if (typeof probe !== "object") return [invalid(path, probe, "must be an object")];
  const p = probe as Obj;
  return [
    ...validateHandler(p, path, HANDLERS),
    ...nonNegativeInt(p.initialDelaySeconds, `${path}.initialDelaySeconds`),
    ...positiveInt(p.timeoutSeconds, `${path}.timeoutSeconds`),
    ...positiveInt(p.periodSeconds, `${path}.periodSeconds`),
    ...positiveInt(p.successThreshold, `${path}.successThreshold`),
    ...positiveInt(p.failureThreshold, `${path}.failureThreshold`),
  ];
}

/** Errors of a container's lifecycle hooks (postStart/preStop). */
export function validateLifecycle(lifecycle: unknown, path: string): FieldError[] {
  if (!lifecycle || typeof lifecycle !== "object") return [];
  const errs: FieldError[] = [];
  for (const hook of ["postStart", "preStop"]) {
    const h = (lifecycle as Obj)[hook];
    if (h)
      errs.push(...validateHandler(h as Obj, `${path}.${hook}`, ["exec", "httpGet", "tcpSocket", "sleep"]));
  }
  return errs;
}

/** Errors of spec.affinity.nodeAffinity's node selector terms (operators and values). */
export function validateAffinity(affinity: unknown, path: string): FieldError[] {
  const node = ((affinity ?? {}) as Obj).nodeAffinity as Obj | undefined;
  const required_ = (node?.requiredDuringSchedulingIgnoredDuringExecution ?? undefined) as Obj | undefined;
  if (!required_) return [];
  const termsPath = `${path}.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms`;
  const terms = required_.nodeSelectorTerms;
  if (!Array.isArray(terms) || terms.length === 0)
    return [required(termsPath, "must have at least one node selector term")];
  const errs: FieldError[] = [];
  terms.forEach((term: Obj, i) => {
    for (const kind of ["matchExpressions", "matchFields"]) {
      const exprs = (term?.[kind] ?? []) as Obj[];
      exprs.forEach((e, j) => {
        const p = `${termsPath}[${i}].${kind}[${j}]`;
        const values = (e.values ?? []) as unknown[];
        if (!NODE_SELECTOR_OPERATORS.includes(e.operator as string))
          errs.push(notSupported(`${p}.operator`, e.operator, NODE_SELECTOR_OPERATORS));
        else if ((e.operator === "In" || e.operator === "NotIn") && values.length === 0)
          errs.push(required(`${p}.values`, "must be specified when `operator` is 'In' or 'NotIn'"));
        else if ((e.operator === "Exists" || e.operator === "DoesNotExist") && values.length > 0)
          errs.push(
            forbidden(`${p}.values`, "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"),
          );
        else if ((e.operator === "Gt" || e.operator === "Lt") && values.length !== 1)
          errs.push(
            required(`${p}.values`, "must be specified single value when `operator` is 'Lt' or 'Gt'"),
          );
      });
    }
  });
  return errs;
}
