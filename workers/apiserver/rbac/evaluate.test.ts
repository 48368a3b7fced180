import type { PolicyRule } from "kubernetes-types/rbac/v1.js";
import { describe, expect, it } from "vitest";
import { type Attributes, appliesTo, ruleAllows } from "./evaluate.ts";

const r = (
  verbs: string[],
  apiGroups: string[],
  resources: string[],
  resourceNames?: string[],
): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
  ...(resourceNames ? { resourceNames } : {}),
});
const get = (resource: string, extra: Partial<Attributes> = {}): Attributes => ({
  verb: "get",
  apiGroup: "",
  resource,
  namespace: "ns1",
  ...extra,
});

/** After kube's rbac_test.go TestRuleMatches: [name, rule, request, allowed]. */
const TABLE: [string, PolicyRule, Attributes, boolean][] = [
  ["star verb", r(["*"], [""], ["pods"]), get("pods", { verb: "delete" }), true],
  ["exact verb", r(["get"], [""], ["pods"]), get("pods"), true],
  ["other verb", r(["list"], [""], ["pods"]), get("pods"), false],
  ["verb case is exact", r(["GET"], [""], ["pods"]), get("pods"), false],
  ["star group", r(["get"], ["*"], ["deployments"]), get("deployments", { apiGroup: "apps" }), true],
  ["other group", r(["get"], [""], ["deployments"]), get("deployments", { apiGroup: "apps" }), false],
  ["star resource", r(["get"], [""], ["*"]), get("secrets"), true],
  ["star resource covers subresources", r(["get"], [""], ["*"]), get("pods", { subresource: "log" }), true],
  ["resource without subresource", r(["get"], [""], ["pods"]), get("pods", { subresource: "log" }), false],
  ["exact subresource", r(["get"], [""], ["pods/log"]), get("pods", { subresource: "log" }), true],
  ["subresource rule is not the resource", r(["get"], [""], ["pods/log"]), get("pods"), false],
  [
    "*/scale",
    r(["update"], ["apps"], ["*/scale"]),
    get("deployments", { verb: "update", apiGroup: "apps", subresource: "scale" }),
    true,
  ],
  [
    "*/scale is not scale-less",
    r(["get"], ["apps"], ["*/scale"]),
    get("deployments", { apiGroup: "apps" }),
    false,
  ],
  ["*/scale is not */status", r(["get"], [""], ["*/scale"]), get("pods", { subresource: "status" }), false],
  ["named resource", r(["get"], [""], ["pods"], ["a"]), get("pods", { name: "a" }), true],
  ["other name", r(["get"], [""], ["pods"], ["a"]), get("pods", { name: "b" }), false],
  ["names never match a list", r(["list"], [""], ["pods"], ["a"]), get("pods", { verb: "list" }), false],
  ["url exact", { verbs: ["get"], nonResourceURLs: ["/healthz"] }, { verb: "get", path: "/healthz" }, true],
  [
    "url prefix",
    { verbs: ["get"], nonResourceURLs: ["/apis/*"] },
    { verb: "get", path: "/apis/apps/v1" },
    true,
  ],
  [
    "url prefix needs the prefix",
    { verbs: ["get"], nonResourceURLs: ["/apis/*"] },
    { verb: "get", path: "/api" },
    false,
  ],
  ["url star", { verbs: ["get"], nonResourceURLs: ["*"] }, { verb: "get", path: "/metrics" }, true],
  ["url rule does not grant resources", { verbs: ["get"], nonResourceURLs: ["*"] }, get("pods"), false],
  ["resource rule does not grant urls", r(["*"], ["*"], ["*"]), { verb: "get", path: "/healthz" }, false],
  ["url verb", { verbs: ["post"], nonResourceURLs: ["/x"] }, { verb: "get", path: "/x" }, false],
];

describe("RBAC rule matching (RuleAllows)", () => {
  it.each(TABLE)("%s", (_name, rule, attributes, allowed) => {
    expect(ruleAllows(attributes, rule)).toBe(allowed);
  });
});

describe("RBAC subjects (appliesTo)", () => {
  const alice = { name: "alice", groups: ["dev", "system:authenticated"] };
  const bot = {
    name: "system:serviceaccount:ns1:bot",
    groups: ["system:serviceaccounts", "system:serviceaccounts:ns1", "system:authenticated"],
  };
  it.each([
    ["user by name", alice, { kind: "User", name: "alice" }, "", true],
    ["other user", alice, { kind: "User", name: "bob" }, "", false],
    ["group", alice, { kind: "Group", name: "dev" }, "", true],
    ["system:authenticated", bot, { kind: "Group", name: "system:authenticated" }, "", true],
    [
      "all service accounts of a namespace",
      bot,
      { kind: "Group", name: "system:serviceaccounts:ns1" },
      "",
      true,
    ],
    [
      "service account by namespace",
      bot,
      { kind: "ServiceAccount", name: "bot", namespace: "ns1" },
      "",
      true,
    ],
    ["service account in the binding's namespace", bot, { kind: "ServiceAccount", name: "bot" }, "ns1", true],
    ["service account of another namespace", bot, { kind: "ServiceAccount", name: "bot" }, "ns2", false],
    ["service account without any namespace", bot, { kind: "ServiceAccount", name: "bot" }, "", false],
    ["unknown kind", alice, { kind: "Robot", name: "alice" }, "", false],
  ] as const)("%s", (_name, user, subject, namespace, applies) => {
    expect(appliesTo(user, { ...subject }, namespace)).toBe(applies);
  });
});
