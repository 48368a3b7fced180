/**
 * ResourceRefs for the built-in kinds that controllers, the scheduler and the
 * node agent use. Names only: what a kind *is* lives in the API server's
 * resource table (workers/apiserver/kinds).
 */
import type { ResourceRef } from "./kube.ts";

const core = (resource: string, namespaced = true): ResourceRef => ({
  group: "",
  version: "v1",
  resource,
  namespaced,
});
const apps = (resource: string): ResourceRef => ({
  group: "apps",
  version: "v1",
  resource,
  namespaced: true,
});

/** Well-known resources by short name. */
export const R = {
  namespaces: core("namespaces", false),
  nodes: core("nodes", false),
  pods: core("pods"),
  services: core("services"),
  endpoints: core("endpoints"),
  replicationcontrollers: core("replicationcontrollers"),
  limitranges: core("limitranges"),
  resourcequotas: core("resourcequotas"),
  configmaps: core("configmaps"),
  secrets: core("secrets"),
  serviceaccounts: core("serviceaccounts"),
  events: core("events"),
  persistentvolumeclaims: core("persistentvolumeclaims"),
  persistentvolumes: core("persistentvolumes", false),
  deployments: apps("deployments"),
  replicasets: apps("replicasets"),
  statefulsets: apps("statefulsets"),
  daemonsets: apps("daemonsets"),
  controllerrevisions: apps("controllerrevisions"),
  jobs: { group: "batch", version: "v1", resource: "jobs", namespaced: true },
  cronjobs: { group: "batch", version: "v1", resource: "cronjobs", namespaced: true },
  leases: { group: "coordination.k8s.io", version: "v1", resource: "leases", namespaced: true },
  endpointslices: { group: "discovery.k8s.io", version: "v1", resource: "endpointslices", namespaced: true },
  storageclasses: { group: "storage.k8s.io", version: "v1", resource: "storageclasses", namespaced: false },
  poddisruptionbudgets: {
    group: "policy",
    version: "v1",
    resource: "poddisruptionbudgets",
    namespaced: true,
  },
  runtimeclasses: { group: "node.k8s.io", version: "v1", resource: "runtimeclasses", namespaced: false },
  priorityclasses: {
    group: "scheduling.k8s.io",
    version: "v1",
    resource: "priorityclasses",
    namespaced: false,
  },
} satisfies Record<string, ResourceRef>;
