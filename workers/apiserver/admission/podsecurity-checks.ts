/**
 * The Pod Security Standards checks, one small function per check, after
 * k8s.io/pod-security-admission/policy/check_*.go (latest version). Each
 * check reads a pod's metadata and spec and returns a CheckResult whose
 * reason/detail text is kube's, so messages match what kubectl users know.
 * The order of CHECKS is kube's evaluation order (registration order of the
 * check files), which is the order violations are listed in.
 */

/** The security-relevant subset of a container (core/v1 Container). */
export interface PsaContainer {
  name?: string;
  image?: string;
  ports?: { hostPort?: number }[];
  securityContext?: PsaSecurityContext & {
    privileged?: boolean;
    allowPrivilegeEscalation?: boolean;
    procMount?: string;
    capabilities?: { add?: string[]; drop?: string[] };
  };
  livenessProbe?: PsaHandler;
  readinessProbe?: PsaHandler;
  startupProbe?: PsaHandler;
  lifecycle?: { postStart?: PsaHandler; preStop?: PsaHandler };
}

interface PsaHandler {
  httpGet?: { host?: string };
  tcpSocket?: { host?: string };
}

/** Fields shared by the pod and container security contexts. */
interface PsaSecurityContext {
  runAsUser?: number;
  runAsNonRoot?: boolean;
  seLinuxOptions?: { user?: string; role?: string; type?: string; level?: string };
  seccompProfile?: { type?: string };
  appArmorProfile?: { type?: string };
  windowsOptions?: { hostProcess?: boolean };
}

/** The security-relevant subset of a pod spec (core/v1 PodSpec). */
export interface PsaPodSpec {
  hostNetwork?: boolean;
  hostPID?: boolean;
  hostIPC?: boolean;
  hostUsers?: boolean;
  os?: { name?: string };
  securityContext?: PsaSecurityContext & { sysctls?: { name?: string }[] };
  volumes?: ({ name?: string } & Record<string, unknown>)[];
  initContainers?: PsaContainer[];
  containers?: PsaContainer[];
  ephemeralContainers?: PsaContainer[];
}

/** The outcome of one check (policy.CheckResult). */
export interface CheckResult {
  allowed: boolean;
  reason?: string;
  detail?: string;
}

/** One check: its level, the first policy version it applies to, and the function. */
export interface Check {
  id: string;
  level: "baseline" | "restricted";
  /** Baseline checks that restricted replaces with a stricter check of its own. */
  overlap?: boolean;
  /** Minor version of v1.x from which the check applies. */
  since: number;
  /** `minor` is the policy version's N in v1.N (Infinity for latest), for checks whose rules changed over versions. */
  check: (annotations: Record<string, string>, spec: PsaPodSpec, minor: number) => CheckResult;
}

const OK: CheckResult = { allowed: true };

function containers(spec: PsaPodSpec): PsaContainer[] {
  return [...(spec.initContainers ?? []), ...(spec.containers ?? []), ...(spec.ephemeralContainers ?? [])];
}

function pluralize(singular: string, plural: string, n: number): string {
  return n === 1 ? singular : plural;
}

function joinQuote(items: string[]): string {
  return items.map((i) => JSON.stringify(i)).join(", ");
}

function sorted(set: Set<string>): string[] {
  return [...set].sort();
}

function named(kind: string, names: string[]): string {
  return `${pluralize(kind, `${kind}s`, names.length)} ${joinQuote(names)}`;
}

function fail(reason: string, detail: string): CheckResult {
  return { allowed: false, reason, detail };
}

/** "pod and containers "a"" style list of who set a bad value. */
function setters(pod: boolean, badContainers: string[]): string[] {
  const out = pod ? ["pod"] : [];
  if (badContainers.length) out.push(named("container", badContainers));
  return out;
}

const isWindows = (spec: PsaPodSpec) => spec.os?.name === "windows";
/** hostUsers=false (user namespaces) relaxes procMount and runAsNonRoot (KEP-127). */
const userNamespaced = (spec: PsaPodSpec) => spec.hostUsers === false;

const APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/";

function appArmorProfile(annotations: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const ok = (t?: string) => t === "RuntimeDefault" || t === "Localhost";
  const badValues = new Set<string>();
  const pod = !!spec.securityContext?.appArmorProfile && !ok(spec.securityContext.appArmorProfile.type);
  if (pod) badValues.add(spec.securityContext?.appArmorProfile?.type ?? "");
  const bad: string[] = [];
  for (const c of containers(spec)) {
    const p = c.securityContext?.appArmorProfile;
    if (p && !ok(p.type)) {
      bad.push(c.name ?? "");
      badValues.add(p.type ?? "");
    }
  }
  const who = setters(pod, bad);
  const values = sorted(badValues);
  const annos = Object.entries(annotations)
    .filter(
      ([k, v]) =>
        k.startsWith(APPARMOR_ANNOTATION) &&
        !(v === "" || v === "runtime/default" || v.startsWith("localhost/")),
    )
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .sort();
  if (annos.length) {
    values.push(...annos);
    who.push(pluralize("annotation", "annotations", annos.length));
  }
  if (!who.length) return OK;
  return fail(
    pluralize("forbidden AppArmor profile", "forbidden AppArmor profiles", values.length),
    `${who.join(" and ")} must not set AppArmor profile type to ${joinQuote(values)}`,
  );
}

function hostNamespaces(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const used = (["hostIPC", "hostNetwork", "hostPID"] as const).filter((f) => spec[f] === true);
  return used.length ? fail("host namespaces", used.map((f) => `${f}=true`).join(", ")) : OK;
}

function hostPorts(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const bad: string[] = [];
  const ports = new Set<string>();
  for (const c of containers(spec)) {
    const used = (c.ports ?? []).filter((p) => (p.hostPort ?? 0) !== 0);
    for (const p of used) ports.add(String(p.hostPort));
    if (used.length) bad.push(c.name ?? "");
  }
  if (!bad.length) return OK;
  return fail(
    "hostPort",
    `${named("container", bad)} ${pluralize("uses", "use", bad.length)} ${pluralize("hostPort", "hostPorts", ports.size)} ${sorted(ports).join(", ")}`,
  );
}

function hostProbesAndHostLifecycle(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const bad = new Set<string>();
  const hosts = new Set<string>();
  for (const c of containers(spec)) {
    for (const h of [
      c.livenessProbe,
      c.readinessProbe,
      c.startupProbe,
      c.lifecycle?.postStart,
      c.lifecycle?.preStop,
    ]) {
      for (const host of [h?.httpGet?.host, h?.tcpSocket?.host]) {
        if (!host) continue;
        bad.add(c.name ?? "");
        hosts.add(host);
      }
    }
  }
  if (!bad.size) return OK;
  return fail(
    "probe or lifecycle host",
    `${named("container", sorted(bad))} ${pluralize("uses", "use", bad.size)} ${pluralize("probe or lifecycle host", "probe or lifecycle hosts", hosts.size)} ${joinQuote(sorted(hosts))}`,
  );
}

function privileged(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const bad = containers(spec)
    .filter((c) => c.securityContext?.privileged === true)
    .map((c) => c.name ?? "");
  return bad.length
    ? fail("privileged", `${named("container", bad)} must not set securityContext.privileged=true`)
    : OK;
}

function procMount(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  if (userNamespaced(spec)) return OK;
  const bad: string[] = [];
  const types = new Set<string>();
  for (const c of containers(spec)) {
    const t = c.securityContext?.procMount;
    if (t === undefined || t === "Default") continue;
    bad.push(c.name ?? "");
    types.add(t);
  }
  return bad.length
    ? fail(
        "procMount",
        `${named("container", bad)} must not set securityContext.procMount to ${joinQuote(sorted(types))}`,
      )
    : OK;
}

const SELINUX_TYPES = new Set(["", "container_t", "container_init_t", "container_kvm_t"]);

function seLinuxOptions(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const badTypes = new Set<string>();
  let user = false;
  let role = false;
  const valid = (o?: PsaSecurityContext["seLinuxOptions"]) => {
    if (!o) return true;
    let ok = true;
    if (!SELINUX_TYPES.has(o.type ?? "")) {
      ok = false;
      badTypes.add(o.type ?? "");
    }
    if (o.user) {
      ok = false;
      user = true;
    }
    if (o.role) {
      ok = false;
      role = true;
    }
    return ok;
  };
  const pod = !valid(spec.securityContext?.seLinuxOptions);
  const bad = containers(spec)
    .filter((c) => !valid(c.securityContext?.seLinuxOptions))
    .map((c) => c.name ?? "");
  const who = setters(pod, bad);
  if (!who.length) return OK;
  const data: string[] = [];
  // kube lists user/role only alongside a bad type (its code nests them there).
  if (badTypes.size) {
    data.push(named("type", sorted(badTypes)));
    if (user) data.push("user may not be set");
    if (role) data.push("role may not be set");
  }
  return fail(
    "seLinuxOptions",
    `${who.join(" and ")} set forbidden securityContext.seLinuxOptions: ${data.join("; ")}`,
  );
}

/** The safe sysctls, each with the policy version (v1.N) from which it is allowed (kube's sysctls_1_0 ... _1_32). */
const SAFE_SYSCTLS = new Map<string, number>([
  ["kernel.shm_rmid_forced", 0],
  ["net.ipv4.ip_local_port_range", 0],
  ["net.ipv4.tcp_syncookies", 0],
  ["net.ipv4.ping_group_range", 0],
  ["net.ipv4.ip_unprivileged_port_start", 0],
  ["net.ipv4.ip_local_reserved_ports", 27],
  ["net.ipv4.tcp_keepalive_time", 29],
  ["net.ipv4.tcp_fin_timeout", 29],
  ["net.ipv4.tcp_keepalive_intvl", 29],
  ["net.ipv4.tcp_keepalive_probes", 29],
  ["net.ipv4.tcp_rmem", 32],
  ["net.ipv4.tcp_wmem", 32],
]);

function sysctls(_: Record<string, string>, spec: PsaPodSpec, minor: number): CheckResult {
  const bad = (spec.securityContext?.sysctls ?? [])
    .map((s) => s.name ?? "")
    .filter((n) => {
      const since = SAFE_SYSCTLS.get(n);
      return since === undefined || since > minor;
    });
  return bad.length ? fail("forbidden sysctls", bad.join(", ")) : OK;
}

function windowsHostProcess(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const pod = spec.securityContext?.windowsOptions?.hostProcess === true;
  const bad = containers(spec)
    .filter((c) => c.securityContext?.windowsOptions?.hostProcess === true)
    .map((c) => c.name ?? "");
  const who = setters(pod, bad);
  return who.length
    ? fail("hostProcess", `${who.join(" and ")} must not set securityContext.windowsOptions.hostProcess=true`)
    : OK;
}

const BASELINE_CAPABILITIES = new Set([
  "AUDIT_WRITE",
  "CHOWN",
  "DAC_OVERRIDE",
  "FOWNER",
  "FSETID",
  "KILL",
  "MKNOD",
  "NET_BIND_SERVICE",
  "SETFCAP",
  "SETGID",
  "SETPCAP",
  "SETUID",
  "SYS_CHROOT",
]);

function capabilitiesBaseline(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const bad: string[] = [];
  const caps = new Set<string>();
  for (const c of containers(spec)) {
    const added = (c.securityContext?.capabilities?.add ?? []).filter(
      (cap) => !BASELINE_CAPABILITIES.has(cap),
    );
    for (const cap of added) caps.add(cap);
    if (added.length) bad.push(c.name ?? "");
  }
  return bad.length
    ? fail(
        "non-default capabilities",
        `${named("container", bad)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`,
      )
    : OK;
}

function hostPathVolumes(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const bad = (spec.volumes ?? []).filter((v) => v.hostPath != null).map((v) => v.name ?? "");
  return bad.length ? fail("hostPath volumes", named("volume", bad)) : OK;
}

const validSeccomp = (t?: string) => t === "RuntimeDefault" || t === "Localhost";

/** Explicitly bad seccomp types on the pod and containers; `implicit` lists containers with none at all. */
function seccompSetters(spec: PsaPodSpec) {
  const values = new Set<string>();
  const podProfile = spec.securityContext?.seccompProfile;
  const pod = !!podProfile && !validSeccomp(podProfile.type);
  if (pod) values.add(podProfile?.type ?? "");
  const bad: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const p = c.securityContext?.seccompProfile;
    if (p && !validSeccomp(p.type)) {
      bad.push(c.name ?? "");
      values.add(p.type ?? "");
    } else if (!p && !(podProfile && !pod)) implicit.push(c.name ?? "");
  }
  return { who: setters(pod, bad), values: sorted(values), implicit };
}

function seccompProfileBaseline(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const { who, values } = seccompSetters(spec);
  return who.length
    ? fail(
        "seccompProfile",
        `${who.join(" and ")} must not set securityContext.seccompProfile.type to ${joinQuote(values)}`,
      )
    : OK;
}

function allowPrivilegeEscalation(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  if (isWindows(spec)) return OK;
  const bad = containers(spec)
    .filter((c) => c.securityContext?.allowPrivilegeEscalation !== false)
    .map((c) => c.name ?? "");
  return bad.length
    ? fail(
        "allowPrivilegeEscalation != false",
        `${named("container", bad)} must set securityContext.allowPrivilegeEscalation=false`,
      )
    : OK;
}

function capabilitiesRestricted(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  if (isWindows(spec)) return OK;
  const missingDrop: string[] = [];
  const adding: string[] = [];
  const caps = new Set<string>();
  for (const c of containers(spec)) {
    const cap = c.securityContext?.capabilities;
    if (!cap?.drop?.includes("ALL")) missingDrop.push(c.name ?? "");
    const added = (cap?.add ?? []).filter((a) => a !== "NET_BIND_SERVICE");
    for (const a of added) caps.add(a);
    if (added.length) adding.push(c.name ?? "");
  }
  const details: string[] = [];
  if (missingDrop.length)
    details.push(`${named("container", missingDrop)} must set securityContext.capabilities.drop=["ALL"]`);
  if (adding.length)
    details.push(
      `${named("container", adding)} must not include ${joinQuote(sorted(caps))} in securityContext.capabilities.add`,
    );
  return details.length ? fail("unrestricted capabilities", details.join("; ")) : OK;
}

const ALLOWED_VOLUME_SOURCES = [
  "configMap",
  "csi",
  "downwardAPI",
  "emptyDir",
  "ephemeral",
  "persistentVolumeClaim",
  "projected",
  "secret",
];

function restrictedVolumes(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  const bad: string[] = [];
  const types = new Set<string>();
  for (const v of spec.volumes ?? []) {
    const sources = Object.keys(v).filter((k) => k !== "name" && v[k] != null);
    if (sources.some((s) => ALLOWED_VOLUME_SOURCES.includes(s))) continue;
    bad.push(v.name ?? "");
    for (const s of sources) types.add(s);
  }
  if (!bad.length) return OK;
  const t = sorted(types);
  return fail(
    "restricted volume types",
    `${named("volume", bad)} ${pluralize("uses", "use", bad.length)} ${pluralize("restricted volume type", "restricted volume types", t.length)} ${joinQuote(t)}`,
  );
}

function runAsNonRoot(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  if (userNamespaced(spec)) return OK;
  const podValue = spec.securityContext?.runAsNonRoot;
  const explicit: string[] = [];
  const implicit: string[] = [];
  for (const c of containers(spec)) {
    const v = c.securityContext?.runAsNonRoot;
    if (v === false) explicit.push(c.name ?? "");
    else if (v === undefined && podValue !== true) implicit.push(c.name ?? "");
  }
  const who = setters(podValue === false, explicit);
  if (who.length)
    return fail(
      "runAsNonRoot != true",
      `${who.join(" and ")} must not set securityContext.runAsNonRoot=false`,
    );
  if (implicit.length)
    return fail(
      "runAsNonRoot != true",
      `pod or ${named("container", implicit)} must set securityContext.runAsNonRoot=true`,
    );
  return OK;
}

function runAsUser(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  if (userNamespaced(spec)) return OK;
  const bad = containers(spec)
    .filter((c) => c.securityContext?.runAsUser === 0)
    .map((c) => c.name ?? "");
  const who = setters(spec.securityContext?.runAsUser === 0, bad);
  return who.length ? fail("runAsUser=0", `${who.join(" and ")} must not set runAsUser=0`) : OK;
}

function seccompProfileRestricted(_: Record<string, string>, spec: PsaPodSpec): CheckResult {
  if (isWindows(spec)) return OK;
  const { who, values, implicit } = seccompSetters(spec);
  if (who.length)
    return fail(
      "seccompProfile",
      `${who.join(" and ")} must not set securityContext.seccompProfile.type to ${joinQuote(values)}`,
    );
  if (implicit.length)
    return fail(
      "seccompProfile",
      `pod or ${named("container", implicit)} must set securityContext.seccompProfile.type to "RuntimeDefault" or "Localhost"`,
    );
  return OK;
}

/** Every check, in kube's registration order. */
export const CHECKS: Check[] = [
  { id: "allowPrivilegeEscalation", level: "restricted", since: 8, check: allowPrivilegeEscalation },
  { id: "appArmorProfile", level: "baseline", since: 0, check: appArmorProfile },
  { id: "capabilities_baseline", level: "baseline", overlap: true, since: 0, check: capabilitiesBaseline },
  { id: "capabilities_restricted", level: "restricted", since: 22, check: capabilitiesRestricted },
  { id: "hostNamespaces", level: "baseline", since: 0, check: hostNamespaces },
  { id: "hostPathVolumes", level: "baseline", overlap: true, since: 0, check: hostPathVolumes },
  { id: "hostPorts", level: "baseline", since: 0, check: hostPorts },
  {
    id: "hostProbesAndHostLifecycle",
    level: "baseline",
    since: 34,
    check: hostProbesAndHostLifecycle,
  },
  { id: "privileged", level: "baseline", since: 0, check: privileged },
  { id: "procMount", level: "baseline", since: 0, check: procMount },
  { id: "restrictedVolumes", level: "restricted", since: 0, check: restrictedVolumes },
  { id: "runAsNonRoot", level: "restricted", since: 0, check: runAsNonRoot },
  { id: "runAsUser", level: "restricted", since: 23, check: runAsUser },
  { id: "seLinuxOptions", level: "baseline", since: 0, check: seLinuxOptions },
  {
    id: "seccompProfile_baseline",
    level: "baseline",
    overlap: true,
    since: 19,
    check: seccompProfileBaseline,
  },
  { id: "seccompProfile_restricted", level: "restricted", since: 19, check: seccompProfileRestricted },
  { id: "sysctls", level: "baseline", since: 0, check: sysctls },
  { id: "windowsHostProcess", level: "baseline", since: 0, check: windowsHostProcess },
];
