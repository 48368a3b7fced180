/**
 * Strict field validation: the JSON paths of fields an object carries that
 * its schema does not know (kube-apiserver's "unknown field" errors for
 * fieldValidation=Strict/Warn). Walks objects, arrays and maps; IntOrString,
 * quantities, times and embedded raw objects (RawExtension) are leaves.
 */
import { innerType, MODELS } from "./schemas.ts";

function walkType(t: string, value: unknown, path: string, out: string[]): void {
  if (value === null || value === undefined) return;
  const inner = innerType(t);
  if (inner?.kind === "array") {
    if (Array.isArray(value)) {
      value.forEach((v, i) => {
        walkType(inner.of, v, `${path}[${i}]`, out);
      });
    }
    return;
  }
  if (inner?.kind === "map") {
    if (typeof value === "object" && !Array.isArray(value))
      for (const [k, v] of Object.entries(value)) walkType(inner.of, v, `${path}[${k}]`, out);
    return;
  }
  if (MODELS[t]) walkModel(t, value, path, out);
}

function walkModel(model: string, value: unknown, path: string, out: string[]): void {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return;
  const properties = MODELS[model].properties;
  for (const [key, v] of Object.entries(value)) {
    const child = path ? `${path}.${key}` : key;
    const p = properties[key];
    if (!p) out.push(child);
    else walkType(p.t, v, child, out);
  }
}

/**
 * Paths of the fields in `object` that model `model` (a @kubernetes/client-node
 * name such as "V1Deployment") does not define, e.g.
 * "spec.template.spec.containers[0].imagePullPolicyy". Unknown model: none.
 */
export function unknownFields(model: string, object: unknown): string[] {
  if (!MODELS[model]) return [];
  const out: string[] = [];
  walkModel(model, object, "", out);
  return out;
}
