/**
 * kube's Priority admission plugin (plugin/pkg/admission/priority). On pod
 * create it resolves spec.priorityClassName (or the globalDefault class when
 * none is named) to spec.priority and spec.preemptionPolicy, refusing a pod
 * whose class does not exist or whose own priority/preemptionPolicy disagree
 * with its class; on update it keeps what create set. On PriorityClass
 * create/update it keeps globalDefault to at most one class. The critical
 * classes are limited to kube-system unless a ResourceQuota in the pod's
 * namespace covers them, which is the rule kube-apiserver's default
 * ResourceQuota configuration enforces (its limitedResources).
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import type { Pod, PriorityClass, Writable } from "../../client/types.ts";
import { ensureSystemPriorityClasses, SYSTEM_PRIORITY_CLASSES } from "../kinds/priorityclass.ts";
import type { Registry } from "../registry/registry.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "./chain.ts";

const GROUP = "scheduling.k8s.io";
const CRITICAL = ["system-node-critical", "system-cluster-critical"];
/** How kube prints its limited scope (a Go %v of the ScopedResourceSelectorRequirement list). */
const CRITICAL_SCOPE = `[{PriorityClass In [${CRITICAL.join(" ")}]}]`;

type PodSpec = Writable<NonNullable<Pod["spec"]>>;
type Quota = KubeObject & {
  spec?: {
    scopeSelector?: { matchExpressions?: { scopeName?: string; operator?: string; values?: string[] }[] };
  };
};

function forbidden(attrs: AdmissionAttributes, message: string): ApiError {
  const { info, object } = attrs;
  const resource = info.group ? `${info.resource}.${info.group}` : info.resource;
  const name = object.metadata?.name ?? "";
  return new ApiError("Forbidden", `${resource} "${name}" is forbidden: ${message}`, {
    name,
    group: info.group,
    kind: info.resource,
  });
}

async function priorityClasses(registry: Registry): Promise<PriorityClass[]> {
  const info = registry.lookup(GROUP, "priorityclasses");
  return info ? ((await registry.admissionList(info)) as unknown as PriorityClass[]) : [];
}

/** The globalDefault class (the lowest value if a race left two, as kube picks). */
function defaultClass(classes: PriorityClass[]): PriorityClass | undefined {
  let best: PriorityClass | undefined;
  for (const pc of classes) if (pc.globalDefault && (!best || pc.value < best.value)) best = pc;
  return best;
}

/** One class by name; a missing system class is put back first (repairing a deleted default). */
async function priorityClass(registry: Registry, name: string): Promise<PriorityClass | undefined> {
  const info = registry.lookup(GROUP, "priorityclasses");
  if (!info) return undefined;
  const get = () =>
    registry.get(info, undefined, name).then(
      (o) => o as unknown as PriorityClass,
      () => undefined,
    );
  const found = await get();
  if (found || !SYSTEM_PRIORITY_CLASSES.some((pc) => pc.metadata?.name === name)) return found;
  await ensureSystemPriorityClasses(registry);
  return get();
}

/** Does a ResourceQuota in the namespace cover pods of this class (a PriorityClass scope selecting it)? */
async function quotaCovers(registry: Registry, namespace: string, className: string): Promise<boolean> {
  const info = registry.lookup("", "resourcequotas");
  if (!info) return false;
  const quotas = (await registry.list(info, namespace)).items as Quota[];
  return quotas.some((q) =>
    (q.spec?.scopeSelector?.matchExpressions ?? []).some(
      (e) =>
        e.scopeName === "PriorityClass" &&
        (e.operator === "Exists" || (e.operator === "In" && (e.values ?? []).includes(className))),
    ),
  );
}

async function admitPodCreate(attrs: AdmissionAttributes): Promise<void> {
  const pod = attrs.object as Pod & KubeObject;
  const spec = (pod.spec ?? {}) as PodSpec;
  pod.spec = spec;
  let priority = 0;
  let policy: string | undefined;
  if (!spec.priorityClassName) {
    const pc = defaultClass(await priorityClasses(attrs.registry));
    if (pc) {
      spec.priorityClassName = pc.metadata?.name;
      priority = pc.value;
      policy = pc.preemptionPolicy;
    }
  } else {
    const name = spec.priorityClassName;
    const pc = await priorityClass(attrs.registry, name);
    if (!pc) throw forbidden(attrs, `no PriorityClass with name ${name} was found`);
    priority = pc.value;
    policy = pc.preemptionPolicy;
    const namespace = pod.metadata?.namespace ?? "";
    if (
      CRITICAL.includes(name) &&
      namespace !== "kube-system" &&
      !(await quotaCovers(attrs.registry, namespace, name))
    )
      throw forbidden(attrs, `insufficient quota to match these scopes: ${CRITICAL_SCOPE}`);
  }
  if (spec.priority !== undefined && spec.priority !== null && spec.priority !== priority)
    throw forbidden(
      attrs,
      `the integer value of priority (${spec.priority}) must not be provided in pod spec; priority admission controller computed ${priority} from the given PriorityClass name`,
    );
  spec.priority = priority;
  if (policy) {
    if (spec.preemptionPolicy && spec.preemptionPolicy !== policy)
      throw forbidden(
        attrs,
        `the string value of PreemptionPolicy (${spec.preemptionPolicy}) must not be provided in pod spec; priority admission controller computed ${policy} from the given PriorityClass name`,
      );
    spec.preemptionPolicy = policy;
  }
  // kube's pod defaulting: a pod with no class policy preempts.
  spec.preemptionPolicy ??= "PreemptLowerPriority";
}

/** On update the priority create resolved stays (validation then refuses any other change to it). */
function admitPodUpdate(attrs: AdmissionAttributes): void {
  const spec = (attrs.object as Pod).spec as PodSpec | undefined;
  const old = (attrs.old as Pod | undefined)?.spec;
  if (!spec || !old) return;
  if (spec.priority === undefined && old.priority !== undefined) spec.priority = old.priority;
  if (spec.preemptionPolicy === undefined && old.preemptionPolicy !== undefined)
    spec.preemptionPolicy = old.preemptionPolicy;
}

/** At most one globalDefault class. */
async function validateClass(attrs: AdmissionAttributes): Promise<void> {
  const pc = attrs.object as unknown as PriorityClass;
  if (!pc.globalDefault) return;
  const current = defaultClass(await priorityClasses(attrs.registry));
  const name = pc.metadata?.name;
  if (current && (attrs.operation === "CREATE" || current.metadata?.name !== name))
    throw forbidden(
      attrs,
      `PriorityClass ${current.metadata?.name} is already marked as default. Only one default can exist`,
    );
}

/** The Priority admission plugin. */
export const priorityAdmission: AdmissionPlugin = {
  name: "Priority",
  async admit(attrs) {
    const { info, operation, ctx } = attrs;
    if (ctx.subresource || info.group !== "" || info.resource !== "pods") return;
    if (operation === "CREATE") await admitPodCreate(attrs);
    else if (attrs.target !== "status") admitPodUpdate(attrs);
  },
  async validate(attrs) {
    const { info, ctx } = attrs;
    if (ctx.subresource || info.group !== GROUP || info.resource !== "priorityclasses") return;
    await validateClass(attrs);
  },
};
