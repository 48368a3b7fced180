/**
 * What a simulated kubelet does with the pods bound to its nodes: report them
 * Running and Ready at once (no workload runs), finish pods that are meant to
 * finish (restartPolicy Never/OnFailure: Succeeded, or Failed when the
 * command is `false` or the annotation says a non-zero exit code), and
 * confirm deletions so terminating pods go away.
 */
import type { KubeClient } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import { timestamp } from "../../../workers/client/time.ts";

/** Annotation overriding a simulated container's exit code (pods with restartPolicy Never/OnFailure). */
export const EXIT_CODE_ANNOTATION = "sim.edgeplane.dev/exit-code";
/** Annotation "false" keeps a simulated pod Running but never Ready. */
export const READY_ANNOTATION = "sim.edgeplane.dev/ready";

/** The parts of a pod the simulated kubelet reads. */
export interface SimPod {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name?: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    deletionTimestamp?: string;
    annotations?: Record<string, string>;
    [k: string]: unknown;
  };
  spec: {
    nodeName?: string;
    restartPolicy?: string;
    containers: { name: string; image?: string; command?: string[]; args?: string[] }[];
    [k: string]: unknown;
  };
  status?: { phase?: string; [k: string]: unknown };
  [k: string]: unknown;
}

/** The exit code a finishing pod's containers report, or undefined for pods that keep running. */
export function exitCode(pod: SimPod): number | undefined {
  if ((pod.spec.restartPolicy ?? "Always") === "Always") return undefined;
  const annotated = pod.metadata.annotations?.[EXIT_CODE_ANNOTATION];
  if (annotated !== undefined) return Number(annotated) || 0;
  const argv = [...(pod.spec.containers[0]?.command ?? []), ...(pod.spec.containers[0]?.args ?? [])];
  if (argv[0] === "false" || /\bexit [1-9]/.test(argv.join(" "))) return 1;
  return 0;
}

/** The status the simulated kubelet reports for a pod that started on `hostIP` with `podIP`. */
export function simulatedStatus(
  pod: SimPod,
  hostIP: string,
  podIP: string,
  now: Date,
): Record<string, unknown> {
  const at = timestamp(now);
  const code = exitCode(pod);
  const finished = code !== undefined;
  const ready = !finished && pod.metadata.annotations?.[READY_ANNOTATION] !== "false";
  const cond = (type: string, status: boolean, reason?: string) => ({
    type,
    status: status ? "True" : "False",
    lastProbeTime: null,
    lastTransitionTime: at,
    ...(reason ? { reason } : {}),
  });
  const state = finished
    ? {
        terminated: {
          exitCode: code,
          reason: code === 0 ? "Completed" : "Error",
          startedAt: at,
          finishedAt: at,
        },
      }
    : { running: { startedAt: at } };
  return {
    phase: finished ? (code === 0 ? "Succeeded" : "Failed") : "Running",
    conditions: [
      cond("PodReadyToStartContainers", !finished),
      cond("Initialized", true),
      cond("Ready", ready, finished ? "PodCompleted" : undefined),
      cond("ContainersReady", ready, finished ? "PodCompleted" : undefined),
      cond("PodScheduled", true),
    ],
    hostIP,
    hostIPs: [{ ip: hostIP }],
    podIP,
    podIPs: [{ ip: podIP }],
    startTime: at,
    qosClass: "BestEffort",
    containerStatuses: pod.spec.containers.map((c) => ({
      name: c.name,
      image: c.image ?? "",
      imageID: "",
      containerID: `sim://${pod.metadata.uid}-${c.name}`,
      ready,
      started: !finished,
      restartCount: 0,
      state,
    })),
  };
}

/** Apply what the kubelet would do for one pod event; returns true when it wrote something. */
export async function syncPod(
  client: KubeClient,
  pod: SimPod,
  hostIP: string,
  podIP: () => string,
  now: Date,
): Promise<boolean> {
  const { namespace, name, uid } = pod.metadata;
  try {
    if (pod.metadata.deletionTimestamp) {
      // Nothing runs, so termination is immediate: confirm it.
      await client.delete(R.pods, namespace, name ?? "", { gracePeriodSeconds: 0, preconditions: { uid } });
      return true;
    }
    if (pod.status?.phase && pod.status.phase !== "Pending") return false;
    const status = simulatedStatus(pod, hostIP, podIP(), now);
    await client.update(
      R.pods,
      namespace,
      { ...pod, status: { ...pod.status, ...status } },
      { subresource: "status" },
    );
    return true;
  } catch (error) {
    // Gone or changed under us: the watch brings the newer version.
    if (error instanceof ApiError && (error.code === 404 || error.code === 409)) return false;
    throw error;
  }
}
