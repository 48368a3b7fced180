/**
 * The parts of core/v1 Pod the agent reads and writes, as JSON (timestamps
 * are strings). @kubernetes/client-node's models use Date objects for
 * timestamps, which does not match what travels on the wire, so the agent
 * keeps this narrow wire-shaped copy.
 */
import type { KubeObject, ObjectMeta } from "../../../workers/client/kube.ts";
import { parseQuantity as parseKubeQuantity } from "../../../workers/client/quantity.ts";

/** httpGet / tcpSocket / exec probe handler plus Kubernetes timing fields. */
export interface Probe {
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command?: string[] };
  initialDelaySeconds?: number;
  periodSeconds?: number;
  timeoutSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

/** A selector of one key in a ConfigMap or Secret. */
export interface KeySelector {
  name?: string;
  key: string;
  optional?: boolean;
}

/** core/v1 EnvVar. */
export interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: {
    configMapKeyRef?: KeySelector;
    secretKeyRef?: KeySelector;
    fieldRef?: { fieldPath: string; apiVersion?: string };
    resourceFieldRef?: { resource: string; containerName?: string; divisor?: string };
  };
}

/** core/v1 Container (the fields the agent uses). */
export interface Container {
  name: string;
  image?: string;
  imagePullPolicy?: "Always" | "IfNotPresent" | "Never";
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: EnvVar[];
  envFrom?: {
    prefix?: string;
    configMapRef?: { name: string; optional?: boolean };
    secretRef?: { name: string; optional?: boolean };
  }[];
  ports?: { containerPort: number; hostPort?: number; protocol?: string; name?: string }[];
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  volumeMounts?: {
    name: string;
    mountPath: string;
    readOnly?: boolean;
    subPath?: string;
    subPathExpr?: string;
  }[];
  livenessProbe?: Probe;
  readinessProbe?: Probe;
  startupProbe?: Probe;
  securityContext?: Record<string, unknown>;
  tty?: boolean;
  stdin?: boolean;
}

/** core/v1 Volume (the sources the agent supports). */
export interface Volume {
  name: string;
  emptyDir?: { medium?: string; sizeLimit?: string };
  hostPath?: { path: string; type?: string };
  persistentVolumeClaim?: { claimName: string; readOnly?: boolean };
  configMap?: {
    name: string;
    items?: { key: string; path: string; mode?: number }[];
    optional?: boolean;
    defaultMode?: number;
  };
  secret?: {
    secretName: string;
    items?: { key: string; path: string; mode?: number }[];
    optional?: boolean;
    defaultMode?: number;
  };
  downwardAPI?: { items?: DownwardItem[]; defaultMode?: number };
  projected?: {
    sources?: {
      configMap?: { name: string; items?: KeyToPath[]; optional?: boolean };
      secret?: { name: string; items?: KeyToPath[]; optional?: boolean };
      downwardAPI?: { items?: DownwardItem[] };
    }[];
    defaultMode?: number;
  };
}

/** core/v1 KeyToPath: a configMap/secret key written at a path. */
export interface KeyToPath {
  key: string;
  path: string;
  mode?: number;
}

/** core/v1 DownwardAPIVolumeFile (fieldRef only). */
export interface DownwardItem {
  path: string;
  fieldRef?: { fieldPath: string };
  mode?: number;
}

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
