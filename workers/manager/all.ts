/**
 * Every controller the manager runs, in pass order: owners before what they
 * own (Deployment → ReplicaSet → pods → scheduler), so one pass can carry a
 * new Deployment all the way to bound pods.
 */

import { clusterRoleAggregationController } from "../controllers/clusterroleaggregation/index.ts";
import { crdCleanupController } from "../controllers/crd/index.ts";
import { cronJobController } from "../controllers/cronjob/index.ts";
import { daemonSetController } from "../controllers/daemonset/index.ts";
import { deploymentController } from "../controllers/deployment/index.ts";
import { disruptionController } from "../controllers/disruption/index.ts";
import { endpointsController } from "../controllers/endpoints/index.ts";
import { garbageCollector } from "../controllers/gc/index.ts";
import { hpaController } from "../controllers/hpa/index.ts";
import { ingressStatusController } from "../controllers/ingress/index.ts";
import { jobController } from "../controllers/job/index.ts";
import { kubernetesServiceController } from "../controllers/kubernetesservice/index.ts";
import { namespaceController } from "../controllers/namespace/index.ts";
import { nodeIpamController } from "../controllers/nodeipam/index.ts";
import { nodeLifecycleController } from "../controllers/nodelifecycle/index.ts";
import { replicaSetController } from "../controllers/replicaset/index.ts";
import { resourceQuotaController } from "../controllers/resourcequota/index.ts";
import { rootCAController } from "../controllers/rootca/index.ts";
import { serviceAccountController } from "../controllers/serviceaccount/index.ts";
import { serviceLBController } from "../controllers/servicelb/index.ts";
import { statefulSetController } from "../controllers/statefulset/index.ts";
import { tokensController } from "../controllers/tokens/index.ts";
import { volumeController } from "../controllers/volume/index.ts";
import type { Controller } from "../reconcile/types.ts";
import { schedulerController } from "../scheduler/index.ts";

/** The controllers, in the order a pass runs them. */
export const CONTROLLERS: Controller[] = [
  namespaceController,
  crdCleanupController,
  serviceAccountController,
  rootCAController,
  tokensController,
  // Before the workloads it scales: a new size reaches the pods in the same pass.
  hpaController,
  deploymentController,
  replicaSetController,
  daemonSetController,
  statefulSetController,
  cronJobController,
  jobController,
  schedulerController,
  // After the scheduler: a claim its pass gave a node is provisioned and bound in the same pass.
  volumeController,
  endpointsController,
  // After the scheduler and the workloads: budgets count the pods this pass made.
  disruptionController,
  resourceQuotaController,
  kubernetesServiceController,
  serviceLBController,
  ingressStatusController,
  nodeIpamController,
  nodeLifecycleController,
  garbageCollector,
  clusterRoleAggregationController,
];

/** Every "group/resource" some controller watches: writes to anything else never wake the manager. */
export const WATCHED = new Set(CONTROLLERS.flatMap((c) => c.watches));
