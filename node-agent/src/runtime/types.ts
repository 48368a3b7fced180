/**
 * The runtime interface the pod lifecycle drives (krustlet's "provider",
 * kubelet's CRI in miniature). The WASM runtime (runtime/wasm) and the
 * container runtime (runtime/cri) plug in behind it; the state machine in
 * node-agent/src/pod never knows which one it is talking to.
 */

/** A pod's sandbox as the runtime sees it: one per pod, holds its network identity and shared volumes. */
export interface SandboxConfig {
  /** Pod UID: sandboxes and containers are keyed by it. */
  uid: string;
  namespace: string;
  name: string;
  hostname: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** containerPort → hostPort mappings (hostPort 0 = none). */
  ports: { containerPort: number; hostPort?: number; protocol: "TCP" | "UDP" | "SCTP"; name?: string }[];
  dns?: { servers: string[]; searches: string[]; options: string[] };
  /** Directory on the host holding this pod's volumes and logs. */
  podDir: string;
  /** Cgroup parent for the pod (empty when cgroups are not used). */
  cgroupParent?: string;
  /** spec.hostNetwork: the pod keeps the node's network namespace and IP. */
  hostNetwork?: boolean;
  /** Volumes that are read-only whatever the mount says (configMap, secret, downwardAPI, projected). */
  readOnlyVolumes?: string[];
}

export interface SandboxStatus {
  id: string;
  state: "ready" | "notready";
  /** The pod's IP, when the runtime gives pods their own network. */
  ip?: string;
}

/** A mount of a prepared volume directory into a container. */
export interface Mount {
  hostPath: string;
  containerPath: string;
  readOnly: boolean;
}

/** Everything needed to create one container (or WASM instance) in a sandbox. */
export interface ContainerConfig {
  name: string;
  /** Resolved image reference (registry/repo:tag or @digest). */
  image: string;
  command: string[];
  args: string[];
  env: Record<string, string>;
  workingDir?: string;
  mounts: Mount[];
  /** Resources already converted: bytes and millicores. */
  limits: { memoryBytes?: number; cpuMillis?: number };
  requests: { memoryBytes?: number; cpuMillis?: number };
  /** Ports the container listens on (an HTTP WASM component serves its first port). */
  ports: { containerPort: number; protocol: string; name?: string }[];
  securityContext?: {
    runAsUser?: number;
    runAsGroup?: number;
    readOnlyRootFilesystem?: boolean;
    privileged?: boolean;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  /** Absolute path of the file this container's stdout/stderr go to (CRI log format: "<RFC3339Nano> <stream> F <line>"). */
  logPath: string;
  tty?: boolean;
  stdin?: boolean;
}

export type ContainerState = "created" | "running" | "exited" | "unknown";

export interface ContainerStatus {
  id: string;
  name: string;
  state: ContainerState;
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  /** "OOMKilled", "Error", "Completed", "ContainerCannotRun", ... */
  reason?: string;
  message?: string;
  /** Image as resolved (digest) for containerStatuses[].imageID. */
  imageId?: string;
}

export interface PullResult {
  /** Content digest of what was pulled (sha256:...), reported as imageID. */
  digest: string;
  /** The image was already there and nothing was pulled (kubelet's "already present on machine" event). */
  present?: boolean;
}

export interface PullOptions {
  /** Always | IfNotPresent | Never, already resolved against the tag. */
  policy: "Always" | "IfNotPresent" | "Never";
  /** Registry credentials from imagePullSecrets (dockerconfigjson auths). */
  auth?: {
    username?: string;
    password?: string;
    auth?: string;
    registrytoken?: string;
    serveraddress?: string;
  };
  signal?: AbortSignal;
}

export interface ExecResult {
  exitCode: number;
  stdout: Uint8Array;
  stderr: Uint8Array;
}

/**
 * A runtime. Every method is idempotent where Kubernetes needs it to be
 * (stopping a stopped container, removing a removed sandbox is success), and
 * runtimes report state as it is; the pod state machine decides what to do.
 */
export interface Runtime {
  /** RuntimeClass handler name this runtime serves ("wasm", "runc"). */
  readonly handler: string;
  /** Fetch an image (or WASM artifact) so containers can be created from it. Throws PullError. */
  pullImage(image: string, options: PullOptions): Promise<PullResult>;
  runSandbox(config: SandboxConfig): Promise<SandboxStatus>;
  sandboxStatus(sandboxId: string): Promise<SandboxStatus | undefined>;
  /** Stop every container in the sandbox and release its network. */
  stopSandbox(sandboxId: string): Promise<void>;
  removeSandbox(sandboxId: string): Promise<void>;
  createContainer(sandboxId: string, config: ContainerConfig, sandbox: SandboxConfig): Promise<string>;
  startContainer(containerId: string): Promise<void>;
  /** Stop with SIGTERM, then SIGKILL after timeoutSeconds. */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string): Promise<ContainerStatus | undefined>;
  /** Sandboxes and containers the runtime knows about, so a restarted agent can adopt them. */
  listSandboxes(): Promise<(SandboxStatus & { podUid: string })[]>;
  listContainers(sandboxId?: string): Promise<(ContainerStatus & { sandboxId: string; podUid: string })[]>;
  /** Run a command in a container (exec probes). Runtimes that cannot throw ExecUnsupportedError. */
  execSync?(containerId: string, command: string[], timeoutSeconds: number): Promise<ExecResult>;
  /** Release everything (agent shutdown leaves pods running unless asked). */
  close(): Promise<void>;
}

/** An image pull failure: `reason` becomes the waiting reason (ErrImagePull, ImageInspectError, ErrImageNeverPull). */
export class PullError extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
    this.name = "PullError";
  }
}
