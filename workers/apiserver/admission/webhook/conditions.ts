/**
 * Webhook matchConditions: CEL expressions over `object`, `oldObject` and
 * `request` (kube's matchconditions.Matcher), evaluated with
 * @marcbachmann/cel-js. Any false condition skips the webhook; errors with
 * none false refuse the write under failurePolicy Fail and skip the webhook
 * under Ignore. kube's `authorizer` variable is not offered: an expression
 * naming it does not compile, so it is refused when the configuration is written.
 */
import { Environment } from "@marcbachmann/cel-js";
import type { ReviewRequest } from "./review.ts";
import type { WebhookSpec } from "./validation.ts";

/** The CEL environment of match conditions (immutable once built): every variable is dynamically typed JSON. */
const ENV = new Environment()
  .registerVariable("object", "dyn")
  .registerVariable("oldObject", "dyn")
  .registerVariable("request", "dyn");

/** Why an expression cannot be a match condition, or undefined when it compiles to bool (or dyn). */
export function compileError(expression: string): string | undefined {
  let checked: ReturnType<Environment["check"]>;
  try {
    checked = ENV.check(expression);
  } catch (error) {
    return (error as Error).message;
  }
  if (!checked.valid) return checked.error?.message ?? "invalid expression";
  if (checked.type !== "bool" && checked.type !== "dyn") return `must evaluate to bool, not ${checked.type}`;
  return undefined;
}

/** JSON as CEL sees it: integers are CEL ints (bigint in cel-js), other numbers doubles. */
function celValue(value: unknown): unknown {
  if (typeof value === "number") return Number.isInteger(value) ? BigInt(value) : value;
  if (Array.isArray(value)) return value.map(celValue);
  if (value && typeof value === "object")
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, celValue(v)]));
  return value;
}

/** The outcome of a webhook's match conditions. */
export type ConditionResult = { matches: true } | { matches: false } | { error: string };

/** Evaluate a webhook's matchConditions for a request (kube's Matcher.Match, failurePolicy included). */
export function evaluateConditions(hook: WebhookSpec, request: ReviewRequest): ConditionResult {
  const conditions: { name?: string; expression?: string }[] = Array.isArray(hook.matchConditions)
    ? hook.matchConditions
    : [];
  if (!conditions.length) return { matches: true };
  const { object, oldObject, ...rest } = request;
  const vars = {
    object: celValue(object ?? null),
    oldObject: celValue(oldObject ?? null),
    // kube's `request` is the AdmissionRequest without the objects, which have their own variables.
    request: celValue(rest),
  };
  const errors: string[] = [];
  for (const condition of conditions) {
    try {
      const result = ENV.evaluate(String(condition.expression), vars);
      if (result === false) return { matches: false };
      if (result !== true) errors.push(`matchCondition "${condition.name}": must evaluate to bool`);
    } catch (error) {
      errors.push(`matchCondition "${condition.name}": ${(error as Error).message.split("\n")[0]}`);
    }
  }
  if (!errors.length) return { matches: true };
  return hook.failurePolicy === "Ignore" ? { matches: false } : { error: errors.join(", ") };
}
