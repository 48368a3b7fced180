/**
 * The default roles and bindings, after kube's bootstrappolicy
 * (plugin/pkg/auth/authorizer/rbac/bootstrappolicy/policy.go), trimmed to
 * the kinds Edgeplane serves: cluster-admin, admin/edit/view filled by label
 * aggregation from system:aggregate-to-*, system:basic-user,
 * system:discovery, system:public-info-viewer and system:auth-delegator.
 */
import type { ClusterRole, ClusterRoleBinding, PolicyRule } from "kubernetes-types/rbac/v1.js";
import { RBAC_GROUP } from "./cache.ts";

const READ = ["get", "list", "watch"];
const WRITE = ["create", "delete", "deletecollection", "patch", "update"];
const RW = [...WRITE, ...READ];
const BOOTSTRAP_LABELS = { "kubernetes.io/bootstrapping": "rbac-defaults" };
const AUTOUPDATE = { "rbac.authorization.kubernetes.io/autoupdate": "true" };

/** The label an aggregated role selects: rbac.authorization.k8s.io/aggregate-to-<admin|edit|view>. */
const aggregateTo = (role: string) => `${RBAC_GROUP}/aggregate-to-${role}`;

const rule = (verbs: string[], apiGroups: string[], resources: string[]): PolicyRule => ({
  verbs,
  apiGroups,
  resources,
});
const urls = (verbs: string[], nonResourceURLs: string[]): PolicyRule => ({ verbs, nonResourceURLs });

function clusterRole(name: string, rules: PolicyRule[], labels: Record<string, string> = {}): ClusterRole {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRole",
    metadata: { name, labels: { ...BOOTSTRAP_LABELS, ...labels }, annotations: AUTOUPDATE },
    rules,
  };
}

/** A ClusterRole whose rules are the union of the roles labelled aggregate-to-<name>. */
function aggregated(name: string, labels: Record<string, string> = {}): ClusterRole {
  return {
    ...clusterRole(name, [], labels),
    aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [aggregateTo(name)]: "true" } }] },
  };
}

const VIEW_RULES: PolicyRule[] = [
  rule(
    READ,
    [""],
    [
      "configmaps",
      "endpoints",
      "persistentvolumeclaims",
      "persistentvolumeclaims/status",
      "pods",
      "replicationcontrollers",
      "replicationcontrollers/scale",
      "serviceaccounts",
      "services",
      "services/status",
    ],
  ),
  rule(
    READ,
    [""],
    [
      "bindings",
      "events",
      "limitranges",
      "namespaces/status",
      "pods/log",
      "pods/status",
      "replicationcontrollers/status",
      "resourcequotas",
      "resourcequotas/status",
    ],
  ),
  rule(READ, [""], ["namespaces"]),
  rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
  rule(
    READ,
    ["apps"],
    [
      "controllerrevisions",
      "daemonsets",
      "daemonsets/status",
      "deployments",
      "deployments/scale",
      "deployments/status",
      "replicasets",
      "replicasets/scale",
      "replicasets/status",
      "statefulsets",
      "statefulsets/scale",
      "statefulsets/status",
    ],
  ),
  rule(READ, ["autoscaling"], ["horizontalpodautoscalers", "horizontalpodautoscalers/status"]),
  rule(READ, ["batch"], ["cronjobs", "cronjobs/status", "jobs", "jobs/status"]),
  rule(READ, ["policy"], ["poddisruptionbudgets", "poddisruptionbudgets/status"]),
  rule(READ, ["networking.k8s.io"], ["ingresses", "ingresses/status", "networkpolicies"]),
];

const EDIT_RULES: PolicyRule[] = [
  rule(
    ["create", "delete", "deletecollection", "patch", "update"],
    [""],
    ["pods", "pods/attach", "pods/exec", "pods/portforward", "pods/proxy"],
  ),
  rule(["create"], [""], ["pods/eviction"]),
  rule(
    WRITE,
    [""],
    [
      "configmaps",
      "events",
      "persistentvolumeclaims",
      "replicationcontrollers",
      "replicationcontrollers/scale",
      "secrets",
      "serviceaccounts",
      "services",
      "services/proxy",
    ],
  ),
  rule(["create"], [""], ["serviceaccounts/token"]),
  rule(
    WRITE,
    ["apps"],
    [
      "daemonsets",
      "deployments",
      "deployments/rollback",
      "deployments/scale",
      "replicasets",
      "replicasets/scale",
      "statefulsets",
      "statefulsets/scale",
    ],
  ),
  rule(WRITE, ["autoscaling"], ["horizontalpodautoscalers"]),
  rule(WRITE, ["batch"], ["cronjobs", "jobs"]),
  rule(WRITE, ["policy"], ["poddisruptionbudgets"]),
  rule(WRITE, ["networking.k8s.io"], ["ingresses", "networkpolicies"]),
  rule(WRITE, ["discovery.k8s.io"], ["endpointslices"]),
  rule(
    READ,
    [""],
    ["pods/attach", "pods/exec", "pods/portforward", "pods/proxy", "secrets", "services/proxy"],
  ),
  rule(["impersonate"], [""], ["serviceaccounts"]),
];

const ADMIN_RULES: PolicyRule[] = [
  rule(["create"], ["authorization.k8s.io"], ["localsubjectaccessreviews"]),
  rule(RW, [RBAC_GROUP], ["rolebindings", "roles"]),
];

const DISCOVERY_URLS = [
  "/api",
  "/api/*",
  "/apis",
  "/apis/*",
  "/healthz",
  "/livez",
  "/openapi",
  "/openapi/*",
  "/readyz",
  "/version",
  "/version/",
];

/** The default ClusterRoles. */
export const BOOTSTRAP_CLUSTER_ROLES: ClusterRole[] = [
  clusterRole("cluster-admin", [rule(["*"], ["*"], ["*"]), urls(["*"], ["*"])]),
  aggregated("admin"),
  aggregated("edit", { [aggregateTo("admin")]: "true" }),
  aggregated("view", { [aggregateTo("edit")]: "true" }),
  clusterRole("system:aggregate-to-admin", ADMIN_RULES, { [aggregateTo("admin")]: "true" }),
  clusterRole("system:aggregate-to-edit", EDIT_RULES, { [aggregateTo("edit")]: "true" }),
  clusterRole("system:aggregate-to-view", VIEW_RULES, { [aggregateTo("view")]: "true" }),
  // metrics-server's role: whoever may view may read resource metrics (kubectl top).
  clusterRole(
    "system:aggregated-metrics-reader",
    [rule(["get", "list"], ["metrics.k8s.io"], ["nodes", "pods"])],
    {
      [aggregateTo("view")]: "true",
      [aggregateTo("edit")]: "true",
      [aggregateTo("admin")]: "true",
    },
  ),
  clusterRole("system:discovery", [urls(["get"], DISCOVERY_URLS)]),
  clusterRole("system:basic-user", [
    rule(["create"], ["authorization.k8s.io"], ["selfsubjectaccessreviews", "selfsubjectrulesreviews"]),
    rule(["create"], ["authentication.k8s.io"], ["selfsubjectreviews"]),
  ]),
  clusterRole("system:public-info-viewer", [
    urls(["get"], ["/healthz", "/livez", "/readyz", "/version", "/version/"]),
  ]),
  // kube's: who may read the ServiceAccount issuer's discovery document and keys.
  clusterRole("system:service-account-issuer-discovery", [
    urls(
      ["get"],
      [
        "/.well-known/openid-configuration",
        "/.well-known/openid-configuration/",
        "/openid/v1/jwks",
        "/openid/v1/jwks/",
      ],
    ),
  ]),
  // kube's bootstrap policy: Prometheus scrapers get bound to this (the group system:monitoring).
  clusterRole("system:monitoring", [
    urls(
      ["get"],
      ["/healthz", "/healthz/*", "/livez", "/livez/*", "/metrics", "/metrics/slis", "/readyz", "/readyz/*"],
    ),
  ]),
  // The Worker's ingress front door (workers/ingress): reads routes, Services and their endpoints, nothing else.
  clusterRole("system:edgeplane:ingress", [
    rule(READ, ["networking.k8s.io"], ["ingresses", "ingressclasses"]),
    rule(READ, [""], ["services"]),
    rule(READ, ["discovery.k8s.io"], ["endpointslices"]),
  ]),
  clusterRole("system:auth-delegator", [
    rule(["create"], ["authentication.k8s.io"], ["tokenreviews"]),
    rule(["create"], ["authorization.k8s.io"], ["subjectaccessreviews"]),
  ]),
];

function binding(role: string, groups: string[]): ClusterRoleBinding {
  return {
    apiVersion: `${RBAC_GROUP}/v1`,
    kind: "ClusterRoleBinding",
    metadata: { name: role, labels: BOOTSTRAP_LABELS, annotations: AUTOUPDATE },
    roleRef: { apiGroup: RBAC_GROUP, kind: "ClusterRole", name: role },
    subjects: groups.map((name) => ({ apiGroup: RBAC_GROUP, kind: "Group", name })),
  };
}

/** The default ClusterRoleBindings. */
export const BOOTSTRAP_CLUSTER_ROLE_BINDINGS: ClusterRoleBinding[] = [
  binding("cluster-admin", ["system:masters"]),
  binding("system:discovery", ["system:authenticated"]),
  binding("system:basic-user", ["system:authenticated"]),
  binding("system:public-info-viewer", ["system:authenticated", "system:unauthenticated"]),
  binding("system:service-account-issuer-discovery", ["system:serviceaccounts"]),
  binding("system:monitoring", ["system:monitoring"]),
  binding("system:edgeplane:ingress", ["system:edgeplane:ingress"]),
];
