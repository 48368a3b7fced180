/**
 * metav1.LabelSelector as the controllers, the printers and the API server
 * read it: compiled once into a matcher (kube's LabelSelectorAsSelector) and
 * printed in its string form. One implementation, so a selector selects the
 * same objects wherever it is evaluated.
 */
import { ApiError } from "./status.ts";
import type { LabelSelector, LabelSelectorRequirement } from "./types.ts";

/** A label set (metadata.labels). */
export type Labels = Record<string, string>;

/** A compiled label selector: true when the labels are selected. */
export type LabelMatcher = (labels: Labels | undefined) => boolean;

const nothing: LabelMatcher = () => false;

function requirement(expr: LabelSelectorRequirement): (labels: Labels) => boolean {
  const { key } = expr;
  const values = expr.values ?? [];
  switch (expr.operator) {
    case "In":
      return (l) => Object.hasOwn(l, key) && values.includes(l[key]);
    case "NotIn":
      return (l) => !Object.hasOwn(l, key) || !values.includes(l[key]);
    case "Exists":
      return (l) => Object.hasOwn(l, key);
    case "DoesNotExist":
      return (l) => !Object.hasOwn(l, key);
    default:
      // kube's LabelSelectorAsSelector refuses the selector as a whole, at parse time.
      throw new ApiError("BadRequest", `"${expr.operator}" is not a valid label selector operator`);
  }
}

/**
 * Compile a LabelSelector (metav1.LabelSelectorAsSelector): a missing selector
 * selects nothing, an empty one everything; an unknown operator throws ApiError
 * BadRequest here rather than matching or not matching silently later.
 */
export function labelSelectorAsMatcher(selector: LabelSelector | undefined): LabelMatcher {
  if (!selector) return nothing;
  const tests = [
    ...Object.entries(selector.matchLabels ?? {}).map(
      ([k, v]) =>
        (l: Labels) =>
          Object.hasOwn(l, k) && l[k] === v,
    ),
    ...(selector.matchExpressions ?? []).map(requirement),
  ];
  return (labels = {}) => tests.every((test) => test(labels));
}

/** Whether `labels` satisfy `selector` (compile + match; throws on an unknown operator). */
export function selectorMatches(selector: LabelSelector | undefined, labels: Labels | undefined): boolean {
  return labelSelectorAsMatcher(selector)(labels);
}

/** True when the selector has no requirements (selects everything). */
export function selectorIsEmpty(selector: LabelSelector | undefined): boolean {
  return (
    !selector ||
    (Object.keys(selector.matchLabels ?? {}).length === 0 && (selector.matchExpressions ?? []).length === 0)
  );
}

/** The selector's string form as kube's selector.String() prints it ("" when empty), e.g. "app=web,tier in (a,b),!legacy". */
export function labelSelectorString(selector: LabelSelector | undefined): string {
  if (!selector) return "";
  const parts: { key: string; text: string }[] = Object.entries(selector.matchLabels ?? {}).map(
    ([key, value]) => ({ key, text: `${key}=${value}` }),
  );
  for (const e of selector.matchExpressions ?? []) {
    const values = [...(e.values ?? [])].sort().join(",");
    if (e.operator === "In") parts.push({ key: e.key, text: `${e.key} in (${values})` });
    else if (e.operator === "NotIn") parts.push({ key: e.key, text: `${e.key} notin (${values})` });
    else if (e.operator === "Exists") parts.push({ key: e.key, text: e.key });
    else if (e.operator === "DoesNotExist") parts.push({ key: e.key, text: `!${e.key}` });
  }
  // kube sorts requirements by key (stable, so equal keys keep their order).
  return parts
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .map((p) => p.text)
    .join(",");
}

/** The selector as kubectl prints it (metav1.FormatLabelSelector): its string form, or "<none>". */
export function formatLabelSelector(selector: LabelSelector | undefined): string {
  return labelSelectorString(selector) || "<none>";
}
