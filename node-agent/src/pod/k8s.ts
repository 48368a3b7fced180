/**
 * The parts of core/v1 Pod the agent reads and writes, as JSON (timestamps
 * are strings). Containers, probes, env and volumes are the wire layer's
 * kubernetes-types; Pod, PodSpec and PodStatus are still narrow copies with
 * metadata and spec required (moving them is the next step).
 */
import type { KubeObject, ObjectMeta } from "../../../workers/client/kube.ts";
import { parseQuantity as parseKubeQuantity } from "../../../workers/client/quantity.ts";
import type { Container, Volume } from "../../../workers/client/types.ts";

// Containers, probes, env and volumes are the wire layer's kubernetes-types, under the names the agent uses.
export type {
  Container,
  DownwardAPIVolumeFile as DownwardItem,
  EnvVar,
  KeyToPath,
  Probe,
  Volume,
} from "../../../workers/client/types.ts";

/** core/v1 PodSpec (the fields the agent uses). */
export interface PodSpec {
  nodeName?: string;
  runtimeClassName?: string;
  restartPolicy?: "Always" | "OnFailure" | "Never";
  terminationGracePeriodSeconds?: number;
  initContainers?: Container[];
  containers: Container[];
  volumes?: Volume[];
  hostname?: string;
  hostNetwork?: boolean;
  imagePullSecrets?: { name: string }[];
  serviceAccountName?: string;
}

/** One entry of status.conditions. */
export interface PodCondition {
  type: string;
  status: "True" | "False" | "Unknown";
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

/** The three mutually exclusive container states of core/v1 ContainerState. */
export interface ContainerStateJson {
  waiting?: { reason?: string; message?: string };
  running?: { startedAt?: string };
  terminated?: {
    exitCode: number;
    signal?: number;
    reason?: string;
    message?: string;
    startedAt?: string;
    finishedAt?: string;
    containerID?: string;
  };
}

/** core/v1 ContainerStatus. */
export interface ContainerStatusJson {
  name: string;
  state: ContainerStateJson;
  lastState: ContainerStateJson;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started?: boolean;
}

/** core/v1 PodStatus. */
export interface PodStatus {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  conditions?: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses?: ContainerStatusJson[];
  containerStatuses?: ContainerStatusJson[];
  qosClass?: "Guaranteed" | "Burstable" | "BestEffort";
}

/** A core/v1 Pod as JSON. */
export interface Pod extends KubeObject {
  metadata: ObjectMeta;
  spec: PodSpec;
  status?: PodStatus;
}

/** "namespace/name" of a pod, for logs and maps. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? "default"}/${pod.metadata.name}`;
}

/** A quantity ("128Mi", "0.5", "500m", "1G") in base units; undefined when absent or malformed. */
export function parseQuantity(value: string | undefined): number | undefined {
  if (value === undefined || value === "") return undefined;
  return parseKubeQuantity(String(value).trim());
}
