/**
 * Resource quantities (cpu, memory, ephemeral-storage, pods, extended
 * resources) as the scheduler counts them: what a pod requests and what a
 * node can still hold.
 */
import { parseQuantity as parseKubeQuantity } from "../../client/quantity.ts";
import type { Container, Pod } from "../k8s.ts";

/** A quantity as the scheduler counts it: absent = 0, malformed = NaN (the shared parser underneath). */
export function parseQuantity(text: string | number | undefined): number {
  if (text === undefined) return 0;
  return parseKubeQuantity(typeof text === "string" ? text.trim() : text) ?? Number.NaN;
}

/** A bag of resource amounts: cpu in millicores, everything else in base units. */
export type ResourceList = Map<string, number>;

/** Read a resources map (requests, allocatable) into canonical units. */
export function toResourceList(map: Record<string, string> | undefined): ResourceList {
  const out: ResourceList = new Map();
  for (const [name, value] of Object.entries(map ?? {})) {
    const amount = parseQuantity(value);
    if (Number.isNaN(amount)) continue;
    out.set(name, name === "cpu" ? Math.round(amount * 1000) : amount);
  }
  return out;
}

function addInto(target: ResourceList, source: ResourceList): void {
  for (const [k, v] of source) target.set(k, (target.get(k) ?? 0) + v);
}

function containerRequests(container: Container): ResourceList {
  // Kubernetes defaults requests to limits when only limits are given.
  return toResourceList({ ...container.resources?.limits, ...container.resources?.requests });
}

/** What a pod asks for: max(sum of containers, largest init container) plus overhead (resourcehelper.PodRequests). */
export function podRequests(pod: Pod): ResourceList {
  const known = requestsBySpec.get(pod.spec);
  if (known) return known;
  const sum: ResourceList = new Map();
  for (const c of pod.spec.containers ?? []) addInto(sum, containerRequests(c));
  for (const c of pod.spec.initContainers ?? []) {
    for (const [k, v] of containerRequests(c)) if (v > (sum.get(k) ?? 0)) sum.set(k, v);
  }
  addInto(sum, toResourceList(pod.spec.overhead));
  requestsBySpec.set(pod.spec, sum);
  return sum;
}

/**
 * podRequests by pod spec: every pass accounts for every bound pod, and the
 * informers hand out the same (never mutated) objects until they change, so
 * quantities are parsed once per pod version instead of once per pass.
 */
const requestsBySpec = new WeakMap<object, ResourceList>();

/** Defaults kube-scheduler assumes for scoring pods that request no cpu/memory (100m, 200Mi). */
const NON_ZERO_CPU = 100;
const NON_ZERO_MEMORY = 200 * 2 ** 20;

/** cpu/memory for scoring: like podRequests, but zero requests count as the non-zero defaults. */
export function nonZeroRequests(requests: ResourceList): { cpu: number; memory: number } {
  return {
    cpu: requests.get("cpu") || NON_ZERO_CPU,
    memory: requests.get("memory") || NON_ZERO_MEMORY,
  };
}
