/**
 * Label and field selectors, as the API accepts them in ?labelSelector= and
 * ?fieldSelector=. Parsing errors are 400 BadRequest; a field that the kind
 * does not support is 400 too, as in Kubernetes.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { ResourceInfo } from "./types.ts";

/** A compiled selector: true when the object is selected. */
export type Matcher = (object: KubeObject) => boolean;

/** Always true: no selector. */
export const everything: Matcher = () => true;

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let current = "";
  for (const ch of text) {
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    if (ch === "," && depth === 0) {
      out.push(current);
      current = "";
    } else current += ch;
  }
  out.push(current);
  return out.map((s) => s.trim()).filter((s) => s !== "");
}

type LabelTest = (labels: Record<string, string>) => boolean;

const KEY = "([A-Za-z0-9][-A-Za-z0-9_./]*)?[A-Za-z0-9]";

function parseRequirement(term: string): LabelTest {
  let m = term.match(new RegExp(`^(${KEY})\\s+(in|notin)\\s*\\(([^)]*)\\)$`));
  if (m) {
    const key = m[1];
    const values = new Set(
      m[4]
        .split(",")
        .map((v) => v.trim())
        .filter((v) => v !== ""),
    );
    return m[3] === "in" ? (l) => key in l && values.has(l[key]) : (l) => !(key in l) || !values.has(l[key]);
  }
  m = term.match(new RegExp(`^(${KEY})\\s*(==|=|!=|>|<)\\s*([^\\s]*)$`));
  if (m) {
    const [key, op, value] = [m[1], m[3], m[4]];
    if (op === "==" || op === "=") return (l) => l[key] === value;
    if (op === "!=") return (l) => l[key] !== value;
    const n = Number(value);
    if (!Number.isInteger(n)) throw new ApiError("BadRequest", `unable to parse requirement: ${term}`);
    return op === ">" ? (l) => key in l && Number(l[key]) > n : (l) => key in l && Number(l[key]) < n;
  }
  m = term.match(new RegExp(`^(!?)\\s*(${KEY})$`));
  if (m) {
    const key = m[2];
    return m[1] ? (l) => !(key in l) : (l) => key in l;
  }
  throw new ApiError(
    "BadRequest",
    `unable to parse requirement: found '${term}', expected: valid label selector`,
  );
}

/** Compile a label selector string (=, ==, !=, in, notin, exists, !key, >, <). */
function parseLabelSelector(selector: string | null | undefined): Matcher {
  if (!selector?.trim()) return everything;
  const tests = splitTopLevel(selector).map(parseRequirement);
  return (object) => {
    const labels = object.metadata?.labels ?? {};
    return tests.every((t) => t(labels));
  };
}

/** Value of a selectable field of an object, per the kind's strategy. */
function fieldGetter(info: ResourceInfo, field: string): ((o: KubeObject) => string | undefined) | undefined {
  if (field === "metadata.name") return (o) => o.metadata?.name;
  if (field === "metadata.namespace") return (o) => (info.namespaced ? o.metadata?.namespace : "");
  return info.strategy.fieldSelectors?.[field] as ((o: KubeObject) => string | undefined) | undefined;
}

function unescapeField(value: string): string {
  return value.replace(/\\(.)/g, "$1");
}

/** Compile a field selector (metadata.name, metadata.namespace + strategy.fieldSelectors; =, ==, !=). */
function parseFieldSelector(selector: string | null | undefined, info: ResourceInfo): Matcher {
  if (!selector?.trim()) return everything;
  const terms = selector
    .split(/(?<!\\),/)
    .map((t) => t.trim())
    .filter(Boolean);
  const tests = terms.map((term) => {
    const m = term.match(/^([^!=\s]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new ApiError("BadRequest", `invalid selector: '${selector}'; can't understand '${term}'`);
    const [field, op, raw] = [m[1], m[2], unescapeField(m[3])];
    const get = fieldGetter(info, field);
    if (!get) throw new ApiError("BadRequest", `field label not supported: ${field}`);
    return op === "!="
      ? (o: KubeObject) => (get(o) ?? "") !== raw
      : (o: KubeObject) => (get(o) ?? "") === raw;
  });
  return (object) => tests.every((t) => t(object));
}

/** Both selectors from a request's query. */
export function selectorFromQuery(url: URL, info: ResourceInfo): Matcher {
  const labels = parseLabelSelector(url.searchParams.get("labelSelector"));
  const fields = parseFieldSelector(url.searchParams.get("fieldSelector"), info);
  if (labels === everything) return fields;
  if (fields === everything) return labels;
  return (o) => labels(o) && fields(o);
}
