/**
 * A pod's spec turned into what the runtime takes: the sandbox config (ports,
 * DNS, read-only volumes) and each container's config (command, args, env,
 * mounts, resources, security context, log path). Pure functions of the pod,
 * so the lifecycle states only decide *when* to create things.
 */
import type { ContainerConfig, SandboxConfig } from "../runtime/types.ts";
import type { PreparedPod } from "./context.ts";
import { type Container, type Pod, parseQuantity } from "./k8s.ts";

/** The sandbox for a pod whose per-pod directory is podDir. */
export function sandboxConfig(pod: Pod, podDir: string): SandboxConfig {
  return {
    uid: pod.metadata.uid ?? "",
    namespace: pod.metadata.namespace ?? "default",
    name: pod.metadata.name ?? "",
    hostname: pod.spec.hostname ?? pod.metadata.name ?? "",
    dns: dnsOf(pod),
    labels: pod.metadata.labels ?? {},
    annotations: pod.metadata.annotations ?? {},
    ports: pod.spec.containers.flatMap((c) =>
      (c.ports ?? []).map((p) => ({
        containerPort: p.containerPort,
        hostPort: p.hostPort,
        protocol: (p.protocol ?? "TCP") as "TCP",
        name: p.name,
      })),
    ),
    podDir,
    hostNetwork: pod.spec.hostNetwork === true,
    readOnlyVolumes: (pod.spec.volumes ?? [])
      .filter((v) => v.configMap || v.secret || v.downwardAPI)
      .map((v) => v.name),
  };
}

/** The pod as createContainer sees it beside a container (identity and directory; no ports of its own). */
export function containerSandboxConfig(pod: Pod, podDir: string): SandboxConfig {
  return {
    uid: pod.metadata.uid ?? "",
    namespace: pod.metadata.namespace ?? "default",
    name: pod.metadata.name ?? "",
    hostname: pod.metadata.name ?? "",
    labels: pod.metadata.labels ?? {},
    annotations: pod.metadata.annotations ?? {},
    ports: [],
    podDir,
  };
}

/** One container's runtime config; `attempt` numbers its log file (0.log, 1.log, ... per restart). */
export function containerConfig(
  pod: Pod,
  container: Container,
  prepared: PreparedPod,
  podDir: string,
  attempt: number,
): ContainerConfig {
  return {
    name: container.name,
    image: container.image ?? "",
    command: container.command ?? [],
    args: container.args ?? [],
    env: prepared.env(container),
    workingDir: container.workingDir,
    mounts: prepared.mounts(container),
    ...resourcesOf(container),
    ports: (container.ports ?? []).map((p) => ({
      containerPort: p.containerPort,
      protocol: p.protocol ?? "TCP",
      name: p.name,
    })),
    logPath: `${podDir}/logs/${container.name}/${attempt}.log`,
    securityContext: securityContextOf(pod, container),
    tty: container.tty,
    stdin: container.stdin,
  };
}

/** Limits and requests in the runtime's units: bytes of memory, millicores of CPU. */
export function resourcesOf(container: Container): Pick<ContainerConfig, "limits" | "requests"> {
  const limits = container.resources?.limits ?? {};
  const requests = container.resources?.requests ?? {};
  const millis = (v?: string) => {
    const q = parseQuantity(v);
    return q === undefined ? undefined : Math.round(q * 1000);
  };
  return {
    limits: { memoryBytes: parseQuantity(limits.memory), cpuMillis: millis(limits.cpu) },
    requests: { memoryBytes: parseQuantity(requests.memory), cpuMillis: millis(requests.cpu) },
  };
}

/** The pod's own DNS settings (dnsPolicy None + dnsConfig); otherwise the runtime's default resolv.conf. */
export function dnsOf(pod: Pod): SandboxConfig["dns"] {
  const spec = pod.spec as {
    dnsPolicy?: string;
    dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  };
  if (spec.dnsPolicy !== "None" || !spec.dnsConfig) return undefined;
  return {
    servers: spec.dnsConfig.nameservers ?? [],
    searches: spec.dnsConfig.searches ?? [],
    options: (spec.dnsConfig.options ?? []).map((o) =>
      o.value === undefined ? o.name : `${o.name}:${o.value}`,
    ),
  };
}

/** The container's security context for the runtime: container fields over the pod's runAsUser/runAsGroup. */
export function securityContextOf(pod: Pod, container: Container): ContainerConfig["securityContext"] {
  type Sc = NonNullable<ContainerConfig["securityContext"]>;
  const podSc = ((pod.spec as { securityContext?: Sc }).securityContext ?? {}) as Sc;
  const sc = (container.securityContext ?? {}) as Sc;
  return {
    runAsUser: sc.runAsUser ?? podSc.runAsUser,
    runAsGroup: sc.runAsGroup ?? podSc.runAsGroup,
    readOnlyRootFilesystem: sc.readOnlyRootFilesystem,
    privileged: sc.privileged,
    capabilities: sc.capabilities,
  };
}
