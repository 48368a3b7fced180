/**
 * core/v1 Node: registered by node agents with their status; printed with
 * STATUS (Ready/NotReady/Unknown, SchedulingDisabled), ROLES and VERSION.
 */

import type { Node, Writable } from "../../client/types.ts";
import { agentSkewProblem } from "../../client/version.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { AGE, age, col, orNone } from "./print.ts";
import { conditions, specDiffers } from "./status.ts";
import { list, obj } from "./util.ts";
import { deepEqual, forbidden, invalid, required } from "./validation/errors.ts";
import { validateQualifiedName } from "./validation/names.ts";
import { oneOf } from "./validation/numbers.ts";

const EFFECTS = ["NoExecute", "NoSchedule", "PreferNoSchedule"];

function nodeStatus(node: Node): string {
  const ready = conditions(node).find((c) => c.type === "Ready");
  // As kubectl's printNode: any Ready status but True prints NotReady; only a missing condition is Unknown.
  let text = !ready ? "Unknown" : ready.status === "True" ? "Ready" : "NotReady";
  if (obj(node.spec).unschedulable) text += ",SchedulingDisabled";
  return text;
}

function roles(node: Node): string {
  const found = new Set<string>();
  for (const [k, v] of Object.entries(node.metadata?.labels ?? {})) {
    if (k.startsWith("node-role.kubernetes.io/")) found.add(k.slice("node-role.kubernetes.io/".length));
    else if (k === "kubernetes.io/role" && v) found.add(v);
  }
  return found.size ? [...found].sort().join(",") : "<none>";
}

function address(node: Node, type: string): string {
  return orNone(list(obj(node.status).addresses).find((a) => a.type === type)?.address as string | undefined);
}

function validateTaints(node: Node): FieldError[] {
  const errs: FieldError[] = [];
  list(obj(node.spec).taints).forEach((t, i) => {
    const p = `spec.taints[${i}]`;
    if (!t.key) errs.push(required(`${p}.key`));
    else errs.push(...validateQualifiedName(String(t.key), `${p}.key`));
    if (!t.effect) errs.push(required(`${p}.effect`));
    else errs.push(...oneOf(t.effect, EFFECTS, `${p}.effect`));
  });
  const cidr = obj(node.spec).podCIDR;
  if (cidr !== undefined && !/^[0-9a-fA-F.:]+\/\d{1,3}$/.test(String(cidr)))
    errs.push(invalid("spec.podCIDR", cidr, "must be a valid CIDR"));
  return errs;
}

/**
 * As kube's ValidateNodeUpdate: the pod CIDRs may go from unset to set (node
 * IPAM's one write) but never change after, since pods already hold addresses from them.
 */
function validatePodCidrUpdate(node: Node, old: Node): FieldError[] {
  const cidrs = (n: Node) => {
    const spec = obj(n.spec);
    return (spec.podCIDRs as unknown[] | undefined) ?? (spec.podCIDR ? [spec.podCIDR] : []);
  };
  const before = cidrs(old);
  if (before.length === 0 || deepEqual(cidrs(node), before)) return [];
  return [forbidden("spec.podCIDRs", 'node updates may not change podCIDR except from "" to valid')];
}

/** Registration refuses an agent outside the supported version skew (docs/deploy.md, Version skew). */
function validateAgentVersion(node: Node, old?: Node): FieldError[] {
  const version = node.status?.nodeInfo?.kubeletVersion;
  if (typeof version !== "string" || version === old?.status?.nodeInfo?.kubeletVersion) return [];
  const problem = agentSkewProblem(version);
  return problem ? [forbidden("status.nodeInfo.kubeletVersion", problem)] : [];
}

/** The Node strategy: agents create nodes with status, so create keeps it; updates keep old status. */
export const nodeStrategy: Strategy<Writable<Node>> = {
  prepareForUpdate(node, old) {
    if (old.status === undefined) delete node.status;
    else node.status = structuredClone(old.status);
  },
  prepareForStatusUpdate(node, old) {
    node.spec = structuredClone(old.spec);
  },
  validate: (node) => [...validateTaints(node), ...validateAgentVersion(node)],
  validateUpdate: (node, old) => validatePodCidrUpdate(node, old),
  validateStatusUpdate: (node, old) => validateAgentVersion(node, old),
  specChanged: specDiffers,
  columns: [
    col("Status", "The status of the node"),
    col("Roles", "The roles of the node"),
    AGE,
    col("Version", "Kubelet Version reported by the node."),
    col("Internal-IP", "List of internal IPs in the node", { wide: true }),
    col("External-IP", "List of external IPs in the node", { wide: true }),
    col(
      "OS-Image",
      "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
      { wide: true },
    ),
    col(
      "Kernel-Version",
      "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
      { wide: true },
    ),
    col(
      "Container-Runtime",
      "Container runtime version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
      { wide: true },
    ),
  ],
  row(node, now) {
    const info = node.status?.nodeInfo;
    return [
      nodeStatus(node),
      roles(node),
      age(node, now),
      info?.kubeletVersion ?? "",
      address(node, "InternalIP"),
      address(node, "ExternalIP"),
      orNone(info?.osImage),
      orNone(info?.kernelVersion),
      orNone(info?.containerRuntimeVersion),
    ];
  },
  fieldSelectors: { "spec.unschedulable": (n) => String(obj(n.spec).unschedulable === true) },
};
