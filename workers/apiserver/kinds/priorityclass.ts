/**
 * scheduling.k8s.io/v1 PriorityClass (pkg/registry/scheduling/priorityclass):
 * a cluster-wide name for a pod priority. Names starting with "system-" and
 * values above one billion belong to the two system classes, which exist
 * from start-up on and cannot be deleted (kube's storage Delete and its
 * post-start hook). The one-default rule is the Priority admission plugin's
 * (admission/priority.ts), as in kube.
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError, errors } from "../../client/status.ts";
import type { PriorityClass, Writable } from "../../client/types.ts";
import type { Registry } from "../registry/registry.ts";
import type {
  FieldError,
  RequestContext,
  ResourceInfo,
  StorageOverride,
  Strategy,
} from "../registry/types.ts";
import { AGE, age, col } from "./print.ts";
import { checkImmutable, forbidden, invalid, required } from "./validation/errors.ts";
import { oneOf } from "./validation/numbers.ts";

/** kube's HighestUserDefinablePriority: values above it are for the system classes only. */
const HIGHEST_USER_DEFINABLE_PRIORITY = 1_000_000_000;
/** kube's SystemPriorityClassPrefix. */
const SYSTEM_PREFIX = "system-";
/** The preemption policies a class (and a pod) may carry. */
const PREEMPTION_POLICIES = ["Never", "PreemptLowerPriority"] as const;

/** kube's SystemPriorityClasses(): the two classes every cluster has. */
export const SYSTEM_PRIORITY_CLASSES: PriorityClass[] = [
  {
    name: "system-node-critical",
    value: 2_000_001_000,
    description: "Used for system critical pods that must not be moved from their current node.",
  },
  {
    name: "system-cluster-critical",
    value: 2_000_000_000,
    description:
      "Used for system critical pods that must run in the cluster, but can be moved to another node if necessary.",
  },
].map(({ name, value, description }) => ({
  apiVersion: "scheduling.k8s.io/v1",
  kind: "PriorityClass",
  metadata: { name },
  value,
  globalDefault: false,
  preemptionPolicy: "PreemptLowerPriority",
  description,
}));

/** kube's IsKnownSystemPriorityClass: why a "system-" class is not one of the two, or undefined. */
function systemClassError(name: string, value: unknown, globalDefault: unknown): string | undefined {
  const known = SYSTEM_PRIORITY_CLASSES.find((pc) => pc.metadata?.name === name);
  if (!known) return `${name} is not a known system priority class`;
  if (value !== known.value) return `value of ${name} PriorityClass must be ${known.value}`;
  if ((globalDefault ?? false) !== known.globalDefault)
    return `globalDefault of ${name} PriorityClass must be ${known.globalDefault}`;
  return undefined;
}

/** kube's ValidatePriorityClass: every field error. */
function validatePriorityClass(pc: Writable<PriorityClass>): FieldError[] {
  const errs: FieldError[] = [];
  const name = pc.metadata?.name ?? "";
  const value = pc.value as unknown;
  if (value === undefined || value === null) errs.push(required("value"));
  else if (typeof value !== "number" || !Number.isInteger(value) || Math.abs(value) > 2 ** 31 - 1)
    errs.push(invalid("value", value, "must be a 32-bit integer"));
  if (name.startsWith(SYSTEM_PREFIX)) {
    const why = systemClassError(name, value, pc.globalDefault);
    if (why)
      errs.push(
        forbidden(
          "metadata.name",
          `priority class names with '${SYSTEM_PREFIX}' prefix are reserved for system use only. error: ${why}`,
        ),
      );
  } else if (typeof value === "number" && value > HIGHEST_USER_DEFINABLE_PRIORITY) {
    errs.push(
      forbidden(
        "value",
        `maximum allowed value of a user defined priority is ${HIGHEST_USER_DEFINABLE_PRIORITY}`,
      ),
    );
  }
  errs.push(...oneOf(pc.preemptionPolicy, PREEMPTION_POLICIES, "preemptionPolicy"));
  return errs;
}

/** The PriorityClass strategy. */
export const priorityClassStrategy: Strategy<Writable<PriorityClass>> = {
  defaults(pc) {
    // SetDefaults_PriorityClass.
    pc.preemptionPolicy ??= "PreemptLowerPriority";
  },
  validate: validatePriorityClass,
  validateUpdate(pc, old) {
    const errs: FieldError[] = [];
    if (pc.value !== old.value) errs.push(forbidden("value", "may not be changed in an update."));
    errs.push(...checkImmutable(pc.preemptionPolicy, old.preemptionPolicy, "preemptionPolicy"));
    return errs;
  },
  specChanged: () => false,
  // kube's printer: NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY.
  columns: [
    col("Value", "Value is the integer value of this priority class.", { type: "integer" }),
    col(
      "Global-Default",
      "GlobalDefault specifies whether this PriorityClass should be considered as the default priority.",
      {
        type: "boolean",
      },
    ),
    AGE,
    col("PreemptionPolicy", "PreemptionPolicy is the Policy for preempting pods with lower priority."),
  ],
  row: (pc, now) => [pc.value, pc.globalDefault ?? false, age(pc, now), pc.preemptionPolicy ?? ""],
};

const SYSTEM: Omit<RequestContext, "now"> = {
  user: "system:apiserver",
  groups: ["system:masters"],
  dryRun: false,
};

/** Create the system classes that are missing (kube's scheduling post-start hook); cheap when they exist. */
export async function ensureSystemPriorityClasses(registry: Registry): Promise<void> {
  const info = registry.lookup("scheduling.k8s.io", "priorityclasses");
  if (!info) return;
  const present = new Set((await registry.list(info, undefined)).items.map((o) => o.metadata?.name));
  for (const pc of SYSTEM_PRIORITY_CLASSES) {
    if (present.has(pc.metadata?.name)) continue;
    try {
      await registry.create(
        info,
        undefined,
        structuredClone(pc) as unknown as KubeObject,
        {
          ...SYSTEM,
          now: registry.now(),
        },
        { manager: "edgeplane-apiserver" },
      );
    } catch (error) {
      if (!(error instanceof ApiError && error.reason === "AlreadyExists")) throw error;
    }
  }
}

/** DELETE: the system classes stay (kube's priorityclass storage); any other goes through the generic store. */
async function deletePriorityClass(
  registry: Registry,
  info: ResourceInfo,
  namespace: string | undefined,
  name: string,
  ctx: RequestContext,
): Promise<{ object: KubeObject; deleted: boolean }> {
  if (SYSTEM_PRIORITY_CLASSES.some((pc) => pc.metadata?.name === name))
    throw errors.forbidden(
      `priorityclasses.scheduling.k8s.io "${name}" is forbidden: this is a system priority class and cannot be deleted`,
    );
  return registry.remove({ ...info, rest: undefined }, namespace, name, ctx);
}

/** The priorityclasses row's override: its built-in objects and its DELETE. */
export const priorityClassStorage: StorageOverride = {
  bootstrap: ensureSystemPriorityClasses,
  delete: deletePriorityClass,
};
