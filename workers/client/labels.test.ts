import { describe, expect, it } from "vitest";
import { formatLabelSelector, labelSelectorString, selectorMatches } from "./labels.ts";
import { ApiError } from "./status.ts";

describe("label selectors", () => {
  const selector = {
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["b", "a"] },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  };

  it("match as kube's LabelSelectorAsSelector: missing selects nothing, empty everything", () => {
    expect(selectorMatches(selector, { app: "web", tier: "a" })).toBe(true);
    expect(selectorMatches(selector, { app: "web", tier: "c" })).toBe(false);
    expect(selectorMatches(selector, { app: "web", tier: "a", legacy: "1" })).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: "tier", operator: "NotIn", values: ["a"] }] }, {}),
    ).toBe(true);
    expect(selectorMatches({ matchLabels: { toString: "x" } }, {})).toBe(false);
    expect(selectorMatches(undefined, { app: "web" })).toBe(false);
    expect(selectorMatches({}, { app: "web" })).toBe(true);
  });

  it("refuse an unknown operator at parse time, whatever the labels", () => {
    const bad = { matchExpressions: [{ key: "tier", operator: "Near", values: ["a"] }] };
    for (const labels of [{}, { tier: "a" }, { tier: "b" }] as Record<string, string>[]) {
      const error = (() => {
        try {
          selectorMatches(bad, labels);
        } catch (e) {
          return e;
        }
      })();
      expect(error).toBeInstanceOf(ApiError);
      expect((error as ApiError).code).toBe(400);
      expect((error as ApiError).message).toBe('"Near" is not a valid label selector operator');
    }
  });

  it("print as kube's selector.String(): requirements sorted by key, values sorted", () => {
    expect(labelSelectorString(selector)).toBe("app=web,!legacy,tier in (a,b)");
    expect(formatLabelSelector(selector)).toBe("app=web,!legacy,tier in (a,b)");
    expect(labelSelectorString({})).toBe("");
    expect(formatLabelSelector({})).toBe("<none>");
    expect(formatLabelSelector(undefined)).toBe("<none>");
  });
});
