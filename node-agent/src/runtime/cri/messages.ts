/**
 * TypeScript shapes of the runtime.v1 messages in api.proto, as
 * @grpc/proto-loader presents them (camelCase fields, enums as their names,
 * int64 as decimal strings so nanosecond timestamps keep their precision).
 * Only the fields the agent uses are listed.
 */

/** int64 on the wire: proto-loader hands back strings; numbers are accepted on the way in. */
export type Int64 = string | number;

/** runtime.v1.PodSandboxMetadata. */
export interface PodSandboxMetadata {
  name: string;
  uid: string;
  namespace: string;
  attempt?: number;
}

/** runtime.v1.PortMapping. */
export interface PortMapping {
  protocol: "TCP" | "UDP" | "SCTP";
  containerPort: number;
  hostPort?: number;
  hostIp?: string;
}

/** runtime.v1.Mount. */
export interface CriMount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
  propagation?: "PROPAGATION_PRIVATE" | "PROPAGATION_HOST_TO_CONTAINER" | "PROPAGATION_BIDIRECTIONAL";
}

/** runtime.v1.NamespaceOption. */
export interface NamespaceOption {
  network?: "POD" | "CONTAINER" | "NODE" | "TARGET";
  pid?: "POD" | "CONTAINER" | "NODE" | "TARGET";
  ipc?: "POD" | "CONTAINER" | "NODE" | "TARGET";
  targetId?: string;
}

/** runtime.v1.PodSandboxConfig. */
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname: string;
  logDirectory: string;
  dnsConfig?: { servers: string[]; searches: string[]; options: string[] };
  portMappings: PortMapping[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  linux?: {
    cgroupParent?: string;
    securityContext?: { namespaceOptions?: NamespaceOption; privileged?: boolean };
    sysctls?: Record<string, string>;
  };
}

/** runtime.v1.LinuxContainerResources. */
export interface LinuxContainerResources {
  cpuPeriod?: Int64;
  cpuQuota?: Int64;
  cpuShares?: Int64;
  memoryLimitInBytes?: Int64;
  oomScoreAdj?: Int64;
}

/** runtime.v1.LinuxContainerSecurityContext. */
export interface LinuxContainerSecurityContext {
  capabilities?: { addCapabilities: string[]; dropCapabilities: string[] };
  privileged?: boolean;
  namespaceOptions?: NamespaceOption;
  runAsUser?: { value: Int64 };
  runAsGroup?: { value: Int64 };
  readonlyRootfs?: boolean;
  noNewPrivs?: boolean;
  maskedPaths?: string[];
  readonlyPaths?: string[];
}

/** runtime.v1.ContainerConfig. */
export interface CriContainerConfig {
  metadata: { name: string; attempt?: number };
  image: { image: string };
  command: string[];
  args: string[];
  workingDir?: string;
  envs: { key: string; value: string }[];
  mounts: CriMount[];
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Relative to the sandbox's logDirectory. */
  logPath: string;
  stdin?: boolean;
  tty?: boolean;
  linux?: { resources?: LinuxContainerResources; securityContext?: LinuxContainerSecurityContext };
}

/** runtime.v1.PodSandboxState. */
export type PodSandboxState = "SANDBOX_READY" | "SANDBOX_NOTREADY";

/** runtime.v1.PodSandboxStatus. */
export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: string;
  network?: { ip: string; additionalIps: { ip: string }[] } | null;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

/** runtime.v1.PodSandbox (ListPodSandbox item). */
export interface PodSandbox {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  runtimeHandler: string;
}

/** runtime.v1.ContainerState. */
export type CriContainerState =
  | "CONTAINER_CREATED"
  | "CONTAINER_RUNNING"
  | "CONTAINER_EXITED"
  | "CONTAINER_UNKNOWN";

/** runtime.v1.Container (ListContainers item). */
export interface CriContainer {
  id: string;
  podSandboxId: string;
  metadata: { name: string; attempt: number };
  image: { image: string } | null;
  imageRef: string;
  state: CriContainerState;
  createdAt: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** runtime.v1.ContainerStatus. */
export interface CriContainerStatus {
  id: string;
  metadata: { name: string; attempt: number };
  state: CriContainerState;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  image: { image: string } | null;
  imageRef: string;
  reason: string;
  message: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  logPath: string;
}

/** runtime.v1.Image. */
export interface CriImage {
  id: string;
  repoTags: string[];
  repoDigests: string[];
  size: string;
  pinned: boolean;
}

/** runtime.v1.AuthConfig. */
export interface AuthConfig {
  username?: string;
  password?: string;
  auth?: string;
  serverAddress?: string;
  identityToken?: string;
  registryToken?: string;
}

/** runtime.v1.FilesystemUsage. */
export interface FilesystemUsage {
  timestamp: string;
  fsId: { mountpoint: string } | null;
  usedBytes: { value: string } | null;
  inodesUsed: { value: string } | null;
}

/** runtime.v1.RuntimeCondition. */
export interface RuntimeCondition {
  type: string;
  status: boolean;
  reason: string;
  message: string;
}
