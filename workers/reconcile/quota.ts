/**
 * What an object counts against a ResourceQuota (kube's pkg/quota/v1
 * evaluators), shared by the ResourceQuota admission plugin (the delta of a
 * create) and the quota controller (the recount): every object its
 * count/<resource>[.<group>]; pods (not finished) pods, cpu/memory/
 * ephemeral-storage requests (also as the bare names) and limits; services
 * their NodePorts and load balancers; claims their storage requests; the
 * legacy object counts (configmaps, secrets, ...). Quota scopes BestEffort,
 * NotBestEffort, Terminating and NotTerminating select pods.
 */
import type { KubeObject } from "../client/kube.ts";
import { formatQuantity, isBinaryQuantity, parseQuantity } from "../client/quantity.ts";

/** Amounts per resource name, with whether each prints in binary units. */
export interface Usage {
  amounts: Record<string, number>;
  binary: Set<string>;
}

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v && typeof v === "object" && !Array.isArray(v) ? (v as Obj) : {});
const list = (v: unknown): Obj[] => (Array.isArray(v) ? (v as Obj[]) : []);

/** Resources whose quota forces every container to declare them (the pod evaluator's validationSet). */
const MUST_SPECIFY = ["cpu", "limits.cpu", "limits.memory", "memory", "requests.cpu", "requests.memory"];
/** Core resources counted by their plain name as well as count/<resource> (kube's legacy object counts). */
const LEGACY_COUNTS = new Set([
  "configmaps",
  "persistentvolumeclaims",
  "replicationcontrollers",
  "resourcequotas",
  "secrets",
  "services",
]);
const COMPUTE = ["cpu", "memory", "ephemeral-storage"];

function add(usage: Usage, name: string, amount: number, binary = false): void {
  usage.amounts[name] = (usage.amounts[name] ?? 0) + amount;
  if (binary) usage.binary.add(name);
}

/** A new, empty Usage. */
export function emptyUsage(): Usage {
  return { amounts: {}, binary: new Set() };
}

/** The count/ name of a resource: count/pods, count/deployments.apps. */
export function countName(group: string, resource: string): string {
  return group ? `count/${resource}.${group}` : `count/${resource}`;
}

/** Whether a pod still counts for compute quota (QuotaV1Pod: not finished, not past its deletion grace). */
function podCounts(pod: KubeObject, now: Date): boolean {
  const phase = obj(pod.status).phase;
  if (phase === "Succeeded" || phase === "Failed") return false;
  const deleting = pod.metadata?.deletionTimestamp;
  if (!deleting) return true;
  const grace = pod.metadata?.deletionGracePeriodSeconds ?? 0;
  return Date.parse(deleting) + grace * 1000 > now.getTime();
}

/** One container's or the pod's per-resource maximum of init containers, folded into `into`. */
function containerUsage(c: Obj): Usage {
  const usage = emptyUsage();
  const res = obj(c.resources);
  // Limits stand in for unset requests, as kube's pod defaulting fills them.
  for (const [k, v] of Object.entries({ ...obj(res.limits), ...obj(res.requests) })) {
    const amount = parseQuantity(v) ?? 0;
    add(usage, `requests.${k}`, amount, isBinaryQuantity(v));
    if (COMPUTE.includes(k)) add(usage, k, amount, isBinaryQuantity(v));
  }
  for (const [k, v] of Object.entries(obj(res.limits)))
    add(usage, `limits.${k}`, parseQuantity(v) ?? 0, isBinaryQuantity(v));
  return usage;
}

function podUsage(pod: KubeObject, usage: Usage): void {
  const spec = obj(pod.spec);
  const sum = emptyUsage();
  for (const c of list(spec.containers)) {
    const u = containerUsage(c);
    for (const [k, v] of Object.entries(u.amounts)) add(sum, k, v, u.binary.has(k));
  }
  for (const c of list(spec.initContainers)) {
    const u = containerUsage(c);
    for (const [k, v] of Object.entries(u.amounts))
      if (v > (sum.amounts[k] ?? 0)) {
        sum.amounts[k] = v;
        if (u.binary.has(k)) sum.binary.add(k);
      }
  }
  add(usage, "pods", 1);
  for (const [k, v] of Object.entries(sum.amounts)) add(usage, k, v, sum.binary.has(k));
}

/** What one object of `group/resource` uses. */
export function usageOf(group: string, resource: string, object: KubeObject, now: Date): Usage {
  const usage = emptyUsage();
  add(usage, countName(group, resource), 1);
  if (group !== "") return usage;
  if (LEGACY_COUNTS.has(resource)) add(usage, resource, 1);
  const spec = obj(object.spec);
  if (resource === "pods" && podCounts(object, now)) podUsage(object, usage);
  if (resource === "services") {
    const type = spec.type;
    if (type === "LoadBalancer") add(usage, "services.loadbalancers", 1);
    if (type === "NodePort" || type === "LoadBalancer")
      add(usage, "services.nodeports", list(spec.ports).length);
  }
  if (resource === "persistentvolumeclaims") {
    const storage = obj(obj(spec.resources).requests).storage;
    add(usage, "requests.storage", parseQuantity(storage) ?? 0, isBinaryQuantity(storage));
  }
  return usage;
}

/** Whether a pod is BestEffort: no container requests or limits anything. */
function bestEffort(pod: KubeObject): boolean {
  const spec = obj(pod.spec);
  return [...list(spec.containers), ...list(spec.initContainers)].every((c) => {
    const res = obj(c.resources);
    return Object.keys(obj(res.requests)).length === 0 && Object.keys(obj(res.limits)).length === 0;
  });
}

/** Whether a quota with these scopes covers this object (only pods can match a scoped quota). */
export function scopesMatch(scopes: string[], group: string, resource: string, object: KubeObject): boolean {
  if (scopes.length === 0) return true;
  if (group !== "" || resource !== "pods") return false;
  const terminating = obj(object.spec).activeDeadlineSeconds !== undefined;
  return scopes.every((scope) => {
    switch (scope) {
      case "BestEffort":
        return bestEffort(object);
      case "NotBestEffort":
        return !bestEffort(object);
      case "Terminating":
        return terminating;
      case "NotTerminating":
        return !terminating;
      default:
        return false;
    }
  });
}

/**
 * The MUST_SPECIFY resources among `tracked` that some container leaves
 * unset, as kube's Constraints message words it ("limits.cpu for: a,b;
 * requests.memory for: a"), or undefined when every container sets them.
 */
export function missingResources(pod: KubeObject, tracked: string[]): string | undefined {
  const required = tracked.filter((r) => MUST_SPECIFY.includes(r)).sort();
  if (required.length === 0) return undefined;
  const spec = obj(pod.spec);
  const missing = new Map<string, string[]>();
  for (const c of [...list(spec.containers), ...list(spec.initContainers)]) {
    const has = containerUsage(c).amounts;
    for (const r of required)
      if (!(r in has)) missing.set(r, [...(missing.get(r) ?? []), String(c.name)].sort());
  }
  if (missing.size === 0) return undefined;
  return [...missing.keys()]
    .sort()
    .map((r) => `${r} for: ${missing.get(r)?.join(",")}`)
    .join("; ");
}

/** A resource list (status.used) as kube prints and stores it. */
export function formatUsage(
  usage: Usage,
  names: string[],
  binaryHint: Record<string, unknown> = {},
): Record<string, string> {
  const out: Record<string, string> = {};
  for (const k of names)
    out[k] = formatQuantity(usage.amounts[k] ?? 0, usage.binary.has(k) || isBinaryQuantity(binaryHint[k]));
  return out;
}
