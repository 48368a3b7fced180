/**
 * ResourceQuota admission (plugin/pkg/admission/resourcequota): a create in
 * a namespace with quotas is refused with 403 when it would take a tracked
 * resource past a quota's status.hard ("exceeded quota: NAME, requested: ...,
 * used: ..., limited: ..."), or when the quota tracks cpu/memory and a
 * container does not declare them ("failed quota: NAME: must specify ...").
 * Admitted usage is charged at once to each quota's status.used with a
 * compare-and-set write, re-checked against the fresh quota on conflict, so
 * concurrent creates cannot overrun it together; the quota controller's
 * recount frees what deletions (or creates refused later) leave behind. As in
 * kube, a quota whose status.hard the controller has not filled yet does not
 * limit anything. Updates are charged what they add, for the kinds whose
 * updates can grow usage (Services, claims). Costs one list of the
 * namespace's quotas per such write.
 */
import type { KubeObject } from "../../client/kube.ts";
import { formatQuantity, parseQuantity } from "../../client/quantity.ts";
import { ApiError } from "../../client/status.ts";
import type { ResourceQuota } from "../../client/types.ts";
import { missingResources, scopesMatch, type Usage, usageOf } from "../../reconcile/quota.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "./chain.ts";

type Quota = ResourceQuota & KubeObject;

function forbidden(attrs: AdmissionAttributes, why: string): ApiError {
  const name = attrs.object.metadata?.name ?? "";
  const resource = attrs.info.group ? `${attrs.info.resource}.${attrs.info.group}` : attrs.info.resource;
  return new ApiError("Forbidden", `${resource} "${name}" is forbidden: ${why}`, {
    name,
    group: attrs.info.group,
    kind: attrs.info.resource,
  });
}

/** "k=v,k=v" over sorted names (kube's prettyPrint). */
function pretty(values: Record<string, string>, names: string[]): string {
  return names.map((k) => `${k}=${values[k] ?? "0"}`).join(",");
}

/** The quota with `delta` charged, or the 403 that refuses it (kube's checkRequest for one quota). */
function charge(attrs: AdmissionAttributes, quota: Quota, delta: Usage, tracked: string[]): Quota {
  const hard = quota.status?.hard ?? {};
  const used = { ...quota.status?.used };
  const unknown = tracked.filter((k) => used[k] === undefined);
  if (unknown.length > 0)
    throw forbidden(
      attrs,
      `status unknown for quota: ${quota.metadata?.name}, resources: ${unknown.sort().join(",")}`,
    );
  const exceeded = tracked
    .filter((k) => (parseQuantity(used[k]) ?? 0) + (delta.amounts[k] ?? 0) > (parseQuantity(hard[k]) ?? 0))
    .sort();
  if (exceeded.length > 0) {
    const requested = Object.fromEntries(
      exceeded.map((k) => [k, formatQuantity(delta.amounts[k] ?? 0, delta.binary.has(k))]),
    );
    throw forbidden(
      attrs,
      `exceeded quota: ${quota.metadata?.name}, requested: ${pretty(requested, exceeded)}, used: ${pretty(used, exceeded)}, limited: ${pretty(hard, exceeded)}`,
    );
  }
  for (const k of tracked) {
    const binary = delta.binary.has(k) || /i$/.test(String(used[k])) || /i$/.test(String(hard[k]));
    used[k] = formatQuantity((parseQuantity(used[k]) ?? 0) + (delta.amounts[k] ?? 0), binary);
  }
  quota.status = { ...quota.status, used };
  return quota;
}

/**
 * Whether quota looks at this write: every create; updates of the spec of
 * Services (a type change adds NodePorts or a load balancer) and claims (a
 * larger storage request), as kube's evaluators handle them.
 */
function handles(attrs: AdmissionAttributes): boolean {
  if (attrs.operation === "CREATE") return true;
  const { group, resource } = attrs.info;
  return (
    attrs.target !== "status" &&
    group === "" &&
    (resource === "services" || resource === "persistentvolumeclaims")
  );
}

/** An update is charged only what it adds (quota.SubtractWithNonNegativeResult). */
function growthOnly(delta: Usage, previous: Usage): void {
  for (const [k, v] of Object.entries(delta.amounts))
    delta.amounts[k] = Math.max(0, v - (previous.amounts[k] ?? 0));
}

/** The ResourceQuota admission plugin (validating phase; put it last, as kube does). */
export function resourceQuotaAdmission(): AdmissionPlugin {
  return {
    name: "ResourceQuota",
    async validate(attrs) {
      const namespace = attrs.object.metadata?.namespace;
      // A subresource create (pods/binding's Binding) makes no new object to charge.
      if (attrs.ctx.subresource || !attrs.info.namespaced || !namespace || !handles(attrs)) return;
      const { group, resource } = attrs.info;
      const delta = usageOf(group, resource, attrs.object, attrs.ctx.now);
      if (attrs.old) growthOnly(delta, usageOf(group, resource, attrs.old, attrs.ctx.now));
      if (Object.values(delta.amounts).every((v) => v === 0)) return;
      const info = attrs.registry.lookup("", "resourcequotas");
      if (!info) return;
      const quotas = (await attrs.registry.list(info, namespace)).items as Quota[];
      if (quotas.length === 0) return;
      const charged: { quota: Quota; tracked: string[] }[] = [];
      for (const quota of quotas) {
        if (!scopesMatch(quota.spec?.scopes ?? [], group, resource, attrs.object)) continue;
        const hardNames = Object.keys(quota.status?.hard ?? {});
        if (group === "" && resource === "pods") {
          const missing = missingResources(attrs.object, hardNames);
          if (missing)
            throw forbidden(attrs, `failed quota: ${quota.metadata?.name}: must specify ${missing}`);
        }
        const tracked = hardNames.filter((k) => (delta.amounts[k] ?? 0) > 0);
        if (tracked.length === 0) continue;
        // Check every quota before charging any.
        charge(attrs, structuredClone(quota), delta, tracked);
        charged.push({ quota, tracked });
      }
      if (attrs.ctx.dryRun) return;
      for (const { quota, tracked } of charged)
        await attrs.registry.update(
          info,
          namespace,
          quota.metadata?.name ?? "",
          (current) => charge(attrs, current as Quota, delta, tracked),
          { ...attrs.ctx, subresource: "status" },
          { manager: "", target: "status" },
        );
    },
  };
}
