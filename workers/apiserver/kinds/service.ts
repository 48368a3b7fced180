/**
 * core/v1 Service: defaults, ClusterIP/NodePort allocation (through the
 * request's allocator), validation and the `kubectl get svc` columns.
 */

import type { Service } from "../../client/types.ts";
import type { FieldError, RequestContext, Strategy } from "../registry/types.ts";
import { AGE, age, col, formatLabels } from "./print.ts";
import { deterministicClusterIP, deterministicNodePort } from "./service-alloc.ts";
import { specDiffers, statusSplit } from "./status.ts";
import { list, obj, setDefault, specOf } from "./util.ts";
import { duplicate, forbidden, immutable, invalid, required } from "./validation/errors.ts";
import {
  validateDNS1123Label,
  validateDNS1123Subdomain,
  validateLabels,
  validatePortName,
} from "./validation/names.ts";
import { oneOf, validPort } from "./validation/numbers.ts";

const TYPES = ["ClusterIP", "ExternalName", "LoadBalancer", "NodePort"];
const PROTOCOLS = ["SCTP", "TCP", "UDP"];
const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

const split = statusSplit(() => ({ loadBalancer: {} }));
const usesNodePorts = (type: unknown) => type === "NodePort" || type === "LoadBalancer";

function validatePorts(spec: Record<string, unknown>): FieldError[] {
  const errs: FieldError[] = [];
  const ports = list(spec.ports);
  const names = new Set<string>();
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const path = `spec.ports[${i}]`;
    if (ports.length > 1 && !p.name) errs.push(required(`${path}.name`));
    if (p.name) {
      errs.push(...validateDNS1123Label(p.name, `${path}.name`));
      if (names.has(p.name as string)) errs.push(duplicate(`${path}.name`, p.name));
      names.add(p.name as string);
    }
    errs.push(...validPort(p.port, `${path}.port`));
    errs.push(...oneOf(p.protocol, PROTOCOLS, `${path}.protocol`));
    const key = `${p.port}/${p.protocol}`;
    if (seen.has(key)) errs.push(duplicate(path, { port: p.port, protocol: p.protocol }));
    seen.add(key);
    if (typeof p.targetPort === "string") errs.push(...validatePortName(p.targetPort, `${path}.targetPort`));
    else if (p.targetPort !== undefined) errs.push(...validPort(p.targetPort, `${path}.targetPort`));
    if (p.nodePort !== undefined && p.nodePort !== 0) {
      if (!usesNodePorts(spec.type))
        errs.push(forbidden(`${path}.nodePort`, `may not be used when \`type\` is '${spec.type}'`));
      else errs.push(...validPort(p.nodePort, `${path}.nodePort`));
    }
  });
  return errs;
}

function validateService(svc: Service): FieldError[] {
  const spec = obj(svc.spec);
  const errs = oneOf(spec.type, TYPES, "spec.type");
  // Service names become DNS names and environment variable prefixes: DNS-1035 (must start with a letter).
  const name = svc.metadata?.name;
  if (name && /^[0-9]/.test(name) && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name))
    errs.push(
      invalid(
        "metadata.name",
        name,
        "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')",
      ),
    );
  const headless = spec.clusterIP === "None";
  if (list(spec.ports).length === 0 && !headless && spec.type !== "ExternalName")
    errs.push(required("spec.ports"));
  errs.push(...validatePorts(spec));
  errs.push(...oneOf(spec.sessionAffinity, ["ClientIP", "None"], "spec.sessionAffinity"));
  errs.push(...validateLabels(spec.selector, "spec.selector"));
  if (spec.type === "ExternalName") {
    if (!spec.externalName) errs.push(required("spec.externalName"));
    else errs.push(...validateDNS1123Subdomain(spec.externalName, "spec.externalName"));
  } else if (spec.clusterIP && !headless && !IPV4.test(String(spec.clusterIP))) {
    errs.push(
      invalid(
        "spec.clusterIPs[0]",
        spec.clusterIP,
        "must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
      ),
    );
  }
  if (headless && usesNodePorts(spec.type))
    errs.push(invalid("spec.clusterIPs[0]", "None", `may not be set to 'None' for ${spec.type} services`));
  return errs;
}

/** Which values prepareFor* picked itself (so allocate() may re-pick them), per request object. */
const autoPicked = new WeakMap<object, { ip: boolean; ports: Set<number> }>();

function keyOf(svc: Service): string {
  return `${svc.metadata?.namespace ?? ""}/${svc.metadata?.name ?? ""}`;
}

/**
 * Carry over what the old object had, and fill what is still missing with a
 * deterministic pick, so a service always has its ClusterIP/NodePorts even
 * when the API server wires no allocator; allocate() then checks uniqueness.
 */
function fillAddresses(svc: Service, old: Service | undefined): void {
  const spec = specOf(svc);
  const before = obj(old?.spec);
  const picked = { ip: false, ports: new Set<number>() };
  autoPicked.set(svc, picked);
  if (spec.type === "ExternalName") return;
  if (!spec.clusterIP && before.clusterIP) spec.clusterIP = before.clusterIP;
  if (!spec.clusterIP) {
    spec.clusterIP = deterministicClusterIP(keyOf(svc));
    picked.ip = true;
  }
  spec.clusterIPs = [spec.clusterIP];
  if (!usesNodePorts(spec.type)) return;
  const oldPorts = list(before.ports);
  list(spec.ports).forEach((port, i) => {
    const previous = oldPorts.find((p) => p.port === port.port && p.protocol === port.protocol)?.nodePort;
    if (!port.nodePort && previous) port.nodePort = previous;
    if (!port.nodePort) {
      port.nodePort = deterministicNodePort(`${keyOf(svc)}/${i}`);
      picked.ports.add(i);
    }
  });
}

/** Reserve new ClusterIPs/NodePorts through the request's allocator (re-picking the deterministic ones). */
async function allocate(svc: Service, old: Service | undefined, ctx: RequestContext): Promise<void> {
  const allocator = ctx.allocator;
  const spec = specOf(svc);
  if (!allocator || spec.type === "ExternalName") return;
  const before = obj(old?.spec);
  const picked = autoPicked.get(svc) ?? { ip: false, ports: new Set<number>() };
  const key = keyOf(svc);
  if (
    spec.clusterIP &&
    spec.clusterIP !== "None" &&
    spec.clusterIP !== before.clusterIP &&
    IPV4.test(String(spec.clusterIP))
  ) {
    spec.clusterIP = await allocator.allocateClusterIP(
      key,
      picked.ip ? undefined : (spec.clusterIP as string),
    );
    spec.clusterIPs = [spec.clusterIP];
  }
  if (!usesNodePorts(spec.type)) return;
  const oldPorts = list(before.ports);
  const ports = list(spec.ports);
  for (let i = 0; i < ports.length; i++) {
    const port = ports[i];
    const previous = oldPorts.find((p) => p.port === port.port && p.protocol === port.protocol)?.nodePort;
    if (!port.nodePort || port.nodePort === previous) continue;
    port.nodePort = await allocator.allocateNodePort(
      key,
      picked.ports.has(i) ? undefined : (port.nodePort as number),
    );
  }
}

function externalIP(svc: Service): string {
  const spec = obj(svc.spec);
  const external = (spec.externalIPs as string[] | undefined) ?? [];
  switch (spec.type ?? "ClusterIP") {
    case "ClusterIP":
    case "NodePort":
      return external.length ? external.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = list(obj(obj(svc.status).loadBalancer).ingress).map(
        (i) => (i.ip ?? i.hostname) as string,
      );
      const all = [...ingress.filter(Boolean), ...external];
      return all.length ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return (spec.externalName as string) ?? "";
  }
  return "<unknown>";
}

function portsText(svc: Service): string {
  const ports = list(obj(svc.spec).ports).map((p) =>
    p.nodePort ? `${p.port}:${p.nodePort}/${p.protocol ?? "TCP"}` : `${p.port}/${p.protocol ?? "TCP"}`,
  );
  return ports.length ? ports.join(",") : "<none>";
}

/** The Service strategy. */
export const serviceStrategy: Strategy<Service> = {
  defaults(svc) {
    const spec = specOf(svc);
    setDefault(spec, "type", "ClusterIP");
    setDefault(spec, "sessionAffinity", "None");
    for (const p of list(spec.ports)) {
      setDefault(p, "protocol", "TCP");
      setDefault(p, "targetPort", p.port);
    }
    if (spec.type !== "ExternalName") {
      setDefault(spec, "internalTrafficPolicy", "Cluster");
      setDefault(spec, "ipFamilyPolicy", "SingleStack");
      setDefault(spec, "ipFamilies", ["IPv4"]);
    }
    if (usesNodePorts(spec.type)) setDefault(spec, "externalTrafficPolicy", "Cluster");
  },
  prepareForCreate(svc, ctx) {
    split.prepareForCreate?.(svc, ctx);
    fillAddresses(svc, undefined);
  },
  prepareForUpdate(svc, old, ctx) {
    split.prepareForUpdate?.(svc, old, ctx);
    fillAddresses(svc, old);
  },
  prepareForStatusUpdate: split.prepareForStatusUpdate,
  allocate,
  validate: validateService,
  validateUpdate(svc, old) {
    const now = obj(svc.spec);
    const before = obj(old.spec);
    if (now.type === "ExternalName" || before.type === "ExternalName" || !before.clusterIP) return [];
    return now.clusterIP === before.clusterIP ? [] : [immutable("spec.clusterIPs[0]", now.clusterIP ?? "")];
  },
  specChanged: specDiffers,
  columns: [
    col(
      "Type",
      "type determines how the Service is exposed. Defaults to ClusterIP. Valid options are ExternalName, ClusterIP, NodePort, and LoadBalancer.",
    ),
    col("Cluster-IP", "clusterIP is the IP address of the service and is usually assigned randomly."),
    col(
      "External-IP",
      "externalIPs is a list of IP addresses for which nodes in the cluster will also accept traffic for this service.",
    ),
    col("Port(s)", "The ports that are exposed by this service."),
    AGE,
    col("Selector", "Route service traffic to pods with label keys and values matching this selector.", {
      wide: true,
    }),
  ],
  row(svc, now) {
    const spec = obj(svc.spec);
    const clusterIP = (spec.clusterIP as string) || "<none>";
    return [
      spec.type ?? "ClusterIP",
      clusterIP,
      externalIP(svc),
      portsText(svc),
      age(svc, now),
      formatLabels(spec.selector as Record<string, string>),
    ];
  },
};
