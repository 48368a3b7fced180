/**
 * Pod Security Admission (k8s.io/pod-security-admission/admission): the
 * namespace labels pod-security.kubernetes.io/{enforce,warn,audit}[-version]
 * pick a Pod Security Standard per mode; pods that violate the enforce level
 * are refused with 403, violations of the warn level come back as Warning
 * headers, and workload pod templates only ever warn. A cluster default level
 * applies where a namespace sets no label. Audit needs an audit log, which
 * Edgeplane does not have, so the audit label is validated and otherwise unused.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { Registry } from "../registry/registry.ts";
import type { FieldError, RequestContext, ResourceInfo } from "../registry/types.ts";
import type { AdmissionPlugin } from "./chain.ts";
import { CHECKS, type CheckResult, type PsaPodSpec } from "./podsecurity-checks.ts";

/** A Pod Security Standard. */
export type Level = "privileged" | "baseline" | "restricted";
/** A level at a policy version ("latest" or "v1.N"). */
export interface LevelVersion {
  level: Level;
  version: string;
}
/** The level per mode for one namespace (api.Policy). */
export interface Policy {
  enforce: LevelVersion;
  warn: LevelVersion;
  audit: LevelVersion;
}

const PREFIX = "pod-security.kubernetes.io/";
const MODES = ["enforce", "warn", "audit"] as const;
const LEVELS: Level[] = ["privileged", "baseline", "restricted"];
/** kube's namespaceMaxPodsToCheck: how many existing pods a new enforce level is checked against. */
const MAX_PODS_TO_CHECK = 3000;

/** Parse a level name; undefined when it is not one of the three. */
export function parseLevel(value: string | undefined): Level | undefined {
  return LEVELS.find((l) => l === value);
}

function parseVersion(value: string): string | undefined {
  return value === "latest" || /^v1\.(0|[1-9][0-9]*)$/.test(value) ? value : undefined;
}

function minor(version: string): number {
  return version === "latest" ? Number.POSITIVE_INFINITY : Number(version.slice(3));
}

/** "baseline:latest", as kube prints a LevelVersion. */
function levelString(lv: LevelVersion): string {
  return `${lv.level}:${lv.version}`;
}

/**
 * The policy a namespace's labels select (api.PolicyToEvaluate). Unparseable
 * values fail closed (restricted, latest) and are reported as field errors.
 * Unlike kube, an unset warn level follows the namespace's effective enforce
 * level rather than the cluster default, so opting a namespace into
 * privileged also silences the default warnings there.
 */
export function policyFor(
  labels: Record<string, string> | undefined,
  defaultLevel: Level,
): { policy: Policy; errors: FieldError[] } {
  const errors: FieldError[] = [];
  const def = { level: defaultLevel, version: "latest" };
  const policy: Policy = { enforce: { ...def }, warn: { ...def }, audit: { ...def } };
  for (const mode of MODES) {
    const levelKey = `${PREFIX}${mode}`;
    const level = labels?.[levelKey];
    if (level !== undefined) {
      const parsed = parseLevel(level);
      policy[mode].level = parsed ?? "restricted";
      if (!parsed) errors.push(invalidLabel(levelKey, level, `must be one of ${LEVELS.join(", ")}`));
    }
    const versionKey = `${levelKey}-version`;
    const version = labels?.[versionKey];
    if (version !== undefined) {
      const parsed = parseVersion(version);
      policy[mode].version = parsed ?? "latest";
      if (!parsed) errors.push(invalidLabel(versionKey, version, `must be "latest" or "v1.x"`));
    }
  }
  if (labels?.[`${PREFIX}warn`] === undefined) {
    policy.warn.level = policy.enforce.level;
    if (labels?.[`${PREFIX}warn-version`] === undefined) policy.warn.version = policy.enforce.version;
  }
  return { policy, errors };
}

function invalidLabel(key: string, value: string, detail: string): FieldError {
  return {
    reason: "FieldValueInvalid",
    field: `metadata.labels[${key}]`,
    message: `Invalid value: ${JSON.stringify(value)}: ${detail}`,
  };
}

/** The failed checks of a pod (metadata annotations + spec) at a level and version, in kube's order. */
export function evaluatePod(
  lv: LevelVersion,
  annotations: Record<string, string> | undefined,
  spec: PsaPodSpec,
): CheckResult[] {
  if (lv.level === "privileged") return [];
  const v = minor(lv.version);
  const applies = CHECKS.filter((c) => c.since <= v);
  // kube's registry: the baseline checks restricted keeps, then either the overlapping baseline ones or restricted's own.
  const order = [
    ...applies.filter((c) => c.level === "baseline" && !c.overlap),
    ...applies.filter((c) =>
      lv.level === "baseline" ? c.level === "baseline" && c.overlap : c.level === "restricted",
    ),
  ];
  return order.map((c) => c.check(annotations ?? {}, spec, v)).filter((r) => !r.allowed);
}

/** "reason (detail), reason (detail)" (AggregateCheckResult.ForbiddenDetail). */
export function forbiddenDetail(results: CheckResult[]): string {
  return results.map((r) => (r.detail ? `${r.reason} (${r.detail})` : r.reason)).join(", ");
}

/** Where a workload kind keeps its pod template (kube's DefaultPodSpecExtractor). */
const TEMPLATES: Record<string, string[]> = {
  "/replicationcontrollers": ["spec", "template"],
  "/podtemplates": ["template"],
  "apps/replicasets": ["spec", "template"],
  "apps/deployments": ["spec", "template"],
  "apps/statefulsets": ["spec", "template"],
  "apps/daemonsets": ["spec", "template"],
  "batch/jobs": ["spec", "template"],
  "batch/cronjobs": ["spec", "jobTemplate", "spec", "template"],
};

/** Pod subresources that cannot change what PSA checks (ignoredPodSubresources). */
const IGNORED_POD_SUBRESOURCES = new Set([
  "exec",
  "attach",
  "binding",
  "eviction",
  "log",
  "portforward",
  "proxy",
  "status",
]);

type PodLike = { metadata?: { annotations?: Record<string, string> }; spec?: PsaPodSpec };

function isPods(info: ResourceInfo): boolean {
  return info.group === "" && info.resource === "pods";
}

function templateOf(info: ResourceInfo, object: KubeObject): PodLike | undefined {
  const path = TEMPLATES[`${info.group}/${info.resource}`];
  if (!path) return undefined;
  let at: unknown = object;
  for (const key of path) at = (at as Record<string, unknown> | undefined)?.[key];
  return at && typeof at === "object" ? (at as PodLike) : undefined;
}

/** Relevant mutable pod fields are images (and the legacy seccomp annotations): other updates skip PSA, as in kube. */
function significantPodUpdate(pod: PodLike, old: PodLike): boolean {
  const seccomp = "seccomp.security.alpha.kubernetes.io/pod";
  const a = pod.metadata?.annotations ?? {};
  const b = old.metadata?.annotations ?? {};
  if (a[seccomp] !== b[seccomp]) return true;
  for (const field of ["containers", "initContainers"] as const) {
    const now = pod.spec?.[field] ?? [];
    const before = old.spec?.[field] ?? [];
    if (now.length !== before.length) return true;
    if (now.some((c, i) => significantContainer(c, before[i], a, b))) return true;
  }
  for (const c of pod.spec?.ephemeralContainers ?? []) {
    const o = old.spec?.ephemeralContainers?.find((e) => e.name === c.name);
    if (!o || significantContainer(c, o, a, b)) return true;
  }
  return false;
}

function significantContainer(
  c: { name?: string; image?: string },
  o: { name?: string; image?: string } | undefined,
  a: Record<string, string>,
  b: Record<string, string>,
): boolean {
  const key = `container.seccomp.security.alpha.kubernetes.io/${c.name}`;
  return c.image !== o?.image || a[key] !== b[key];
}

/** Options of the admission plugin. */
export interface PodSecurityOptions {
  /** The level for namespaces without labels (enforce and warn). */
  defaultLevel: Level;
}

/** Build Pod Security Admission with a cluster default level: a validating plugin (after the object's validation). */
export function podSecurityAdmission(options: PodSecurityOptions): AdmissionPlugin {
  const namespacePolicy = async (registry: Registry, namespace: string | undefined, ctx: RequestContext) => {
    if (!registry.lookup("", "namespaces") || !namespace) return undefined;
    const ns = await registry.namespace(namespace, ctx);
    return policyFor(ns?.metadata?.labels, options.defaultLevel).policy;
  };

  const admitPod = async (
    info: ResourceInfo,
    pod: PodLike & KubeObject,
    old: (PodLike & KubeObject) | undefined,
    registry: Registry,
    ctx: RequestContext,
  ) => {
    if (ctx.subresource && IGNORED_POD_SUBRESOURCES.has(ctx.subresource)) return;
    if (old && !significantPodUpdate(pod, old)) return;
    const policy = await namespacePolicy(registry, pod.metadata?.namespace, ctx);
    if (!policy) return;
    const enforced = evaluatePod(policy.enforce, pod.metadata?.annotations, pod.spec ?? {});
    if (enforced.length) {
      const name = pod.metadata?.name ?? "";
      throw new ApiError(
        "Forbidden",
        `${info.resource} ${JSON.stringify(name)} is forbidden: violates PodSecurity ${JSON.stringify(levelString(policy.enforce))}: ${forbiddenDetail(enforced)}`,
        { name, kind: info.resource },
      );
    }
    warn(ctx, policy.warn, evaluatePod(policy.warn, pod.metadata?.annotations, pod.spec ?? {}));
  };

  const admitWorkload = async (
    template: PodLike,
    namespace: string | undefined,
    registry: Registry,
    ctx: RequestContext,
  ) => {
    if (ctx.subresource) return;
    const policy = await namespacePolicy(registry, namespace, ctx);
    if (!policy) return;
    // Workloads are never refused (their pods are): the enforce level, then the warn level, only warn.
    const seen = new Set<string>();
    for (const lv of [policy.enforce, policy.warn]) {
      const key = levelString(lv);
      if (seen.has(key)) continue;
      seen.add(key);
      warn(ctx, lv, evaluatePod(lv, template.metadata?.annotations, template.spec ?? {}));
    }
  };

  const admitNamespace = async (
    ns: KubeObject,
    old: KubeObject | undefined,
    registry: Registry,
    ctx: RequestContext,
  ) => {
    const { policy, errors } = policyFor(ns.metadata?.labels, options.defaultLevel);
    const oldErrors = old && policyFor(old.metadata?.labels, options.defaultLevel).errors;
    // An update that leaves already-invalid labels as they were is not refused (kube compares the errors too).
    if (errors.length && JSON.stringify(errors) !== JSON.stringify(oldErrors)) {
      const name = ns.metadata?.name ?? "";
      throw new ApiError(
        "Invalid",
        `Namespace ${JSON.stringify(name)} is invalid: ${errors.map((e) => `${e.field}: ${e.message}`).join(", ")}`,
        {
          name,
          kind: "Namespace",
          causes: errors,
        },
      );
    }
    if (!old || policy.enforce.level === "privileged") return;
    const before = policyFor(old.metadata?.labels, options.defaultLevel).policy.enforce;
    if (levelString(before) === levelString(policy.enforce)) return;
    if (
      before.version === policy.enforce.version &&
      LEVELS.indexOf(policy.enforce.level) <= LEVELS.indexOf(before.level)
    )
      return;
    ctx.warnings?.push(...(await existingPodWarnings(registry, ns.metadata?.name ?? "", policy.enforce)));
  };

  return {
    name: "PodSecurity",
    async validate({ operation, info, object, old, target, registry, ctx }) {
      // Only creates and main-resource updates: status and subresource writes (target status/raw) do not set the spec.
      if (operation === "UPDATE" && target !== "main") return;
      if (isPods(info)) return admitPod(info, object, old, registry, ctx);
      if (info.group === "" && info.resource === "namespaces")
        return admitNamespace(object, old, registry, ctx);
      const template = templateOf(info, object);
      if (template) await admitWorkload(template, object.metadata?.namespace, registry, ctx);
    },
  };
}

function warn(ctx: RequestContext, lv: LevelVersion, results: CheckResult[]): void {
  if (results.length)
    ctx.warnings?.push(
      `would violate PodSecurity ${JSON.stringify(levelString(lv))}: ${forbiddenDetail(results)}`,
    );
}

/** Warnings about existing pods a stricter enforce level would refuse (EvaluatePodsInNamespace). */
async function existingPodWarnings(
  registry: Registry,
  namespace: string,
  lv: LevelVersion,
): Promise<string[]> {
  const podsInfo = registry.lookup("", "pods");
  if (!podsInfo) return [];
  const page = await registry.list(podsInfo, namespace, { limit: MAX_PODS_TO_CHECK });
  const byReason = new Map<string, { first: string; count: number }>();
  for (const pod of page.items as (PodLike & KubeObject)[]) {
    const failed = evaluatePod(lv, pod.metadata?.annotations, pod.spec ?? {});
    if (!failed.length) continue;
    const reason = failed.map((r) => r.reason).join(", ");
    const name = pod.metadata?.name ?? "";
    const seen = byReason.get(reason);
    if (!seen) byReason.set(reason, { first: name, count: 1 });
    else {
      seen.count++;
      if (name < seen.first) seen.first = name;
    }
  }
  const out: string[] = [];
  if (page.continue)
    out.push(
      `new PodSecurity enforce level only checked against the first ${page.items.length} of ${page.items.length + (page.remainingItemCount ?? 0)} existing pods`,
    );
  if (byReason.size)
    out.push(
      `existing pods in namespace ${JSON.stringify(namespace)} violate the new PodSecurity enforce level ${JSON.stringify(levelString(lv))}`,
    );
  const podWarnings = [...byReason].map(([reason, { first, count }]) => {
    const others = count === 1 ? "" : count === 2 ? " (and 1 other pod)" : ` (and ${count - 1} other pods)`;
    return `${first}${others}: ${reason}`;
  });
  return [...out, ...podWarnings.sort()];
}
