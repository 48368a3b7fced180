import { describe, expect, it } from "vitest";
import { humanDuration } from "../print.ts";
import { validateSchedule } from "./cron.ts";
import { validateDNS1123Label, validateLabels, validatePortName, validateQualifiedName } from "./names.ts";
import { defaultPullPolicy } from "./podspec-defaults.ts";
import { parseQuantity } from "./quantity.ts";
import { validateLabelSelector } from "./selector.ts";
import { validateWorkloadSpec } from "./workload.ts";

describe("names and labels", () => {
  it("accepts and rejects DNS-1123 labels as kube does", () => {
    expect(validateDNS1123Label("web-1", "f")).toEqual([]);
    expect(validateDNS1123Label("", "f")[0].reason).toBe("FieldValueRequired");
    expect(validateDNS1123Label("Web", "f")[0].message).toMatch(
      /^Invalid value: "Web": a lowercase RFC 1123 label/,
    );
    expect(validateDNS1123Label("a".repeat(64), "f")[0].message).toMatch(/no more than 63 characters/);
  });

  it("checks qualified label keys and values", () => {
    expect(validateQualifiedName("app.kubernetes.io/name", "k")).toEqual([]);
    expect(validateQualifiedName("a/b/c", "k")).toHaveLength(1);
    expect(validateQualifiedName("-bad", "k")).toHaveLength(1);
    expect(validateLabels({ "app.kubernetes.io/name": "web", tier: "" }, "l")).toEqual([]);
    expect(validateLabels({ ok: "bad value!" }, "l").map((e) => e.field)).toEqual(["l"]);
  });

  it("checks IANA port names", () => {
    expect(validatePortName("http", "p")).toEqual([]);
    expect(validatePortName("8080", "p")).toHaveLength(1);
    expect(validatePortName("a--b", "p")).toHaveLength(1);
    expect(validatePortName("a-very-long-port-name", "p")).toHaveLength(1);
  });
});

describe("quantities", () => {
  it("parses decimal and binary suffixes", () => {
    expect(parseQuantity("500m")).toBe(0.5);
    expect(parseQuantity("1Gi")).toBe(2 ** 30);
    expect(parseQuantity("2e3")).toBe(2000);
    expect(parseQuantity(3)).toBe(3);
    expect(parseQuantity("lots")).toBeUndefined();
    expect(parseQuantity("1.5.2")).toBeUndefined();
  });
});

describe("label selectors", () => {
  const selector = {
    matchLabels: { app: "web" },
    matchExpressions: [
      { key: "tier", operator: "In", values: ["b", "a"] },
      { key: "legacy", operator: "DoesNotExist" },
    ],
  };
  it("validate (matching and formatting: workers/client/labels.test.ts)", () => {
    expect(validateLabelSelector(selector, "s")).toEqual([]);
    const bad = validateLabelSelector(
      {
        matchExpressions: [
          { key: "k", operator: "In" },
          { key: "k", operator: "Near", values: [] },
        ],
      },
      "s",
    );
    expect(bad.map((e) => `${e.field}:${e.reason}`)).toEqual([
      "s.matchExpressions[0].values:FieldValueRequired",
      "s.matchExpressions[1].operator:FieldValueNotSupported",
    ]);
  });
});

describe("cron schedules", () => {
  it("accepts standard, named and descriptor schedules, and rejects others", () => {
    for (const ok of ["*/5 * * * *", "0 3 * * MON-FRI", "15 1,13 1-7 JAN *", "@hourly", "@every 90s"])
      expect(validateSchedule(ok, "s"), ok).toEqual([]);
    for (const bad of ["* * * *", "60 * * * *", "0 24 * * *", "@sometimes", "CRON_TZ=UTC 0 * * * *", ""])
      expect(validateSchedule(bad, "s"), bad).toHaveLength(1);
  });
});

describe("printing and defaults helpers", () => {
  it("formats ages as duration.HumanDuration", () => {
    const s = 1000;
    expect(humanDuration(5 * s)).toBe("5s");
    expect(humanDuration(119 * s)).toBe("119s");
    expect(humanDuration(200 * s)).toBe("3m20s");
    expect(humanDuration(45 * 60 * s)).toBe("45m");
    expect(humanDuration(5 * 3600 * s + 60 * s)).toBe("5h1m");
    expect(humanDuration(30 * 3600 * s)).toBe("30h");
    expect(humanDuration(3 * 86400 * s + 3600 * s)).toBe("3d1h");
    expect(humanDuration(400 * 86400 * s)).toBe("400d");
    expect(humanDuration(3 * 365 * 86400 * s)).toBe("3y");
  });

  it("picks the image pull policy from the tag", () => {
    expect(defaultPullPolicy("nginx")).toBe("Always");
    expect(defaultPullPolicy("nginx:latest")).toBe("Always");
    expect(defaultPullPolicy("localhost:5000/nginx")).toBe("Always");
    expect(defaultPullPolicy("localhost:5000/nginx:1.2")).toBe("IfNotPresent");
    expect(defaultPullPolicy("nginx@sha256:abc")).toBe("IfNotPresent");
  });
});

describe("workload selectors", () => {
  it("a selector that does not compile is reported once, not matched against the template (kube's LabelSelectorAsSelector)", () => {
    const spec = {
      selector: { matchLabels: { app: "a" }, matchExpressions: [{ key: "x", operator: "Near" }] },
      template: {
        metadata: { labels: { app: "b" } },
        spec: { restartPolicy: "Always", containers: [{ name: "c", image: "busybox" }] },
      },
    };
    const errs = validateWorkloadSpec(spec, "spec", ["Always"]);
    expect(errs.map((e) => `${e.field}:${e.reason}`)).toEqual([
      "spec.selector.matchExpressions[0].operator:FieldValueNotSupported",
    ]);
  });
});
