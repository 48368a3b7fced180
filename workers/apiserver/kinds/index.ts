/**
 * The resource table: one row per served resource. Routes, discovery,
 * OpenAPI, RBAC resource names and table printing are all driven from it.
 * To add a kind: write kinds/<kind>.ts (its Strategy) and add one row here.
 */
import type { ResourceInfo, ScaleSpec } from "../registry/types.ts";
import { configMapStrategy } from "./configmap.ts";
import { controllerRevisionStrategy } from "./controllerrevision.ts";
import { cronJobStrategy } from "./cronjob.ts";
import { daemonSetStrategy } from "./daemonset.ts";
import { deploymentStrategy } from "./deployment.ts";
import { endpointsStrategy } from "./endpoints.ts";
import { endpointSliceStrategy } from "./endpointslice.ts";
import { eventStrategy } from "./event.ts";
import { eventsV1Strategy } from "./events-v1.ts";
import { jobStrategy } from "./job.ts";
import { leaseStrategy } from "./lease.ts";
import { finalize, namespaceStrategy } from "./namespace.ts";
import { nodeStrategy } from "./node.ts";
import { podStrategy } from "./pod.ts";
import { podSubresources } from "./pod-subresources.ts";
import { podTemplateStrategy } from "./podtemplate.ts";
import {
  clusterRoleBindingStrategy,
  clusterRoleStrategy,
  roleBindingStrategy,
  roleStrategy,
} from "./rbac.ts";
import { replicaSetStrategy } from "./replicaset.ts";
import { replicationControllerStrategy } from "./replicationcontroller.ts";
import { runtimeClassStrategy } from "./runtimeclass.ts";
import { secretStrategy } from "./secret.ts";
import { serviceStrategy } from "./service.ts";
import { serviceAccountStrategy } from "./serviceaccount.ts";
import { statefulSetStrategy } from "./statefulset.ts";
import { persistentVolumeClaimStrategy, persistentVolumeStrategy } from "./volumes.ts";

/** spec.replicas / status.replicas / spec.selector (a LabelSelector object: format it with formatSelector). */
const REPLICAS_SCALE: ScaleSpec = {
  specReplicasPath: ".spec.replicas",
  statusReplicasPath: ".status.replicas",
  labelSelectorPath: ".spec.selector",
};
const ALL = ["all"];
const NO_DELETECOLLECTION = ["create", "delete", "get", "list", "patch", "update", "watch"];

/** Every served resource. */
export const RESOURCES: ResourceInfo[] = [
  // core/v1
  {
    group: "",
    version: "v1",
    resource: "namespaces",
    singular: "namespace",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
    verbs: NO_DELETECOLLECTION,
    nameFormat: "label",
    subresources: { status: true, custom: { finalize } },
    model: "V1Namespace",
    strategy: namespaceStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "pods",
    singular: "pod",
    kind: "Pod",
    namespaced: true,
    shortNames: ["po"],
    categories: ALL,
    subresources: { status: true, custom: podSubresources },
    model: "V1Pod",
    strategy: podStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "nodes",
    singular: "node",
    kind: "Node",
    namespaced: false,
    shortNames: ["no"],
    subresources: { status: true },
    model: "V1Node",
    strategy: nodeStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "services",
    singular: "service",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
    categories: ALL,
    verbs: NO_DELETECOLLECTION,
    nameFormat: "label",
    subresources: { status: true },
    model: "V1Service",
    strategy: serviceStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "endpoints",
    singular: "endpoints",
    kind: "Endpoints",
    namespaced: true,
    shortNames: ["ep"],
    model: "V1Endpoints",
    strategy: endpointsStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "configmaps",
    singular: "configmap",
    kind: "ConfigMap",
    namespaced: true,
    shortNames: ["cm"],
    model: "V1ConfigMap",
    strategy: configMapStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "secrets",
    singular: "secret",
    kind: "Secret",
    namespaced: true,
    model: "V1Secret",
    strategy: secretStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "serviceaccounts",
    singular: "serviceaccount",
    kind: "ServiceAccount",
    namespaced: true,
    shortNames: ["sa"],
    model: "V1ServiceAccount",
    strategy: serviceAccountStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    shortNames: ["ev"],
    model: "CoreV1Event",
    strategy: eventStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "replicationcontrollers",
    singular: "replicationcontroller",
    kind: "ReplicationController",
    namespaced: true,
    shortNames: ["rc"],
    categories: ALL,
    subresources: { status: true },
    model: "V1ReplicationController",
    strategy: replicationControllerStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "podtemplates",
    singular: "podtemplate",
    kind: "PodTemplate",
    namespaced: true,
    model: "V1PodTemplate",
    strategy: podTemplateStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "persistentvolumeclaims",
    singular: "persistentvolumeclaim",
    kind: "PersistentVolumeClaim",
    namespaced: true,
    shortNames: ["pvc"],
    subresources: { status: true },
    model: "V1PersistentVolumeClaim",
    strategy: persistentVolumeClaimStrategy,
  },
  {
    group: "",
    version: "v1",
    resource: "persistentvolumes",
    singular: "persistentvolume",
    kind: "PersistentVolume",
    namespaced: false,
    shortNames: ["pv"],
    subresources: { status: true },
    model: "V1PersistentVolume",
    strategy: persistentVolumeStrategy,
  },
  // apps/v1
  {
    group: "apps",
    version: "v1",
    resource: "deployments",
    singular: "deployment",
    kind: "Deployment",
    namespaced: true,
    shortNames: ["deploy"],
    categories: ALL,
    subresources: { status: true, scale: REPLICAS_SCALE },
    model: "V1Deployment",
    strategy: deploymentStrategy,
  },
  {
    group: "apps",
    version: "v1",
    resource: "replicasets",
    singular: "replicaset",
    kind: "ReplicaSet",
    namespaced: true,
    shortNames: ["rs"],
    categories: ALL,
    subresources: { status: true, scale: REPLICAS_SCALE },
    model: "V1ReplicaSet",
    strategy: replicaSetStrategy,
  },
  {
    group: "apps",
    version: "v1",
    resource: "statefulsets",
    singular: "statefulset",
    kind: "StatefulSet",
    namespaced: true,
    shortNames: ["sts"],
    categories: ALL,
    subresources: { status: true, scale: REPLICAS_SCALE },
    model: "V1StatefulSet",
    strategy: statefulSetStrategy,
  },
  {
    group: "apps",
    version: "v1",
    resource: "daemonsets",
    singular: "daemonset",
    kind: "DaemonSet",
    namespaced: true,
    shortNames: ["ds"],
    categories: ALL,
    subresources: { status: true },
    model: "V1DaemonSet",
    strategy: daemonSetStrategy,
  },
  {
    group: "apps",
    version: "v1",
    resource: "controllerrevisions",
    singular: "controllerrevision",
    kind: "ControllerRevision",
    namespaced: true,
    model: "V1ControllerRevision",
    strategy: controllerRevisionStrategy,
  },
  // batch/v1
  {
    group: "batch",
    version: "v1",
    resource: "jobs",
    singular: "job",
    kind: "Job",
    namespaced: true,
    categories: ALL,
    subresources: { status: true },
    model: "V1Job",
    strategy: jobStrategy,
  },
  {
    group: "batch",
    version: "v1",
    resource: "cronjobs",
    singular: "cronjob",
    kind: "CronJob",
    namespaced: true,
    shortNames: ["cj"],
    categories: ALL,
    subresources: { status: true },
    model: "V1CronJob",
    strategy: cronJobStrategy,
  },
  // coordination, discovery, events, node
  {
    group: "coordination.k8s.io",
    version: "v1",
    resource: "leases",
    singular: "lease",
    kind: "Lease",
    namespaced: true,
    model: "V1Lease",
    strategy: leaseStrategy,
  },
  {
    group: "discovery.k8s.io",
    version: "v1",
    resource: "endpointslices",
    singular: "endpointslice",
    kind: "EndpointSlice",
    namespaced: true,
    model: "V1EndpointSlice",
    strategy: endpointSliceStrategy,
  },
  {
    group: "events.k8s.io",
    version: "v1",
    resource: "events",
    singular: "event",
    kind: "Event",
    namespaced: true,
    shortNames: ["ev"],
    model: "EventsV1Event",
    strategy: eventsV1Strategy,
  },
  {
    group: "node.k8s.io",
    version: "v1",
    resource: "runtimeclasses",
    singular: "runtimeclass",
    kind: "RuntimeClass",
    namespaced: false,
    model: "V1RuntimeClass",
    strategy: runtimeClassStrategy,
  },
  // rbac.authorization.k8s.io/v1 (names may be any path segment, e.g. "system:node")
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "roles",
    singular: "role",
    kind: "Role",
    namespaced: true,
    nameFormat: "path",
    model: "V1Role",
    strategy: roleStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterroles",
    singular: "clusterrole",
    kind: "ClusterRole",
    namespaced: false,
    nameFormat: "path",
    model: "V1ClusterRole",
    strategy: clusterRoleStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "rolebindings",
    singular: "rolebinding",
    kind: "RoleBinding",
    namespaced: true,
    nameFormat: "path",
    model: "V1RoleBinding",
    strategy: roleBindingStrategy,
  },
  {
    group: "rbac.authorization.k8s.io",
    version: "v1",
    resource: "clusterrolebindings",
    singular: "clusterrolebinding",
    kind: "ClusterRoleBinding",
    namespaced: false,
    nameFormat: "path",
    model: "V1ClusterRoleBinding",
    strategy: clusterRoleBindingStrategy,
  },
];

/** The row for group/resource, if served. */
export function findResource(group: string, resource: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.resource === resource);
}

/** The row for a group/version/kind, if served. */
export function findKind(group: string, version: string, kind: string): ResourceInfo | undefined {
  return RESOURCES.find((r) => r.group === group && r.version === version && r.kind === kind);
}

export type { PodExecService, PodLogsService } from "./pod-subresources.ts";
export {
  createServiceAllocator,
  DEFAULT_CLUSTER_IP_RANGE,
  DEFAULT_NODE_PORT_RANGE,
  inUseFromServices,
} from "./service-alloc.ts";
export { formatSelector, selectorMatches } from "./validation/selector.ts";
