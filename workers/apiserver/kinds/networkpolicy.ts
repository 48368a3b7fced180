/**
 * networking.k8s.io/v1 NetworkPolicy: kube's defaults (policyTypes, port
 * protocol TCP) and validation (pkg/apis/networking/validation
 * ValidateNetworkPolicy), every field error at once. The node agent enforces
 * it (node-agent/src/netpol/); the table is networkpolicy-print.ts.
 */

import { parseCidr } from "../../client/cidr.ts";
import type { NetworkPolicy } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { networkPolicyColumns, networkPolicyRow } from "./networkpolicy-print.ts";
import { list, obj, specOf } from "./util.ts";
import { forbidden, invalid, notSupported, required } from "./validation/errors.ts";
import { validatePortName } from "./validation/names.ts";
import { validateLabelSelector } from "./validation/selector.ts";

const PROTOCOLS = ["TCP", "UDP", "SCTP"];
const POLICY_TYPES = ["Ingress", "Egress"];
const CIDR_MESSAGE = "must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)";

function portNumberErrors(value: unknown, field: string): FieldError[] {
  if (typeof value === "number" && Number.isInteger(value) && value >= 1 && value <= 65535) return [];
  return [invalid(field, value, "must be between 1 and 65535, inclusive")];
}

/** ValidateNetworkPolicyPort. */
function validatePort(port: Record<string, unknown>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  if (port.protocol !== undefined && !PROTOCOLS.includes(port.protocol as string))
    errs.push(notSupported(`${field}.protocol`, port.protocol, PROTOCOLS));
  const { port: p, endPort } = port;
  if (p === undefined || p === null) {
    if (endPort !== undefined && endPort !== null)
      errs.push(invalid(`${field}.endPort`, endPort, "may not be specified when `port` is not specified"));
  } else if (typeof p === "number") {
    errs.push(...portNumberErrors(p, `${field}.port`));
    if (endPort !== undefined && endPort !== null) {
      if (typeof endPort === "number" && endPort < p)
        errs.push(invalid(`${field}.endPort`, p, "must be greater than or equal to `port`"));
      errs.push(...portNumberErrors(endPort, `${field}.endPort`));
    }
  } else if (typeof p === "string") {
    if (endPort !== undefined && endPort !== null)
      errs.push(invalid(`${field}.endPort`, endPort, "may not be specified when `port` is non-numeric"));
    errs.push(...validatePortName(p, `${field}.port`));
  } else errs.push(invalid(`${field}.port`, p, "must be an integer or a port name"));
  return errs;
}

/** ValidateIPBlock: cidr required and valid; each except valid and a strict subset of cidr. */
function validateIpBlock(block: Record<string, unknown>, field: string): FieldError[] {
  if (!block.cidr) return [required(`${field}.cidr`)];
  const cidr = parseCidr(block.cidr);
  if (!cidr) return [invalid(`${field}.cidr`, block.cidr, CIDR_MESSAGE)];
  const errs: FieldError[] = [];
  (Array.isArray(block.except) ? block.except : []).forEach((text: unknown, i) => {
    const at = `${field}.except[${i}]`;
    const except = parseCidr(text);
    if (!except) {
      errs.push(invalid(at, text, CIDR_MESSAGE));
      return;
    }
    const width = cidr.family === 4 ? 32 : 128;
    const inside =
      except.family === cidr.family &&
      except.ip >> BigInt(width - cidr.bits) === cidr.network >> BigInt(width - cidr.bits);
    if (!inside || cidr.bits >= except.bits)
      errs.push(invalid(at, text, "must be a strict subset of `cidr`"));
  });
  return errs;
}

/** ValidateNetworkPolicyPeer: exactly one of ipBlock or the selectors (both selectors together are one peer). */
function validatePeer(peer: Record<string, unknown>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  let peers = 0;
  if (peer.podSelector !== undefined && peer.podSelector !== null) {
    peers++;
    errs.push(...validateLabelSelector(peer.podSelector, `${field}.podSelector`));
  }
  if (peer.namespaceSelector !== undefined && peer.namespaceSelector !== null) {
    peers++;
    errs.push(...validateLabelSelector(peer.namespaceSelector, `${field}.namespaceSelector`));
  }
  if (peer.ipBlock !== undefined && peer.ipBlock !== null) {
    peers++;
    errs.push(...validateIpBlock(obj(peer.ipBlock), `${field}.ipBlock`));
  }
  if (peers === 0) errs.push(required(field, "must specify a peer"));
  else if (peers > 1 && peer.ipBlock !== undefined && peer.ipBlock !== null)
    errs.push(forbidden(field, "may not specify both ipBlock and another peer"));
  return errs;
}

function validateRules(rules: unknown, field: string, peersKey: "from" | "to"): FieldError[] {
  const errs: FieldError[] = [];
  list(rules).forEach((rule, i) => {
    const at = `${field}[${i}]`;
    list(rule.ports).forEach((port, j) => {
      errs.push(...validatePort(port, `${at}.ports[${j}]`));
    });
    list(rule[peersKey]).forEach((peer, j) => {
      errs.push(...validatePeer(peer, `${at}.${peersKey}[${j}]`));
    });
  });
  return errs;
}

/** Every field error of a NetworkPolicy spec (ValidateNetworkPolicySpec). */
function validateNetworkPolicySpec(spec: Record<string, unknown>): FieldError[] {
  const errs = validateLabelSelector(spec.podSelector, "spec.podSelector");
  errs.push(...validateRules(spec.ingress, "spec.ingress", "from"));
  errs.push(...validateRules(spec.egress, "spec.egress", "to"));
  const types = Array.isArray(spec.policyTypes) ? (spec.policyTypes as unknown[]) : [];
  if (types.length > POLICY_TYPES.length)
    errs.push(invalid("spec.policyTypes", types, "may not specify more than two policyTypes"));
  else
    types.forEach((t, i) => {
      if (!POLICY_TYPES.includes(t as string))
        errs.push(notSupported(`spec.policyTypes[${i}]`, t, POLICY_TYPES));
    });
  return errs;
}

/** The NetworkPolicy strategy. */
export const networkPolicyStrategy: Strategy<NetworkPolicy> = {
  defaults(np) {
    const spec = specOf(np);
    // SetDefaults_NetworkPolicy: Ingress always, Egress when egress rules are given.
    if (!Array.isArray(spec.policyTypes) || spec.policyTypes.length === 0)
      spec.policyTypes = list(spec.egress).length > 0 ? ["Ingress", "Egress"] : ["Ingress"];
    // SetDefaults_NetworkPolicyPort.
    for (const rules of [spec.ingress, spec.egress])
      for (const rule of list(rules))
        for (const port of list(rule.ports)) if (port.protocol === undefined) port.protocol = "TCP";
  },
  validate: (np) => validateNetworkPolicySpec(obj(np.spec)),
  columns: networkPolicyColumns,
  row: networkPolicyRow,
};
