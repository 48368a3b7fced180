/** Tiny accessors for untyped Kubernetes JSON, shared by the strategies. */

/** A JSON object. */
export type Obj = Record<string, unknown>;

/** `value` as an object, or an empty one when it is not an object. */
export function obj(value: unknown): Obj {
  return value && typeof value === "object" && !Array.isArray(value) ? (value as Obj) : {};
}

/** `value` as an array of objects, or an empty array. */
export function list(value: unknown): Obj[] {
  return Array.isArray(value) ? (value as Obj[]).map(obj) : [];
}

/** The object's spec, created empty when missing (for defaulting). */
export function specOf(object: { spec?: unknown }): Obj {
  if (!object.spec || typeof object.spec !== "object" || Array.isArray(object.spec)) object.spec = {};
  return obj(object.spec);
}

/** Set `key` when it is unset (undefined or null): the shape of every SetDefaults_* line. */
export function setDefault(o: Obj, key: string, value: unknown): void {
  if (o[key] === undefined || o[key] === null) o[key] = value;
}

/** The value at a dotted path ("status.phase"), as a string for field selectors. */
function fieldString(object: unknown, path: string): string | undefined {
  let cur: unknown = object;
  for (const part of path.split(".")) {
    if (!cur || typeof cur !== "object") return undefined;
    cur = (cur as Obj)[part];
  }
  if (cur === undefined || cur === null) return undefined;
  return typeof cur === "object" ? JSON.stringify(cur) : String(cur);
}

/** Field selector getters for plain paths: `fields("spec.nodeName", "status.phase")`. */
export function fields(...paths: string[]): Record<string, (object: object) => string | undefined> {
  return Object.fromEntries(paths.map((p) => [p, (o: object) => fieldString(o, p) ?? ""]));
}
