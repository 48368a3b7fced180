/**
 * The Kubernetes object types, from `kubernetes-types` (generated from the
 * Kubernetes OpenAPI), re-exported once here so the Worker, the Durable
 * Objects and the node agent all name the same wire types and never write
 * their own copies. Add a kind's type here when code first needs it.
 */

/** A wire type without kubernetes-types' readonly marks (on status and the like): the API server and the controllers are who write those fields. */
export type Writable<T> = { -readonly [K in keyof T]: T[K] };

export type {
  ControllerRevision,
  DaemonSet,
  Deployment,
  ReplicaSet,
  StatefulSet,
} from "kubernetes-types/apps/v1.js";
export type { TokenRequest, TokenReview } from "kubernetes-types/authentication/v1.js";
export type { HorizontalPodAutoscaler, MetricSpec, MetricStatus } from "kubernetes-types/autoscaling/v2.js";
export type { CronJob, Job } from "kubernetes-types/batch/v1.js";
export type { Lease } from "kubernetes-types/coordination/v1.js";
export type {
  ConfigMap,
  Container,
  DownwardAPIVolumeFile,
  Endpoints,
  EnvVar,
  Event as CoreEvent,
  KeyToPath,
  LimitRange,
  Namespace,
  Node,
  NodeSelectorRequirement,
  NodeSelectorTerm,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodTemplate,
  Probe,
  ReplicationController,
  ResourceQuota,
  Secret,
  Service,
  ServiceAccount,
  Taint,
  Toleration,
  Volume,
} from "kubernetes-types/core/v1.js";
export type { EndpointSlice } from "kubernetes-types/discovery/v1.js";
export type { Event as EventsV1Event } from "kubernetes-types/events/v1.js";
export type { LabelSelector, LabelSelectorRequirement } from "kubernetes-types/meta/v1.js";
export type { NetworkPolicy } from "kubernetes-types/networking/v1.js";
export type { RuntimeClass } from "kubernetes-types/node/v1.js";
export type { PodDisruptionBudget } from "kubernetes-types/policy/v1.js";
export type { ClusterRole, ClusterRoleBinding, Role, RoleBinding } from "kubernetes-types/rbac/v1.js";
export type { PriorityClass } from "kubernetes-types/scheduling/v1.js";
