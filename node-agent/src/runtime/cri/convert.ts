/**
 * Pure conversions between the agent's runtime interface (runtime/types.ts)
 * and CRI messages: what kubelet's kuberuntime does when it builds
 * PodSandboxConfig/ContainerConfig and reads statuses back.
 */
import { basename, dirname } from "node:path";
import type {
  ContainerConfig,
  ContainerState,
  ContainerStatus,
  PullOptions,
  SandboxConfig,
} from "../types.ts";
import type {
  AuthConfig,
  CriContainerConfig,
  CriContainerState,
  CriContainerStatus,
  LinuxContainerResources,
  LinuxContainerSecurityContext,
  PodSandboxConfig,
} from "./messages.ts";

/** Label every sandbox and container the agent creates carries, so listing finds only ours. */
export const MANAGED_LABEL = "edgeplane.io/managed";
/** Kubelet's well-known labels: pod UID, name and namespace; container name. */
export const POD_UID_LABEL = "io.kubernetes.pod.uid";
export const POD_NAME_LABEL = "io.kubernetes.pod.name";
export const POD_NAMESPACE_LABEL = "io.kubernetes.pod.namespace";
export const CONTAINER_NAME_LABEL = "io.kubernetes.container.name";
/** Sandbox annotation recording the pod cgroup the agent chose, so removal can clean it up. */
export const CGROUP_PARENT_ANNOTATION = "edgeplane.io/cgroup-parent";

/** Kubelet's CFS period (100 ms) and the smallest quota/share values it sends. */
const CFS_PERIOD_US = 100_000;
const MIN_QUOTA_US = 1_000;
const MIN_SHARES = 2;

/** Paths kubelet masks or makes read-only in every unprivileged container (its defaultMaskedPaths). */
export const DEFAULT_MASKED_PATHS = [
  "/proc/asound",
  "/proc/acpi",
  "/proc/kcore",
  "/proc/keys",
  "/proc/latency_stats",
  "/proc/timer_list",
  "/proc/timer_stats",
  "/proc/sched_debug",
  "/proc/scsi",
  "/sys/firmware",
];
export const DEFAULT_READONLY_PATHS = [
  "/proc/bus",
  "/proc/fs",
  "/proc/irq",
  "/proc/sys",
  "/proc/sysrq-trigger",
];

/** A container that must not be created as asked (privileged when not allowed...): kubelet's CreateContainerConfigError. */
export class ContainerConfigError extends Error {
  readonly reason = "CreateContainerConfigError";
  constructor(message: string) {
    super(message);
    this.name = "ContainerConfigError";
  }
}

/** The pod cgroup used when the agent gives none: <root>/pod<uid>, like kubelet's cgroupfs driver. */
export function podCgroupParent(
  config: Pick<SandboxConfig, "uid" | "cgroupParent">,
  cgroupRoot: string,
): string {
  if (config.cgroupParent) return config.cgroupParent;
  return `${cgroupRoot.replace(/\/+$/, "")}/pod${config.uid.replace(/[^A-Za-z0-9-]/g, "")}`;
}

/** PodSandboxConfig for RunPodSandbox (and, identical, for CreateContainer). */
export function toPodSandboxConfig(
  config: SandboxConfig,
  opts: { cgroupRoot: string; allowPrivileged: boolean },
): PodSandboxConfig {
  const cgroupParent = podCgroupParent(config, opts.cgroupRoot);
  return {
    metadata: { name: config.name, uid: config.uid, namespace: config.namespace, attempt: 0 },
    hostname: config.hostname,
    logDirectory: config.podDir,
    dnsConfig: config.dns
      ? { servers: config.dns.servers, searches: config.dns.searches, options: config.dns.options }
      : undefined,
    portMappings: config.ports
      .filter((p) => (p.hostPort ?? 0) > 0)
      .map((p) => ({ protocol: p.protocol, containerPort: p.containerPort, hostPort: p.hostPort ?? 0 })),
    labels: {
      ...config.labels,
      [POD_UID_LABEL]: config.uid,
      [POD_NAME_LABEL]: config.name,
      [POD_NAMESPACE_LABEL]: config.namespace,
      [MANAGED_LABEL]: "true",
    },
    annotations: { ...config.annotations, [CGROUP_PARENT_ANNOTATION]: cgroupParent },
    linux: {
      cgroupParent,
      securityContext: {
        // Kubelet's defaults for a pod without hostNetwork/hostPID/hostIPC.
        namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD" },
        // containerd refuses privileged containers in an unprivileged sandbox.
        privileged: opts.allowPrivileged,
      },
    },
  };
}

/** CPU shares from the request, CFS quota from the limit, memory limit: kubelet's mapping. */
export function toLinuxResources(config: ContainerConfig): LinuxContainerResources {
  const res: LinuxContainerResources = {};
  const requestMillis = config.requests.cpuMillis ?? config.limits.cpuMillis ?? 0;
  res.cpuShares = Math.max(MIN_SHARES, Math.floor((requestMillis * 1024) / 1000));
  if (config.limits.cpuMillis) {
    res.cpuPeriod = CFS_PERIOD_US;
    res.cpuQuota = Math.max(MIN_QUOTA_US, Math.floor((config.limits.cpuMillis * CFS_PERIOD_US) / 1000));
  }
  if (config.limits.memoryBytes) res.memoryLimitInBytes = Math.floor(config.limits.memoryBytes);
  return res;
}

/** Kubernetes capability names (NET_ADMIN) as containerd wants them (it adds the CAP_ prefix). */
function capNames(caps: string[] | undefined): string[] {
  return (caps ?? []).map((c) => c.toUpperCase().replace(/^CAP_/, ""));
}

/** The container's Linux security context; throws ContainerConfigError for privileged when not allowed. */
export function toSecurityContext(
  config: ContainerConfig,
  allowPrivileged: boolean,
): LinuxContainerSecurityContext {
  const sc = config.securityContext ?? {};
  if (sc.privileged && !allowPrivileged) {
    throw new ContainerConfigError(
      `container ${config.name} is privileged, but this node does not allow privileged containers`,
    );
  }
  if (sc.runAsGroup !== undefined && sc.runAsUser === undefined) {
    throw new ContainerConfigError(`container ${config.name}: runAsGroup needs runAsUser`);
  }
  const out: LinuxContainerSecurityContext = {
    privileged: sc.privileged ?? false,
    readonlyRootfs: sc.readOnlyRootFilesystem ?? false,
    capabilities: {
      addCapabilities: capNames(sc.capabilities?.add),
      dropCapabilities: capNames(sc.capabilities?.drop),
    },
    namespaceOptions: { network: "POD", pid: "CONTAINER", ipc: "POD" },
  };
  if (!sc.privileged) {
    out.maskedPaths = DEFAULT_MASKED_PATHS;
    out.readonlyPaths = DEFAULT_READONLY_PATHS;
  }
  if (sc.runAsUser !== undefined) out.runAsUser = { value: sc.runAsUser };
  if (sc.runAsGroup !== undefined) out.runAsGroup = { value: sc.runAsGroup };
  return out;
}

/**
 * ContainerConfig for CreateContainer. containerd writes the log to
 * sandboxConfig.logDirectory joined with config.logPath, so the sandbox
 * config sent along is pointed at the directory of the agent's logPath.
 */
export function toCriContainerConfig(
  config: ContainerConfig,
  sandbox: SandboxConfig,
  opts: { attempt: number; allowPrivileged: boolean },
): { config: CriContainerConfig; logDirectory: string } {
  return {
    logDirectory: dirname(config.logPath),
    config: {
      metadata: { name: config.name, attempt: opts.attempt },
      image: { image: config.image },
      command: config.command,
      args: config.args,
      workingDir: config.workingDir ?? "",
      envs: Object.entries(config.env).map(([key, value]) => ({ key, value })),
      mounts: config.mounts.map((m) => ({
        containerPath: m.containerPath,
        hostPath: m.hostPath,
        readonly: m.readOnly,
        propagation: "PROPAGATION_PRIVATE",
      })),
      labels: {
        [POD_UID_LABEL]: sandbox.uid,
        [POD_NAME_LABEL]: sandbox.name,
        [POD_NAMESPACE_LABEL]: sandbox.namespace,
        [CONTAINER_NAME_LABEL]: config.name,
        [MANAGED_LABEL]: "true",
      },
      annotations: {},
      logPath: basename(config.logPath),
      stdin: config.stdin ?? false,
      tty: config.tty ?? false,
      linux: {
        resources: toLinuxResources(config),
        securityContext: toSecurityContext(config, opts.allowPrivileged),
      },
    },
  };
}

/** CRI timestamps are int64 nanoseconds as strings; 0 means unset. */
export function nanosToDate(ns: string | number | undefined): Date | undefined {
  if (ns === undefined || ns === "" || ns === "0" || ns === 0) return undefined;
  return new Date(Number(BigInt(ns) / 1_000_000n));
}

const STATES: Record<CriContainerState, ContainerState> = {
  CONTAINER_CREATED: "created",
  CONTAINER_RUNNING: "running",
  CONTAINER_EXITED: "exited",
  CONTAINER_UNKNOWN: "unknown",
};

/** The agent's ContainerStatus from CRI's. OOM kills come back as reason OOMKilled (containerd sets it). */
export function fromCriContainerStatus(s: CriContainerStatus): ContainerStatus {
  const state = STATES[s.state] ?? "unknown";
  const out: ContainerStatus = {
    id: s.id,
    name: s.metadata?.name ?? s.labels[CONTAINER_NAME_LABEL] ?? "",
    state,
    startedAt: nanosToDate(s.startedAt),
    finishedAt: nanosToDate(s.finishedAt),
    imageId: s.imageRef || undefined,
  };
  if (state === "exited") {
    out.exitCode = s.exitCode;
    out.reason = s.reason || (s.exitCode === 0 ? "Completed" : "Error");
  } else if (s.reason) {
    out.reason = s.reason;
  }
  if (s.message) out.message = s.message;
  return out;
}

/**
 * Registry credentials from a pull secret, in the CRI's shape. No
 * server_address: containerd 1.6 parses it as a URL and compares its host with
 * the registry host it resolved to (registry-1.docker.io for docker.io, and a
 * bare "host:port" does not even parse), silently dropping or rejecting the
 * credentials; the agent has already matched the secret to this image.
 */
export function toAuthConfig(auth: PullOptions["auth"]): AuthConfig | undefined {
  if (!auth) return undefined;
  const out: AuthConfig = {};
  if (auth.username) out.username = auth.username;
  if (auth.password) out.password = auth.password;
  if (auth.auth) out.auth = auth.auth;
  if (auth.registrytoken) out.registryToken = auth.registrytoken;
  if (auth.serveraddress) out.serverAddress = auth.serveraddress;
  return out;
}

/** The registry host of an image reference (docker.io when it has none), as Docker's normalisation does. */
export function imageRegistry(image: string): string {
  const slash = image.indexOf("/");
  if (slash < 0) return "docker.io";
  const first = image.slice(0, slash);
  return first.includes(".") || first.includes(":") || first === "localhost" ? first : "docker.io";
}
