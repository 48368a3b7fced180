/**
 * fieldValidation=Strict|Warn|Ignore: unknown fields (from the OpenAPI
 * schema, through the injected checker) and duplicate fields (from the
 * decoder). Strict fails the request with 400 BadRequest listing them, as
 * kube-apiserver does ("strict decoding error: ..."); Warn adds Warning
 * headers; both Warn and Ignore drop unknown fields before the object goes on.
 */
import type { KubeObject } from "../client/kube.ts";
import { ApiError } from "../client/status.ts";
import type { ResourceInfo } from "./registry/types.ts";

/** Returns the paths of fields not in the model's schema ("spec.foo", "spec.containers[0].bar"). */
export type UnknownFieldsChecker = (model: string, object: unknown) => { unknown: string[] };

/** The validation level a request asked for (default Warn, as in Kubernetes). */
export type FieldValidation = "Strict" | "Warn" | "Ignore";

/** Parse ?fieldValidation (400 for anything else). */
export function fieldValidationFrom(url: URL): FieldValidation {
  const v = url.searchParams.get("fieldValidation");
  if (v === null || v === "") return "Warn";
  if (v === "Strict" || v === "Warn" || v === "Ignore") return v;
  throw new ApiError(
    "BadRequest",
    `fieldValidation must be one of "Ignore", "Warn", or "Strict", got "${v}"`,
  );
}

/** Remove a field path like "spec.containers[0].foo" from an object. */
function dropField(object: unknown, path: string): void {
  const segs = path.match(/[^.[\]]+|\[\d+\]/g) ?? [];
  let node: unknown = object;
  for (let i = 0; i < segs.length; i++) {
    const seg = segs[i];
    const last = i === segs.length - 1;
    if (node === null || typeof node !== "object") return;
    if (seg.startsWith("[")) {
      const index = Number(seg.slice(1, -1));
      if (!Array.isArray(node)) return;
      if (last) return;
      node = node[index];
    } else {
      const map = node as Record<string, unknown>;
      if (last) delete map[seg];
      else node = map[seg];
    }
  }
}

/** Check unknown and duplicate fields per the level; returns warnings; mutates `object` to drop unknown fields. */
export function checkFields(
  info: ResourceInfo,
  object: KubeObject,
  duplicates: string[],
  level: FieldValidation,
  checker: UnknownFieldsChecker | undefined,
): string[] {
  // A custom resource is pruned by its own schema (what kube reports as unknown fields for CRs).
  if (info.customResource) return checkCustom(info, object, duplicates, level);
  if (level === "Ignore" && !checker) return [];
  let unknown: string[] = [];
  if (checker) {
    try {
      unknown = checker(info.model, object).unknown;
    } catch {
      unknown = []; // a schema gap must not fail writes
    }
  }
  return report(info, object, unknown, duplicates, level);
}

/** Unknown fields of a custom resource: pruned (Warn/Ignore) or refused (Strict), by its CRD's schema. */
function checkCustom(
  info: ResourceInfo,
  object: KubeObject,
  duplicates: string[],
  level: FieldValidation,
): string[] {
  // Strict must see what would be pruned before anything is; otherwise prune in place (keys may hold dots).
  const target = level === "Strict" ? structuredClone(object) : object;
  const unknown = info.customResource?.prune(target) ?? [];
  return report(info, object, unknown, duplicates, level);
}

/** Strict: 400 listing the problems; otherwise drop the unknown fields and return warnings for Warn. */
function report(
  info: ResourceInfo,
  object: KubeObject,
  unknown: string[],
  duplicates: string[],
  level: FieldValidation,
): string[] {
  const problems = [
    ...unknown.map((p) => `unknown field "${p}"`),
    ...duplicates.map((p) => `duplicate field "${p}"`),
  ];
  if (level === "Strict" && problems.length) {
    const kind = info.kind;
    throw new ApiError(
      "BadRequest",
      `${kind} in version "${info.version}" cannot be handled as a ${kind}: strict decoding error: ${problems.join(", ")}`,
      {
        kind: info.resource,
        name: object.metadata?.name,
        causes: [
          ...unknown.map((p) => ({ reason: "FieldValueInvalid", message: `unknown field "${p}"`, field: p })),
          ...duplicates.map((p) => ({
            reason: "FieldValueDuplicate",
            message: `duplicate field "${p}"`,
            field: p,
          })),
        ],
      },
    );
  }
  // Unknown fields are dropped (as the typed decoder would); deepest paths first so indices stay valid.
  for (const p of [...unknown].sort((a, b) => b.length - a.length)) dropField(object, p);
  return level === "Warn" ? problems : [];
}

/** A Warning header value (RFC 7234 code 299). */
export function warningHeader(text: string): string {
  return `299 - ${JSON.stringify(text)}`;
}
