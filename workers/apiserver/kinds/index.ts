/**
 * The resource table: one row per served resource. Routes, discovery,
 * OpenAPI, RBAC resource names and table printing are all driven from it.
 * To add a kind: write kinds/<kind>.ts (its Strategy) and add one row here.
 */

import {
  nodeMetricsStorage,
  nodeMetricsStrategy,
  podMetricsStorage,
  podMetricsStrategy,
} from "../metrics/kinds.ts";
import { defineResource, type ResourceInfo, type ScaleSpec, type Strategy } from "../registry/types.ts";
import { tokenSubresource } from "../serviceaccount/token-request.ts";
import { tokenReviewProto, tokenReviewStorage, tokenReviewStrategy } from "../serviceaccount/token-review.ts";
import { limitRangeProto, podDisruptionBudgetProto, resourceQuotaProto } from "./budgets.proto.ts";
import { configMapProto } from "./configmap.proto.ts";
import { configMapStrategy } from "./configmap.ts";
import { controllerRevisionStrategy } from "./controllerrevision.ts";
import { cronJobProto } from "./cronjob.proto.ts";
import { cronJobStrategy } from "./cronjob.ts";
import { crdNamesAdmission, crdStrategy } from "./customresourcedefinition.ts";
import { daemonSetStrategy } from "./daemonset.ts";
import { deploymentProto } from "./deployment.proto.ts";
import { deploymentStrategy } from "./deployment.ts";
import { endpointsStrategy } from "./endpoints.ts";
import { endpointSliceStrategy } from "./endpointslice.ts";
import { eventStrategy } from "./event.ts";
import { eventsV1Strategy } from "./events-v1.ts";
import { hpaV1Proto, hpaV2Proto } from "./hpa.proto.ts";
import { hpaStrategy } from "./hpa.ts";
import { fromV1, hpaV1Strategy, toV1 } from "./hpa-v1.ts";
import { ingressProto } from "./ingress.proto.ts";
import { defaultIngressClass, ingressStrategy } from "./ingress.ts";
import { ingressClassStorage, ingressClassStrategy } from "./ingressclass.ts";
import { jobProto } from "./job.proto.ts";
import { jobStrategy } from "./job.ts";
import { leaseStrategy } from "./lease.ts";
import { limitRangeStrategy } from "./limitrange.ts";
import { mutatingWebhookConfigurationStrategy } from "./mutatingwebhookconfiguration.ts";
import { namespaceProto } from "./namespace.proto.ts";
import { finalize, namespaceStrategy } from "./namespace.ts";
import { namespaceStorage } from "./namespace-storage.ts";
import { networkPolicyStrategy } from "./networkpolicy.ts";
import { nodeStrategy } from "./node.ts";
import { podStrategy } from "./pod.ts";
import { podSubresources } from "./pod-subresources.ts";
import { podDisruptionBudgetStrategy } from "./poddisruptionbudget.ts";
import { podTemplateStrategy } from "./podtemplate.ts";
import { priorityClassProto } from "./priorityclass.proto.ts";
import { priorityClassStorage, priorityClassStrategy } from "./priorityclass.ts";
import { bindingProto, roleProto } from "./rbac.proto.ts";
import {
  clusterRoleBindingStrategy,
  clusterRoleStorage,
  clusterRoleStrategy,
  roleBindingStrategy,
  roleStrategy,
} from "./rbac.ts";
import { replicaSetStrategy } from "./replicaset.ts";
import { replicationControllerStrategy } from "./replicationcontroller.ts";
import { resourceQuotaStrategy } from "./resourcequota.ts";
import {
  selfSubjectAccessReviewProto,
  selfSubjectReviewProto,
  selfSubjectRulesReviewProto,
  subjectAccessReviewProto,
} from "./reviews.proto.ts";
import {
  localSubjectAccessReviewStorage,
  localSubjectAccessReviewStrategy,
  selfSubjectAccessReviewStorage,
  selfSubjectAccessReviewStrategy,
  selfSubjectReviewStorage,
  selfSubjectReviewStrategy,
  selfSubjectRulesReviewStorage,
  selfSubjectRulesReviewStrategy,
  subjectAccessReviewStorage,
  subjectAccessReviewStrategy,
} from "./reviews.ts";
import { runtimeClassStrategy } from "./runtimeclass.ts";
import { secretProto } from "./secret.proto.ts";
import { secretStrategy } from "./secret.ts";
import { serviceProto } from "./service.proto.ts";
import { serviceStrategy } from "./service.ts";
import { serviceAccountProto } from "./serviceaccount.proto.ts";
import { serviceAccountStrategy } from "./serviceaccount.ts";
import { statefulSetStrategy } from "./statefulset.ts";
import { storageClassStrategy } from "./storageclass.ts";
import { validatingWebhookConfigurationStrategy } from "./validatingwebhookconfiguration.ts";
import { persistentVolumeClaimStrategy, persistentVolumeStrategy } from "./volumes.ts";

/** spec.replicas / status.replicas / spec.selector (a LabelSelector object: format it with labelSelectorString). */
const REPLICAS_SCALE: ScaleSpec = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".spec.selector",
};
const ALL = ["all"];
const NO_DELETECOLLECTION = ["create", "delete", "get", "list", "patch", "update", "watch"];

/**
 * One row: `gv` is "v1" or "<group>/v1"; singular is the lowercased kind;
 * namespaced unless `extra` says otherwise.
 */
function row<T extends object>(
  gv: string,
  resource: string,
  kind: string,
  model: string,
  strategy: Strategy<T>,
  extra: Partial<ResourceInfo<T>> = {},
): ResourceInfo {
  const [group, version] = gv.includes("/") ? gv.split("/") : ["", gv];
  return defineResource<T>({
    group,
    version,
    resource,
    singular: kind.toLowerCase(),
    kind,
    namespaced: true,
    model,
    strategy,
    ...extra,
  });
}

const RBAC = "rbac.authorization.k8s.io/v1";
const ADMREG = "admissionregistration.k8s.io/v1";
const AUTHZ = "authorization.k8s.io/v1";
/** Create-only kinds answered per request (access reviews): cluster-scoped, never stored. */
const REVIEW = { namespaced: false, verbs: ["create"] };

/** Every served resource. */
export const RESOURCES: ResourceInfo[] = [
  // core/v1
  row("v1", "namespaces", "Namespace", "V1Namespace", namespaceStrategy, {
    namespaced: false,
    shortNames: ["ns"],
    verbs: NO_DELETECOLLECTION,
    nameFormat: "label",
    subresources: { status: true, custom: { finalize } },
    rest: namespaceStorage,
    protobuf: namespaceProto,
  }),
  row("v1", "pods", "Pod", "V1Pod", podStrategy, {
    shortNames: ["po"],
    categories: ALL,
    subresources: { status: true, custom: podSubresources },
  }),
  row("v1", "nodes", "Node", "V1Node", nodeStrategy, {
    namespaced: false,
    shortNames: ["no"],
    subresources: { status: true },
  }),
  row("v1", "services", "Service", "V1Service", serviceStrategy, {
    protobuf: serviceProto,
    shortNames: ["svc"],
    categories: ALL,
    verbs: NO_DELETECOLLECTION,
    nameFormat: "label",
    subresources: { status: true },
  }),
  row("v1", "endpoints", "Endpoints", "V1Endpoints", endpointsStrategy, { shortNames: ["ep"] }),
  row("v1", "configmaps", "ConfigMap", "V1ConfigMap", configMapStrategy, {
    shortNames: ["cm"],
    protobuf: configMapProto,
  }),
  row("v1", "secrets", "Secret", "V1Secret", secretStrategy, {
    storage: { encryptAtRest: true },
    protobuf: secretProto,
  }),
  row("v1", "serviceaccounts", "ServiceAccount", "V1ServiceAccount", serviceAccountStrategy, {
    protobuf: serviceAccountProto,
    shortNames: ["sa"],
    subresources: { custom: { token: tokenSubresource } },
  }),
  row("v1", "events", "Event", "CoreV1Event", eventStrategy, {
    shortNames: ["ev"],
    storage: { expires: true },
  }),
  row(
    "v1",
    "replicationcontrollers",
    "ReplicationController",
    "V1ReplicationController",
    replicationControllerStrategy,
    {
      shortNames: ["rc"],
      categories: ALL,
      subresources: { status: true },
    },
  ),
  row("v1", "podtemplates", "PodTemplate", "V1PodTemplate", podTemplateStrategy),
  row(
    "v1",
    "persistentvolumeclaims",
    "PersistentVolumeClaim",
    "V1PersistentVolumeClaim",
    persistentVolumeClaimStrategy,
    {
      shortNames: ["pvc"],
      subresources: { status: true },
    },
  ),
  row("v1", "persistentvolumes", "PersistentVolume", "V1PersistentVolume", persistentVolumeStrategy, {
    namespaced: false,
    shortNames: ["pv"],
    subresources: { status: true },
  }),
  row("v1", "limitranges", "LimitRange", "V1LimitRange", limitRangeStrategy, {
    shortNames: ["limits"],
    protobuf: limitRangeProto,
  }),
  row("v1", "resourcequotas", "ResourceQuota", "V1ResourceQuota", resourceQuotaStrategy, {
    shortNames: ["quota"],
    subresources: { status: true },
    protobuf: resourceQuotaProto,
  }),
  // apps/v1
  row("apps/v1", "deployments", "Deployment", "V1Deployment", deploymentStrategy, {
    protobuf: deploymentProto,
    shortNames: ["deploy"],
    categories: ALL,
    subresources: { status: true, scale: REPLICAS_SCALE },
  }),
  row("apps/v1", "replicasets", "ReplicaSet", "V1ReplicaSet", replicaSetStrategy, {
    shortNames: ["rs"],
    categories: ALL,
    subresources: { status: true, scale: REPLICAS_SCALE },
  }),
  row("apps/v1", "statefulsets", "StatefulSet", "V1StatefulSet", statefulSetStrategy, {
    shortNames: ["sts"],
    categories: ALL,
    subresources: { status: true, scale: REPLICAS_SCALE },
  }),
  row("apps/v1", "daemonsets", "DaemonSet", "V1DaemonSet", daemonSetStrategy, {
    shortNames: ["ds"],
    categories: ALL,
    subresources: { status: true },
  }),
  row(
    "apps/v1",
    "controllerrevisions",
    "ControllerRevision",
    "V1ControllerRevision",
    controllerRevisionStrategy,
  ),
  // autoscaling/v2 (kubectl ≥ 1.29 autoscale tries v2 first)
  row(
    "autoscaling/v2",
    "horizontalpodautoscalers",
    "HorizontalPodAutoscaler",
    "V2HorizontalPodAutoscaler",
    hpaStrategy,
    {
      shortNames: ["hpa"],
      categories: ALL,
      subresources: { status: true },
      protobuf: hpaV2Proto,
    },
  ),
  // autoscaling/v1: the same objects (stored as v2), converted (kubectl ≤ 1.32 autoscale creates v1)
  row(
    "autoscaling/v1",
    "horizontalpodautoscalers",
    "HorizontalPodAutoscaler",
    "V1HorizontalPodAutoscaler",
    hpaV1Strategy,
    {
      shortNames: ["hpa"],
      categories: ALL,
      subresources: { status: true },
      convert: { fromStorage: toV1, toStorage: fromV1 },
      protobuf: hpaV1Proto,
    },
  ),
  // batch/v1
  row("batch/v1", "jobs", "Job", "V1Job", jobStrategy, {
    categories: ALL,
    subresources: { status: true },
    protobuf: jobProto,
  }),
  row("batch/v1", "cronjobs", "CronJob", "V1CronJob", cronJobStrategy, {
    protobuf: cronJobProto,
    shortNames: ["cj"],
    categories: ALL,
    subresources: { status: true },
  }),
  // apiextensions.k8s.io/v1: each CRD adds rows at run time (crd/rows.ts, crd/cache.ts)
  row(
    "apiextensions.k8s.io/v1",
    "customresourcedefinitions",
    "CustomResourceDefinition",
    "V1CustomResourceDefinition",
    crdStrategy,
    {
      namespaced: false,
      shortNames: ["crd", "crds"],
      categories: ["api-extensions"],
      subresources: { status: true },
      rest: { admission: [crdNamesAdmission] },
    },
  ),
  // admissionregistration.k8s.io/v1: the webhooks admission/webhook/ calls
  row(
    ADMREG,
    "validatingwebhookconfigurations",
    "ValidatingWebhookConfiguration",
    "V1ValidatingWebhookConfiguration",
    validatingWebhookConfigurationStrategy,
    { namespaced: false, categories: ["api-extensions"] },
  ),
  row(
    ADMREG,
    "mutatingwebhookconfigurations",
    "MutatingWebhookConfiguration",
    "V1MutatingWebhookConfiguration",
    mutatingWebhookConfigurationStrategy,
    { namespaced: false, categories: ["api-extensions"] },
  ),
  // coordination, discovery, events, node
  row("coordination.k8s.io/v1", "leases", "Lease", "V1Lease", leaseStrategy),
  row("discovery.k8s.io/v1", "endpointslices", "EndpointSlice", "V1EndpointSlice", endpointSliceStrategy),
  row("events.k8s.io/v1", "events", "Event", "EventsV1Event", eventsV1Strategy, {
    shortNames: ["ev"],
    storage: { expires: true },
  }),
  row(
    "policy/v1",
    "poddisruptionbudgets",
    "PodDisruptionBudget",
    "V1PodDisruptionBudget",
    podDisruptionBudgetStrategy,
    {
      shortNames: ["pdb"],
      subresources: { status: true },
      protobuf: podDisruptionBudgetProto,
    },
  ),
  row("networking.k8s.io/v1", "networkpolicies", "NetworkPolicy", "V1NetworkPolicy", networkPolicyStrategy, {
    shortNames: ["netpol"],
  }),
  // networking.k8s.io/v1: served by the Worker itself (workers/ingress)
  row("networking.k8s.io/v1", "ingresses", "Ingress", "V1Ingress", ingressStrategy, {
    shortNames: ["ing"],
    subresources: { status: true },
    protobuf: ingressProto,
    rest: { admission: [defaultIngressClass] },
  }),
  row("networking.k8s.io/v1", "ingressclasses", "IngressClass", "V1IngressClass", ingressClassStrategy, {
    namespaced: false,
    rest: ingressClassStorage,
  }),
  row("node.k8s.io/v1", "runtimeclasses", "RuntimeClass", "V1RuntimeClass", runtimeClassStrategy, {
    namespaced: false,
  }),
  row("scheduling.k8s.io/v1", "priorityclasses", "PriorityClass", "V1PriorityClass", priorityClassStrategy, {
    namespaced: false,
    shortNames: ["pc"],
    rest: priorityClassStorage,
    protobuf: priorityClassProto,
  }),
  row("storage.k8s.io/v1", "storageclasses", "StorageClass", "V1StorageClass", storageClassStrategy, {
    namespaced: false,
    shortNames: ["sc"],
  }),
  // authentication.k8s.io/v1: a review is answered, never stored
  row("authentication.k8s.io/v1", "tokenreviews", "TokenReview", "V1TokenReview", tokenReviewStrategy, {
    namespaced: false,
    verbs: ["create"],
    rest: tokenReviewStorage,
    protobuf: tokenReviewProto,
  }),
  // rbac.authorization.k8s.io/v1 (names may be any path segment, e.g. "system:node")
  row(RBAC, "roles", "Role", "V1Role", roleStrategy, { nameFormat: "path", protobuf: roleProto }),
  row(RBAC, "clusterroles", "ClusterRole", "V1ClusterRole", clusterRoleStrategy, {
    protobuf: roleProto,
    rest: clusterRoleStorage,
    namespaced: false,
    nameFormat: "path",
  }),
  row(RBAC, "rolebindings", "RoleBinding", "V1RoleBinding", roleBindingStrategy, {
    nameFormat: "path",
    protobuf: bindingProto,
  }),
  row(RBAC, "clusterrolebindings", "ClusterRoleBinding", "V1ClusterRoleBinding", clusterRoleBindingStrategy, {
    protobuf: bindingProto,
    namespaced: false,
    nameFormat: "path",
  }),
  // metrics.k8s.io/v1beta1: read-only, computed from the nodes' latest samples (metrics/kinds.ts), never stored
  row("metrics.k8s.io/v1beta1", "nodes", "NodeMetrics", "V1beta1NodeMetrics", nodeMetricsStrategy, {
    namespaced: false,
    verbs: ["get", "list"],
    rest: nodeMetricsStorage,
  }),
  row("metrics.k8s.io/v1beta1", "pods", "PodMetrics", "V1beta1PodMetrics", podMetricsStrategy, {
    verbs: ["get", "list"],
    rest: podMetricsStorage,
  }),
  // authorization.k8s.io/v1 and authentication.k8s.io/v1 reviews (kubectl auth can-i, auth whoami)
  row(
    AUTHZ,
    "selfsubjectaccessreviews",
    "SelfSubjectAccessReview",
    "V1SelfSubjectAccessReview",
    selfSubjectAccessReviewStrategy,
    {
      ...REVIEW,
      rest: selfSubjectAccessReviewStorage,
      protobuf: selfSubjectAccessReviewProto,
    },
  ),
  row(
    AUTHZ,
    "selfsubjectrulesreviews",
    "SelfSubjectRulesReview",
    "V1SelfSubjectRulesReview",
    selfSubjectRulesReviewStrategy,
    {
      ...REVIEW,
      rest: selfSubjectRulesReviewStorage,
      protobuf: selfSubjectRulesReviewProto,
    },
  ),
  row(
    AUTHZ,
    "subjectaccessreviews",
    "SubjectAccessReview",
    "V1SubjectAccessReview",
    subjectAccessReviewStrategy,
    {
      ...REVIEW,
      rest: subjectAccessReviewStorage,
      protobuf: subjectAccessReviewProto,
    },
  ),
  row(
    AUTHZ,
    "localsubjectaccessreviews",
    "LocalSubjectAccessReview",
    "V1LocalSubjectAccessReview",
    localSubjectAccessReviewStrategy,
    {
      ...REVIEW,
      namespaced: true,
      rest: localSubjectAccessReviewStorage,
      protobuf: subjectAccessReviewProto,
    },
  ),
  row(
    "authentication.k8s.io/v1",
    "selfsubjectreviews",
    "SelfSubjectReview",
    "V1SelfSubjectReview",
    selfSubjectReviewStrategy,
    {
      ...REVIEW,
      rest: selfSubjectReviewStorage,
      protobuf: selfSubjectReviewProto,
    },
  ),
];

/** The row for group/resource, if served. */
export function findResource(group: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.resource === resource);
}

export { createServiceAllocator, inUseFromServices } from "./service-alloc.ts";
