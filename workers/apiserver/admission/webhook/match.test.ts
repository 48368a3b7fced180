/** Rule matching as kube's webhook predicates do it: operations, groups, versions, resources with wildcards, scope, selectors. */
import { describe, expect, it } from "vitest";
import {
  isExempt,
  type MatchAttributes,
  namespaceSelectorMatches,
  objectSelectorMatches,
  rulesMatch,
} from "./match.ts";

const pods: MatchAttributes = {
  operation: "CREATE",
  group: "",
  version: "v1",
  resource: "pods",
  subresource: "",
  namespaced: true,
};
const served = (group: string, resource: string) =>
  group === "autoscaling" && resource === "horizontalpodautoscalers" ? ["v2", "v1"] : ["v1"];
const rule = (resources: string[], extra: Record<string, unknown> = {}) => ({
  rules: [{ operations: ["CREATE", "UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources, ...extra }],
});

describe("webhook rule matching", () => {
  it("matches resources and subresources with kube's wildcards", () => {
    const status = { ...pods, operation: "UPDATE" as const, subresource: "status" };
    const cases: [string[], boolean, boolean][] = [
      // resources, matches pods, matches pods/status
      [["pods"], true, false],
      [["*"], true, false],
      [["pods/*"], false, true],
      [["*/status"], false, true],
      [["*/*"], true, true],
      [["pods/status"], false, true],
      [["pods/log"], false, false],
      [["services"], false, false],
    ];
    for (const [resources, main, sub] of cases) {
      expect(rulesMatch(rule(resources), pods, served), `${resources} on pods`).toBe(main);
      expect(rulesMatch(rule(resources), status, served), `${resources} on pods/status`).toBe(sub);
    }
  });

  it("matches operations, groups, versions and scope", () => {
    expect(rulesMatch(rule(["pods"]), { ...pods, operation: "DELETE" }, served)).toBe(false);
    expect(rulesMatch(rule(["pods"], { operations: ["*"] }), { ...pods, operation: "DELETE" }, served)).toBe(
      true,
    );
    expect(rulesMatch(rule(["pods"], { apiGroups: ["apps"] }), pods, served)).toBe(false);
    expect(rulesMatch(rule(["pods"], { apiGroups: ["*"], apiVersions: ["*"] }), pods, served)).toBe(true);
    expect(rulesMatch(rule(["pods"], { scope: "Cluster" }), pods, served)).toBe(false);
    expect(rulesMatch(rule(["pods"], { scope: "Namespaced" }), pods, served)).toBe(true);
    const nodes = { ...pods, resource: "nodes", namespaced: false };
    expect(rulesMatch(rule(["nodes"], { scope: "Cluster" }), nodes, served)).toBe(true);
    expect(rulesMatch(rule(["nodes"], { scope: "Namespaced" }), nodes, served)).toBe(false);
    expect(rulesMatch(rule(["nodes"], { scope: "*" }), nodes, served)).toBe(true);
  });

  it("matches an equivalent version unless matchPolicy is Exact", () => {
    const hpaV2 = { ...pods, group: "autoscaling", version: "v2", resource: "horizontalpodautoscalers" };
    const hook = rule(["horizontalpodautoscalers"], { apiGroups: ["autoscaling"], apiVersions: ["v1"] });
    expect(rulesMatch({ ...hook, matchPolicy: "Equivalent" }, hpaV2, served)).toBe(true);
    expect(rulesMatch({ ...hook, matchPolicy: "Exact" }, hpaV2, served)).toBe(false);
    expect(
      rulesMatch({ ...rule(["pods"]), matchPolicy: "Equivalent" }, { ...pods, version: "v9" }, served),
    ).toBe(true);
  });

  it("selects on the new or the old object's labels, and on the namespace's", () => {
    const hook = {
      objectSelector: { matchLabels: { app: "web" } },
      namespaceSelector: { matchLabels: { env: "prod" } },
    };
    expect(objectSelectorMatches(hook, { app: "web" }, undefined)).toBe(true);
    expect(objectSelectorMatches(hook, { app: "db" }, { app: "web" })).toBe(true);
    expect(objectSelectorMatches(hook, { app: "db" }, undefined)).toBe(false);
    expect(objectSelectorMatches({ objectSelector: {} }, undefined, undefined)).toBe(true);
    // A delete has no new object: only the stored one's labels are selected on.
    const absent = { objectSelector: { matchExpressions: [{ key: "app", operator: "DoesNotExist" }] } };
    expect(objectSelectorMatches(absent, undefined, { app: "web" })).toBe(false);
    expect(objectSelectorMatches(absent, undefined, {})).toBe(true);
    expect(namespaceSelectorMatches(hook, { env: "prod" })).toBe(true);
    expect(namespaceSelectorMatches(hook, { env: "dev" })).toBe(false);
    // Cluster-scoped objects (other than namespaces) have no namespace to select on.
    expect(namespaceSelectorMatches(hook, undefined)).toBe(true);
  });

  it("exempts the webhook configurations themselves", () => {
    expect(isExempt("admissionregistration.k8s.io", "validatingwebhookconfigurations")).toBe(true);
    expect(isExempt("admissionregistration.k8s.io", "mutatingwebhookconfigurations")).toBe(true);
    expect(isExempt("", "pods")).toBe(false);
  });
});
