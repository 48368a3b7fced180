/**
 * Every controller the manager runs, in pass order: owners before what they
 * own (Deployment → ReplicaSet → pods → scheduler), so one pass can carry a
 * new Deployment all the way to bound pods.
 */
import { schedulerController } from "../scheduler/index.ts";
import { cronJobController } from "./cronjob/index.ts";
import { daemonSetController } from "./daemonset/index.ts";
import { deploymentController } from "./deployment/index.ts";
import { endpointsController } from "./endpoints/index.ts";
import { garbageCollector } from "./gc/index.ts";
import { jobController } from "./job/index.ts";
import { namespaceController } from "./namespace/index.ts";
import { nodeLifecycleController } from "./nodelifecycle/index.ts";
import { replicaSetController } from "./replicaset/index.ts";
import { serviceAccountController } from "./serviceaccount/index.ts";
import { statefulSetController } from "./statefulset/index.ts";
import type { Controller } from "./types.ts";

/** The controllers, in the order a pass runs them. */
export const CONTROLLERS: Controller[] = [
  namespaceController,
  serviceAccountController,
  deploymentController,
  replicaSetController,
  daemonSetController,
  statefulSetController,
  cronJobController,
  jobController,
  schedulerController,
  endpointsController,
  nodeLifecycleController,
  garbageCollector,
];

/** Every "group/resource" some controller watches: writes to anything else never wake the manager. */
export const WATCHED = new Set(CONTROLLERS.flatMap((c) => c.watches));
