/**
 * LimitRanger (plugin/pkg/admission/limitranger): on pod create, the
 * namespace's LimitRanges first fill each container's missing limits and
 * requests from their Container items (default, defaultRequest), noted in the
 * kubernetes.io/limit-ranger annotation, then min, max and
 * maxLimitRequestRatio are enforced per container (Container items) and over
 * the pod's sums (Pod items), and a claim's storage request against
 * PersistentVolumeClaim items (creates and updates); a violation is 403
 * Forbidden with kube's messages. One list of the namespace's LimitRanges per
 * pod create or claim write, shared by both phases; nothing else pays for it.
 */
import type { KubeObject } from "../../client/kube.ts";
import { formatQuantity, isBinaryQuantity, parseQuantity } from "../../client/quantity.ts";
import { ApiError } from "../../client/status.ts";
import { list, type Obj, obj } from "../kinds/util.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "./chain.ts";

const ANNOTATION = "kubernetes.io/limit-ranger";
type Resources = Record<string, string>;

/** Whether the plugin looks at this request (LimitRanger SupportsAttributes, pods only). */
function applies(attrs: AdmissionAttributes): boolean {
  // A subresource create (pods/binding's Binding) is no pod to limit.
  if (attrs.info.group !== "" || attrs.target === "status" || attrs.ctx.subresource) return false;
  // Pod containers cannot change after creation; a claim's storage request can grow.
  if (attrs.info.resource === "pods") return attrs.operation === "CREATE";
  return attrs.info.resource === "persistentvolumeclaims";
}

/** A claim's storage request against PersistentVolumeClaim items (PersistentVolumeClaimValidateLimitFunc). */
function claimViolations(claim: KubeObject, items: Obj[]): string[] {
  const requests = obj(obj(obj(claim.spec).resources).requests);
  const out: string[] = [];
  for (const item of items) {
    if (item.type !== "PersistentVolumeClaim") continue;
    out.push(...violations("PersistentVolumeClaim", { min: item.min }, requests, {}));
    for (const [k, v] of Object.entries(obj(item.max))) {
      const req = read(requests, k);
      if (req === undefined)
        out.push(`maximum ${k} usage per PersistentVolumeClaim is ${v}.  No request is specified`);
      else if (req > (parseQuantity(v) ?? 0))
        out.push(`maximum ${k} usage per PersistentVolumeClaim is ${v}, but request is ${requests[k]}`);
    }
  }
  return out;
}

/** The namespace's LimitRange items, listed once per request. */
async function itemsFor(attrs: AdmissionAttributes, memo: WeakMap<object, Obj[]>): Promise<Obj[]> {
  const known = memo.get(attrs);
  if (known) return known;
  const info = attrs.registry.lookup("", "limitranges");
  const items = info
    ? (await attrs.registry.admissionList(info, attrs.object.metadata?.namespace)).flatMap((lr) =>
        list(obj(lr.spec).limits),
      )
    : [];
  memo.set(attrs, items);
  return items;
}

function containersOf(pod: KubeObject): Obj[] {
  const spec = obj(pod.spec);
  return [...list(spec.initContainers), ...list(spec.containers)];
}

/** Fill missing requests/limits of every container from the Container items; returns kube's annotation notes. */
function applyDefaults(pod: KubeObject, items: Obj[]): string[] {
  const limits: Resources = {};
  const requests: Resources = {};
  for (const item of items) {
    if (item.type !== "Container") continue;
    Object.assign(requests, obj(item.defaultRequest));
    Object.assign(limits, obj(item.default));
  }
  if (Object.keys(limits).length + Object.keys(requests).length === 0) return [];
  const notes: string[] = [];
  const spec = obj(pod.spec);
  const groups: [string, Obj[]][] = [
    ["container", list(spec.containers)],
    ["init container", list(spec.initContainers)],
  ];
  for (const [prefix, containers] of groups)
    for (const c of containers) {
      const res = obj(c.resources);
      const have = { limits: { ...obj(res.limits) }, requests: { ...obj(res.requests) } };
      const setLimits = Object.keys(limits).filter((k) => !(k in have.limits));
      // A container's own limit already stands for its request (kube's pod defaulting, done before admission there).
      const setRequests = Object.keys(requests).filter((k) => !(k in have.requests) && !(k in have.limits));
      for (const k of setLimits) have.limits[k] = limits[k];
      for (const k of setRequests) have.requests[k] = requests[k];
      if (setLimits.length + setRequests.length === 0) continue;
      c.resources = { ...res, limits: have.limits, requests: have.requests };
      if (setRequests.length) notes.push(`${setRequests.sort().join(", ")} request for ${prefix} ${c.name}`);
      if (setLimits.length) notes.push(`${setLimits.sort().join(", ")} limit for ${prefix} ${c.name}`);
    }
  return notes;
}

/** The value of `name` in a resource list, and whether it is set. */
function read(list: Obj, name: string): number | undefined {
  return name in list ? (parseQuantity(list[name]) ?? 0) : undefined;
}

/** min/max/ratio of one item against one request and limit list (minConstraint, maxConstraint, limitRequestRatioConstraint). */
function violations(type: string, item: Obj, requests: Obj, limits: Obj): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(obj(item.min))) {
    const enforced = parseQuantity(v) ?? 0;
    const req = read(requests, k);
    const lim = read(limits, k);
    if (req === undefined) out.push(`minimum ${k} usage per ${type} is ${v}.  No request is specified`);
    else if (req < enforced)
      out.push(`minimum ${k} usage per ${type} is ${v}, but request is ${requests[k]}`);
    else if (lim !== undefined && lim < enforced)
      out.push(`minimum ${k} usage per ${type} is ${v}, but limit is ${limits[k]}`);
  }
  for (const [k, v] of Object.entries(obj(item.max))) {
    const enforced = parseQuantity(v) ?? 0;
    const req = read(requests, k);
    const lim = read(limits, k);
    if (lim === undefined) out.push(`maximum ${k} usage per ${type} is ${v}.  No limit is specified`);
    else if (lim > enforced) out.push(`maximum ${k} usage per ${type} is ${v}, but limit is ${limits[k]}`);
    else if (req !== undefined && req > enforced)
      out.push(`maximum ${k} usage per ${type} is ${v}, but request is ${requests[k]}`);
  }
  for (const [k, v] of Object.entries(obj(item.maxLimitRequestRatio))) {
    const req = read(requests, k);
    const lim = read(limits, k);
    const prefix = `${k} max limit to request ratio per ${type} is ${v}`;
    if (!req) out.push(`${prefix}, but no request is specified or request is 0`);
    else if (!lim) out.push(`${prefix}, but no limit is specified or limit is 0`);
    else if (lim / req > (parseQuantity(v) ?? 0))
      out.push(`${prefix}, but provided ratio is ${(lim / req).toFixed(6)}`);
  }
  return out;
}

/** A container's requests with its limits standing in for the ones it leaves unset (as kube's defaulting fills them). */
function effectiveRequests(resources: Obj): Obj {
  return { ...obj(resources.limits), ...obj(resources.requests) };
}

/** The pod's effective requests or limits: the containers' sum, or the largest init container if more (podRequests/podLimits). */
function podTotal(pod: KubeObject, field: "requests" | "limits"): Obj {
  const spec = obj(pod.spec);
  const sum: Record<string, number> = {};
  const binary = new Set<string>();
  const of = (c: Obj) =>
    field === "requests" ? effectiveRequests(obj(c.resources)) : obj(obj(c.resources).limits);
  for (const c of list(spec.containers))
    for (const [k, v] of Object.entries(of(c))) {
      sum[k] = (sum[k] ?? 0) + (parseQuantity(v) ?? 0);
      if (isBinaryQuantity(v)) binary.add(k);
    }
  for (const c of list(spec.initContainers))
    for (const [k, v] of Object.entries(of(c))) {
      sum[k] = Math.max(sum[k] ?? 0, parseQuantity(v) ?? 0);
      if (isBinaryQuantity(v)) binary.add(k);
    }
  return Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, formatQuantity(v, binary.has(k))]));
}

/** Every min/max/ratio violation of the pod (PodValidateLimitFunc). */
function podViolations(pod: KubeObject, items: Obj[]): string[] {
  const out: string[] = [];
  for (const item of items) {
    if (item.type === "Container")
      for (const c of containersOf(pod)) {
        const res = obj(c.resources);
        out.push(...violations("Container", item, effectiveRequests(res), obj(res.limits)));
      }
    if (item.type === "Pod")
      out.push(...violations("Pod", item, podTotal(pod, "requests"), podTotal(pod, "limits")));
  }
  return out;
}

/** The LimitRanger admission plugin. */
export function limitRangerAdmission(): AdmissionPlugin {
  const memo = new WeakMap<object, Obj[]>();
  return {
    name: "LimitRanger",
    async admit(attrs) {
      if (!applies(attrs) || attrs.info.resource !== "pods") return;
      const items = await itemsFor(attrs, memo);
      if (items.length === 0) return;
      const notes = applyDefaults(attrs.object, items);
      if (notes.length === 0) return;
      const meta = attrs.object.metadata ?? {};
      meta.annotations = { ...meta.annotations, [ANNOTATION]: `LimitRanger plugin set: ${notes.join("; ")}` };
      attrs.object.metadata = meta;
    },
    async validate(attrs) {
      if (!applies(attrs)) return;
      const items = await itemsFor(attrs, memo);
      const resource = attrs.info.resource;
      const found =
        resource === "pods" ? podViolations(attrs.object, items) : claimViolations(attrs.object, items);
      if (found.length === 0) return;
      // utilerrors.NewAggregate prints one error bare, several as [a, b].
      const why = found.length === 1 ? found[0] : `[${found.join(", ")}]`;
      const name = attrs.object.metadata?.name ?? "";
      throw new ApiError("Forbidden", `${resource} "${name}" is forbidden: ${why}`, { name, kind: resource });
    },
  };
}
