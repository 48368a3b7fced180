/**
 * A pod's spec turned into what the runtime takes: the sandbox config (ports,
 * DNS, read-only volumes) and each container's config (command, args, env,
 * mounts, resources, security context, log path). Pure functions of the pod,
 * so the lifecycle states only decide *when* to create things.
 */
import type { ContainerConfig, SandboxConfig } from "../runtime/types.ts";
import type { ClusterDns, PreparedPod } from "./context.ts";
import { type Container, type Pod, parseQuantity } from "./k8s.ts";

/** The sandbox for a pod whose per-pod directory is podDir. */
export function sandboxConfig(pod: Pod, podDir: string, dns?: ClusterDns): SandboxConfig {
  return {
    uid: pod.metadata.uid ?? "",
    namespace: pod.metadata.namespace ?? "default",
    name: pod.metadata.name ?? "",
    hostname: pod.spec.hostname ?? pod.metadata.name ?? "",
    dns: dnsOf(pod, dns),
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

/**
 * The pod's resolv.conf, as kubelet's dns.go writes it: ClusterFirst (the default) gets the cluster DNS, the
 * search path `<ns>.svc.<domain> svc.<domain> <domain>` plus the host's, and `ndots:5`; ClusterFirst on the host
 * network, and every policy when the node has no cluster DNS, falls back to Default (the host's resolv.conf);
 * None takes dnsConfig alone; dnsConfig is merged into the others. Without node settings only None is honoured
 * and everything else gets the runtime's default.
 */
export function dnsOf(pod: Pod, cluster?: ClusterDns): SandboxConfig["dns"] {
  const spec = pod.spec as {
    dnsPolicy?: string;
    hostNetwork?: boolean;
    dnsConfig?: { nameservers?: string[]; searches?: string[]; options?: { name: string; value?: string }[] };
  };
  const config = spec.dnsConfig ?? {};
  const extra = {
    servers: config.nameservers ?? [],
    searches: config.searches ?? [],
    options: (config.options ?? []).map((o) => (o.value === undefined ? o.name : `${o.name}:${o.value}`)),
  };
  const policy = spec.dnsPolicy ?? "ClusterFirst";
  if (policy === "None")
    return spec.dnsConfig ? merge({ servers: [], searches: [], options: [] }, extra) : undefined;
  if (!cluster) return undefined;
  const clusterFirst =
    cluster.servers.length > 0 &&
    (policy === "ClusterFirstWithHostNet" || (policy === "ClusterFirst" && !spec.hostNetwork));
  if (!clusterFirst) return merge(cluster.host, extra);
  const ns = pod.metadata.namespace ?? "default";
  const d = cluster.domain;
  return merge(
    {
      servers: cluster.servers,
      searches: [`${ns}.svc.${d}`, `svc.${d}`, d, ...cluster.host.searches],
      options: ["ndots:5"],
    },
    extra,
  );
}

/** dnsConfig merged in as kubelet does: servers and searches appended once each, options replaced by name. */
function merge(
  base: { servers: string[]; searches: string[]; options: string[] },
  extra: { servers: string[]; searches: string[]; options: string[] },
): NonNullable<SandboxConfig["dns"]> {
  const options = new Map<string, string>();
  for (const o of [...base.options, ...extra.options]) options.set(o.split(":")[0] ?? o, o);
  return {
    // resolv.conf honours at most 3 nameservers and 32 search domains (kubelet trims to the same limits).
    servers: [...new Set([...base.servers, ...extra.servers])].slice(0, 3),
    searches: [...new Set([...base.searches, ...extra.searches])].slice(0, 32),
    options: [...options.values()],
  };
}

/** A resolv.conf's nameservers, search domains and options. */
export function parseResolvConf(text: string): ClusterDns["host"] {
  const out: ClusterDns["host"] = { servers: [], searches: [], options: [] };
  for (const line of text.split("\n")) {
    const [key, ...values] = line
      .replace(/[#;].*/, "")
      .trim()
      .split(/\s+/);
    if (key === "nameserver" && values[0]) out.servers.push(values[0]);
    else if (key === "search" || key === "domain") out.searches = values;
    else if (key === "options") out.options.push(...values);
  }
  return out;
}

/** A Service as its environment variables need it. */
export interface EnvService {
  metadata: { name?: string; namespace?: string };
  spec?: { clusterIP?: string; ports?: { name?: string; port?: number; protocol?: string }[] };
}

/**
 * The Service environment variables kubelet injects: the `kubernetes` Service of the default namespace always,
 * and with enableServiceLinks (default true) every Service of the pod's namespace, as `<NAME>_SERVICE_HOST`,
 * `<NAME>_SERVICE_PORT[_<PORT NAME>]` and the docker-link `<NAME>_PORT[_<port>_<PROTO>[_PROTO|_PORT|_ADDR]]`.
 * The container's own env wins over these (the caller spreads them first).
 */
export function serviceEnv(pod: Pod, services: EnvService[]): Record<string, string> {
  const ns = pod.metadata.namespace ?? "default";
  const links = (pod.spec as { enableServiceLinks?: boolean }).enableServiceLinks !== false;
  const chosen = new Map<string, EnvService>();
  for (const s of services) {
    const ip = s.spec?.clusterIP;
    if (!ip || ip === "None" || !s.metadata.name) continue;
    if (s.metadata.namespace === "default" && s.metadata.name === "kubernetes") {
      if (!chosen.has("kubernetes")) chosen.set("kubernetes", s);
    } else if (s.metadata.namespace === ns && links) chosen.set(s.metadata.name, s);
  }
  const env: Record<string, string> = {};
  for (const [name, s] of [...chosen].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const prefix = name.toUpperCase().replace(/-/g, "_");
    const ip = s.spec?.clusterIP ?? "";
    const ports = (s.spec?.ports ?? []).filter((p) => typeof p.port === "number");
    env[`${prefix}_SERVICE_HOST`] = ip;
    if (!ports[0]) continue;
    env[`${prefix}_SERVICE_PORT`] = String(ports[0].port);
    const url = (p: { port?: number; protocol?: string }) =>
      `${(p.protocol ?? "TCP").toLowerCase()}://${ip}:${p.port}`;
    env[`${prefix}_PORT`] = url(ports[0]);
    for (const p of ports) {
      if (p.name) env[`${prefix}_SERVICE_PORT_${p.name.toUpperCase().replace(/-/g, "_")}`] = String(p.port);
      const proto = (p.protocol ?? "TCP").toUpperCase();
      const link = `${prefix}_PORT_${p.port}_${proto}`;
      env[link] = url(p);
      env[`${link}_PROTO`] = proto.toLowerCase();
      env[`${link}_PORT`] = String(p.port);
      env[`${link}_ADDR`] = ip;
    }
  }
  return env;
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
