/**
 * networking.k8s.io/v1 Ingress: kube's validation
 * (pkg/apis/networking/validation ValidateIngressSpec), the status split,
 * kube's printer (NAME CLASS HOSTS ADDRESS PORTS AGE) and the
 * DefaultIngressClass admission plugin (an Ingress created without a class
 * gets the default IngressClass's name).
 */
import type { Ingress, IngressBackend } from "kubernetes-types/networking/v1.js";
import type { KubeObject } from "../../client/kube.ts";
import type { AdmissionPlugin } from "../admission/chain.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { DEFAULT_CLASS_ANNOTATION } from "./ingressclass.ts";
import { AGE, age, col } from "./print.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { list, obj } from "./util.ts";
import { invalid, notSupported, required } from "./validation/errors.ts";
import { validateDNS1123Label, validateDNS1123Subdomain, validatePortName } from "./validation/names.ts";

const PATH_TYPES = ["Exact", "ImplementationSpecific", "Prefix"];
/** Sequences a Prefix/Exact path may not contain, and the suffixes it may not end with (kube's invalidPathSequences). */
const BAD_SEQUENCES = ["//", "/./", "/../", "%2f", "%2F"];
const BAD_SUFFIXES = ["/..", "/."];
const WILDCARD_MSG =
  "a wildcard DNS-1123 subdomain must start with '*.', followed by a valid DNS subdomain, which must consist of lower case alphanumeric characters, '-' or '.' and end with an alphanumeric character (e.g. '*.example.com', regex used for validation is '\\*\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const IPV4 = /^(\d{1,3})(\.\d{1,3}){3}$/;

/** A host as an Ingress rule or TLS entry may name it: a DNS name, or "*." and one. */
function validateHost(host: string, field: string): FieldError[] {
  if (IPV4.test(host) || host.includes(":"))
    return [invalid(field, host, "must be a DNS name, not an IP address")];
  if (host.startsWith("*.")) {
    const rest = validateDNS1123Subdomain(host.slice(2), field);
    return rest.length ? [invalid(field, host, WILDCARD_MSG)] : [];
  }
  return validateDNS1123Subdomain(host, field);
}

/** validateIngressBackend: exactly one of service and resource; a service names its port by name or number. */
function validateBackend(backend: IngressBackend | undefined, field: string): FieldError[] {
  const b = obj(backend);
  const errs: FieldError[] = [];
  const service = b.service === undefined ? undefined : obj(b.service);
  const resource = b.resource === undefined ? undefined : obj(b.resource);
  if (service && resource) return [invalid(field, "", "cannot set both resource and service backends")];
  if (resource) {
    if (!resource.kind) errs.push(required(`${field}.resource.kind`));
    if (!resource.name) errs.push(required(`${field}.resource.name`));
    return errs;
  }
  if (!service) return [invalid(field, "", "resource or service backend is required")];
  errs.push(...validateDNS1123Label(service.name, `${field}.service.name`));
  const port = obj(service.port);
  const hasName = typeof port.name === "string" && port.name !== "";
  const hasNumber = port.number !== undefined && port.number !== 0;
  if (hasName && hasNumber)
    errs.push(invalid(`${field}.service.port`, service.port, "cannot set both port name & port number"));
  else if (hasName) errs.push(...validatePortName(port.name as string, `${field}.service.port.name`));
  else if (hasNumber) {
    const n = port.number;
    if (typeof n !== "number" || !Number.isInteger(n) || n < 1 || n > 65535)
      errs.push(invalid(`${field}.service.port.number`, n, "must be between 1 and 65535, inclusive"));
  } else errs.push(required(`${field}.service.port`, "port name or number is required"));
  return errs;
}

/** One HTTP path: pathType required and known; Exact/Prefix paths absolute and clean. */
function validatePath(path: Record<string, unknown>, field: string): FieldError[] {
  const errs: FieldError[] = [];
  const type = path.pathType;
  const value = typeof path.path === "string" ? path.path : "";
  if (type === undefined || type === null || type === "")
    errs.push(required(`${field}.pathType`, "pathType must be specified"));
  else if (!PATH_TYPES.includes(String(type))) errs.push(notSupported(`${field}.pathType`, type, PATH_TYPES));
  else if (type === "Exact" || type === "Prefix") {
    if (!value.startsWith("/")) errs.push(invalid(`${field}.path`, value, "must be an absolute path"));
    for (const seq of BAD_SEQUENCES)
      if (value.includes(seq)) errs.push(invalid(`${field}.path`, value, `must not contain '${seq}'`));
    for (const suffix of BAD_SUFFIXES)
      if (value.endsWith(suffix)) errs.push(invalid(`${field}.path`, value, `cannot end with '${suffix}'`));
  } else if (value !== "" && !value.startsWith("/"))
    errs.push(invalid(`${field}.path`, value, "must be an absolute path"));
  errs.push(...validateBackend(path.backend as IngressBackend, `${field}.backend`));
  return errs;
}

/** Every field error of an Ingress spec. */
function validateIngress(ingress: Ingress): FieldError[] {
  const spec = obj(ingress.spec);
  const errs: FieldError[] = [];
  const rules = list(spec.rules);
  if (spec.defaultBackend === undefined && rules.length === 0)
    errs.push(invalid("spec", spec.rules ?? null, "either `defaultBackend` or `rules` must be specified"));
  if (spec.defaultBackend !== undefined)
    errs.push(...validateBackend(spec.defaultBackend as IngressBackend, "spec.defaultBackend"));
  if (spec.ingressClassName !== undefined && spec.ingressClassName !== null)
    errs.push(...validateDNS1123Subdomain(spec.ingressClassName, "spec.ingressClassName"));
  rules.forEach((rule, i) => {
    const at = `spec.rules[${i}]`;
    if (typeof rule.host === "string" && rule.host !== "")
      errs.push(...validateHost(rule.host, `${at}.host`));
    if (rule.http === undefined) return;
    const paths = list(obj(rule.http).paths);
    if (paths.length === 0) errs.push(required(`${at}.http.paths`));
    paths.forEach((p, j) => {
      errs.push(...validatePath(p, `${at}.http.paths[${j}]`));
    });
  });
  list(spec.tls).forEach((tls, i) => {
    const at = `spec.tls[${i}]`;
    (Array.isArray(tls.hosts) ? tls.hosts : []).forEach((h: unknown, j: number) => {
      errs.push(...validateHost(String(h), `${at}.hosts[${j}]`));
    });
    if (typeof tls.secretName === "string" && tls.secretName !== "")
      errs.push(...validateDNS1123Subdomain(tls.secretName, `${at}.secretName`));
  });
  return errs;
}

/** kube's formatHosts: the first three rule hosts, "*" when none, "+ N more..." beyond. */
function formatHosts(ingress: Ingress): string {
  const rules = ingress.spec?.rules ?? [];
  const shown = rules.slice(0, 3).flatMap((r) => (r.host ? [r.host] : []));
  if (shown.length === 0) return "*";
  const more = rules.length > 3 ? ` + ${rules.length - 3} more...` : "";
  return shown.join(",") + more;
}

/** kube's loadBalancerStatusStringer: IPs and hostnames, cut at 16 characters. */
function formatAddress(ingress: Ingress): string {
  const all = (ingress.status?.loadBalancer?.ingress ?? []).flatMap((i) =>
    [i.ip, i.hostname].filter((v): v is string => Boolean(v)),
  );
  const s = all.join(",");
  return s.length > 16 ? `${s.slice(0, 13)}...` : s;
}

/** The Ingress strategy. */
export const ingressStrategy: Strategy<Ingress> = {
  ...statusSplit<Ingress>(),
  validate: (ingress) => validateIngress(ingress),
  specChanged: specDiffers,
  columns: [
    col("Class", "The name of the IngressClass resource that should be used for ingress"),
    col("Hosts", "Hosts that incoming requests are matched against before the ingress rule"),
    col("Address", "Address is a list containing ingress points for the load-balancer"),
    col("Ports", "Ports of TLS configurations that open"),
    AGE,
  ],
  row: (ingress, now) => [
    ingress.spec?.ingressClassName ?? "<none>",
    formatHosts(ingress),
    formatAddress(ingress),
    ingress.spec?.tls?.length ? "80, 443" : "80",
    age(ingress, now),
  ],
};

/**
 * kube's DefaultIngressClass admission: an Ingress created with neither
 * spec.ingressClassName nor the legacy kubernetes.io/ingress.class
 * annotation gets the default IngressClass (the newest, when several are
 * marked default, as kube ≥ 1.30 does).
 */
export const defaultIngressClass: AdmissionPlugin = {
  name: "DefaultIngressClass",
  // Every kind's own plugins run for every resource (admission/chain.ts): act on Ingresses only.
  async admit({ info, operation, object, registry }) {
    if (info.group !== "networking.k8s.io" || info.resource !== "ingresses" || operation !== "CREATE") return;
    const ingress = object as KubeObject & Ingress;
    if (ingress.spec?.ingressClassName) return;
    if (ingress.metadata?.annotations?.["kubernetes.io/ingress.class"]) return;
    const classes = registry.lookup("networking.k8s.io", "ingressclasses");
    if (!classes) return;
    const defaults = (await registry.list(classes, undefined)).items
      .filter((c) => c.metadata?.annotations?.[DEFAULT_CLASS_ANNOTATION] === "true")
      .sort((a, b) =>
        (b.metadata?.creationTimestamp ?? "").localeCompare(a.metadata?.creationTimestamp ?? ""),
      );
    const name = defaults[0]?.metadata?.name;
    if (!name) return;
    ingress.spec = { ...(ingress.spec ?? {}), ingressClassName: name };
  },
};
