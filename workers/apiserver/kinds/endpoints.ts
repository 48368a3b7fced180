/** core/v1 Endpoints: addresses and ports per subset; ENDPOINTS shows up to three. */

import type { Endpoints } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { list } from "./util.ts";
import { invalid, required } from "./validation/errors.ts";
import { validateDNS1123Label } from "./validation/names.ts";
import { oneOf, validPort } from "./validation/numbers.ts";

const IP = /^(\d{1,3}\.){3}\d{1,3}$|^[0-9a-fA-F:]+:[0-9a-fA-F:.]*$/;

function validateEndpoints(ep: Endpoints): FieldError[] {
  const errs: FieldError[] = [];
  list(ep.subsets).forEach((ss, i) => {
    const p = `subsets[${i}]`;
    for (const key of ["addresses", "notReadyAddresses"]) {
      list(ss[key]).forEach((a, j) => {
        if (!a.ip) errs.push(required(`${p}.${key}[${j}].ip`));
        else if (!IP.test(String(a.ip)))
          errs.push(invalid(`${p}.${key}[${j}].ip`, a.ip, "must be a valid IP address"));
      });
    }
    const ports = list(ss.ports);
    ports.forEach((port, j) => {
      if (ports.length > 1 || port.name)
        errs.push(...validateDNS1123Label(port.name, `${p}.ports[${j}].name`));
      errs.push(...validPort(port.port, `${p}.ports[${j}].port`));
      errs.push(...oneOf(port.protocol, ["SCTP", "TCP", "UDP"], `${p}.ports[${j}].protocol`));
    });
  });
  return errs;
}

/** formatEndpoints: "ip:port,..." with at most three shown and "+ N more...". */
export function formatEndpoints(ep: { metadata?: unknown; subsets?: unknown }): string {
  const shown: string[] = [];
  let total = 0;
  for (const ss of list(ep.subsets)) {
    const addresses = list(ss.addresses).map((a) => String(a.ip));
    const ports = list(ss.ports);
    const targets =
      ports.length === 0 ? addresses : ports.flatMap((p) => addresses.map((ip) => hostPort(ip, p.port)));
    total += targets.length;
    for (const t of targets) if (shown.length < 3) shown.push(t);
  }
  if (total > shown.length) return `${shown.join(",")} + ${total - shown.length} more...`;
  return shown.length ? shown.join(",") : "<none>";
}

function hostPort(ip: string, port: unknown): string {
  return ip.includes(":") ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The Endpoints strategy. */
export const endpointsStrategy: Strategy<Endpoints> = {
  defaults(ep) {
    for (const ss of list(ep.subsets)) for (const p of list(ss.ports)) p.protocol ??= "TCP";
  },
  validate: validateEndpoints,
  specChanged: () => false,
  columns: [col("Endpoints", "Endpoints is the list of endpoints in the service.")],
  row: (ep) => [formatEndpoints(ep)],
};
