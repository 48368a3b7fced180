/**
 * The JSONPath subset CRD printer columns use (kube's client-go jsonpath as
 * additionalPrinterColumns call it): `.a.b`, `['a.b']`, `[0]`, `[*]`, and
 * filters `[?(@.type=="Ready")]`. Anything else yields no value, which kube
 * prints as an empty cell too.
 */

type Step =
  | { kind: "field"; name: string }
  | { kind: "index"; index: number }
  | { kind: "all" }
  | {
      kind: "filter";
      path: string[];
      value: string | number | boolean | undefined;
      op: "==" | "!=" | "exists";
    };

const FILTER =
  /^\?\(@((?:\.[A-Za-z0-9_-]+)+)\s*(?:(==|!=)\s*(?:"([^"]*)"|'([^']*)'|(-?\d+(?:\.\d+)?)|(true|false)))?\)$/;

/** One step of the subset at the start of `text`: the step and how many characters it took. */
function nextStep(text: string): { step: Step; length: number } | undefined {
  const field = /^\.([A-Za-z0-9_-]+)/.exec(text) ?? /^\[['"]([^'"]+)['"]\]/.exec(text);
  if (field) return { step: { kind: "field", name: field[1] }, length: field[0].length };
  const index = /^\[(\d+)\]/.exec(text);
  if (index) return { step: { kind: "index", index: Number(index[1]) }, length: index[0].length };
  if (text.startsWith("[*]")) return { step: { kind: "all" }, length: 3 };
  const filter = /^\[(\?\([^\]]*\))\]/.exec(text);
  const f = filter ? FILTER.exec(filter[1]) : null;
  if (!filter || !f) return undefined;
  const literal =
    f[3] ?? f[4] ?? (f[5] !== undefined ? Number(f[5]) : f[6] !== undefined ? f[6] === "true" : undefined);
  const op = (f[2] as "==" | "!=" | undefined) ?? "exists";
  return {
    step: { kind: "filter", path: f[1].slice(1).split("."), value: literal, op },
    length: filter[0].length,
  };
}

/** Parse a column's jsonPath into steps; undefined when it is outside the subset. */
export function parseJsonPath(path: string): Step[] | undefined {
  let rest = path
    .trim()
    .replace(/^\{(.*)\}$/, "$1")
    .replace(/^\$/, "");
  const steps: Step[] = [];
  while (rest) {
    const next = nextStep(rest);
    if (!next) return undefined;
    steps.push(next.step);
    rest = rest.slice(next.length);
  }
  return steps;
}

function fieldOf(value: unknown, name: string): unknown {
  return value !== null && typeof value === "object" && !Array.isArray(value)
    ? (value as Record<string, unknown>)[name]
    : undefined;
}

/** Every value the steps reach in `object`. */
export function evaluate(steps: Step[], object: unknown): unknown[] {
  let current: unknown[] = [object];
  for (const step of steps) {
    const next: unknown[] = [];
    for (const value of current) {
      if (step.kind === "field") {
        const v = fieldOf(value, step.name);
        if (v !== undefined) next.push(v);
      } else if (!Array.isArray(value)) continue;
      else if (step.kind === "index") {
        if (step.index < value.length) next.push(value[step.index]);
      } else if (step.kind === "all") next.push(...value);
      else
        for (const item of value) {
          const v = step.path.reduce<unknown>((node, name) => fieldOf(node, name), item);
          const hit =
            step.op === "exists" ? v !== undefined : step.op === "==" ? v === step.value : v !== step.value;
          if (hit) next.push(item);
        }
    }
    current = next;
  }
  return current;
}
