/**
 * PodSpec and PodTemplateSpec validation (ValidatePodSpec,
 * ValidatePodTemplateSpec), shared by pods and every workload template.
 */
import type { FieldError } from "../../registry/types.ts";
import { validateContainer } from "./container.ts";
import { duplicate, forbidden, invalid, notSupported, required } from "./errors.ts";
import { validateDNS1123Label, validateDNS1123Subdomain, validateLabels } from "./names.ts";
import { nonNegativeInt, oneOf, positiveInt } from "./numbers.ts";
import { validateAffinity } from "./probes.ts";

type Obj = Record<string, unknown>;

/** The valid pod restart policies. */
const RESTART_POLICIES = ["Always", "Never", "OnFailure"] as const;
const DNS_POLICIES = ["ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"];
const TOLERATION_OPERATORS = ["Equal", "Exists"];
const TAINT_EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];
/** Volume sources we recognise; any of the core sources counts as the one source. */
const VOLUME_SOURCES = [
  "hostPath",
  "emptyDir",
  "gcePersistentDisk",
  "awsElasticBlockStore",
  "gitRepo",
  "secret",
  "nfs",
  "iscsi",
  "glusterfs",
  "persistentVolumeClaim",
  "rbd",
  "flexVolume",
  "cinder",
  "cephfs",
  "flocker",
  "downwardAPI",
  "fc",
  "azureFile",
  "configMap",
  "vsphereVolume",
  "quobyte",
  "azureDisk",
  "photonPersistentDisk",
  "projected",
  "portworxVolume",
  "scaleIO",
  "storageos",
  "csi",
  "ephemeral",
  "image",
];

function validateVolumes(volumes: unknown, path: string): { errs: FieldError[]; names: Set<string> } {
  const names = new Set<string>();
  if (volumes === undefined) return { errs: [], names };
  if (!Array.isArray(volumes)) return { errs: [invalid(path, volumes, "must be a list")], names };
  const errs: FieldError[] = [];
  volumes.forEach((v: Obj, i) => {
    const p = `${path}[${i}]`;
    errs.push(...validateDNS1123Label(v?.name, `${p}.name`));
    if (typeof v?.name === "string") {
      if (names.has(v.name)) errs.push(duplicate(`${p}.name`, v.name));
      names.add(v.name);
    }
    const sources = VOLUME_SOURCES.filter((s) => v?.[s] !== undefined && v?.[s] !== null);
    if (sources.length === 0) errs.push(required(p, "must specify a volume type"));
    else if (sources.length > 1)
      errs.push(forbidden(`${p}.${sources[1]}`, "may not specify more than 1 volume type"));
  });
  return { errs, names };
}

function validateTolerations(tolerations: unknown, path: string): FieldError[] {
  if (tolerations === undefined) return [];
  if (!Array.isArray(tolerations)) return [invalid(path, tolerations, "must be a list")];
  const errs: FieldError[] = [];
  tolerations.forEach((t: Obj, i) => {
    const p = `${path}[${i}]`;
    errs.push(...oneOf(t.operator, TOLERATION_OPERATORS, `${p}.operator`));
    if (t.operator === "Exists" && t.value)
      errs.push(invalid(`${p}.operator`, t.operator, "value must be empty when `operator` is 'Exists'"));
    if (!t.key && t.operator !== "Exists")
      errs.push(
        invalid(
          `${p}.operator`,
          t.operator,
          'operator must be Exists when `key` is empty, which means "match all values and all keys"',
        ),
      );
    if (t.effect) errs.push(...oneOf(t.effect, TAINT_EFFECTS, `${p}.effect`));
    if (t.tolerationSeconds !== undefined && t.effect !== "NoExecute")
      errs.push(
        invalid(`${p}.effect`, t.effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"),
      );
  });
  return errs;
}

/** Every error of a PodSpec at `path` (e.g. "spec" or "spec.template.spec"). */
export function validatePodSpec(spec: unknown, path: string): FieldError[] {
  if (!spec || typeof spec !== "object") return [required(path)];
  const s = spec as Obj;
  const { errs, names } = validateVolumes(s.volumes, `${path}.volumes`);
  const seen = new Map<string, string>();
  if (!Array.isArray(s.containers) || s.containers.length === 0) errs.push(required(`${path}.containers`));
  for (const key of ["initContainers", "containers"]) {
    const list = s[key];
    if (list === undefined) continue;
    if (!Array.isArray(list)) {
      errs.push(invalid(`${path}.${key}`, list, "must be a list"));
      continue;
    }
    list.forEach((c, i) => {
      errs.push(...validateContainer(c, `${path}.${key}[${i}]`, names, seen));
    });
  }
  if (s.restartPolicy === undefined || s.restartPolicy === "") errs.push(required(`${path}.restartPolicy`));
  else errs.push(...oneOf(s.restartPolicy, RESTART_POLICIES, `${path}.restartPolicy`));
  errs.push(...oneOf(s.dnsPolicy, DNS_POLICIES, `${path}.dnsPolicy`));
  errs.push(...nonNegativeInt(s.terminationGracePeriodSeconds, `${path}.terminationGracePeriodSeconds`));
  errs.push(...positiveInt(s.activeDeadlineSeconds, `${path}.activeDeadlineSeconds`));
  errs.push(...validateLabels(s.nodeSelector, `${path}.nodeSelector`));
  errs.push(...validateTolerations(s.tolerations, `${path}.tolerations`));
  errs.push(...validateAffinity(s.affinity, `${path}.affinity`));
  if (s.serviceAccountName)
    errs.push(...validateDNS1123Subdomain(s.serviceAccountName, `${path}.serviceAccountName`));
  if (s.nodeName) errs.push(...validateDNS1123Subdomain(s.nodeName, `${path}.nodeName`));
  if (s.hostname) errs.push(...validateDNS1123Label(s.hostname, `${path}.hostname`));
  if (s.subdomain) errs.push(...validateDNS1123Label(s.subdomain, `${path}.subdomain`));
  if (s.runtimeClassName)
    errs.push(...validateDNS1123Subdomain(s.runtimeClassName, `${path}.runtimeClassName`));
  return errs;
}

/**
 * Every error of a workload's pod template at `path` ("spec.template"):
 * template labels, the pod spec, and the restart policies the workload allows.
 */
export function validatePodTemplate(
  template: unknown,
  path: string,
  restartPolicies: readonly string[],
): FieldError[] {
  if (!template || typeof template !== "object") return [required(path)];
  const t = template as Obj;
  const meta = (t.metadata ?? {}) as Obj;
  const errs = validateLabels(meta.labels, `${path}.metadata.labels`);
  errs.push(...validatePodSpec(t.spec, `${path}.spec`));
  const policy = (t.spec as Obj | undefined)?.restartPolicy;
  if (
    typeof policy === "string" &&
    RESTART_POLICIES.includes(policy as never) &&
    !restartPolicies.includes(policy)
  )
    errs.push(notSupported(`${path}.spec.restartPolicy`, policy, restartPolicies));
  if ((t.spec as Obj | undefined)?.activeDeadlineSeconds !== undefined && restartPolicies.includes("Always"))
    errs.push(
      forbidden(`${path}.spec.activeDeadlineSeconds`, "activeDeadlineSeconds in ReplicaSet is not Supported"),
    );
  return errs;
}
