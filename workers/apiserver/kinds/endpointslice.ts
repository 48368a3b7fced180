/** discovery.k8s.io/v1 EndpointSlice: ADDRESSTYPE, PORTS, ENDPOINTS (three at most). */

import type { EndpointSlice } from "../../client/types.ts";
import type { FieldError, Strategy } from "../registry/types.ts";
import { col } from "./print.ts";
import { list } from "./util.ts";
import { invalid, notSupported, required } from "./validation/errors.ts";
import { validateDNS1123Label } from "./validation/names.ts";
import { oneOf } from "./validation/numbers.ts";

const ADDRESS_TYPES = ["FQDN", "IPv4", "IPv6"];
const IPV4 = /^(\d{1,3}\.){3}\d{1,3}$/;

function validateSlice(slice: EndpointSlice): FieldError[] {
  const errs: FieldError[] = [];
  const type = slice.addressType;
  if (!type) errs.push(required("addressType"));
  else if (!ADDRESS_TYPES.includes(type as string))
    errs.push(notSupported("addressType", type, ADDRESS_TYPES));
  list(slice.endpoints).forEach((ep, i) => {
    const addrs = Array.isArray(ep.addresses) ? (ep.addresses as unknown[]) : [];
    if (addrs.length === 0)
      errs.push(required(`endpoints[${i}].addresses`, "must contain at least 1 address"));
    else if (addrs.length > 100)
      errs.push(invalid(`endpoints[${i}].addresses`, addrs.length, "must contain at most 100 addresses"));
    addrs.forEach((a, j) => {
      if (type === "IPv4" && !IPV4.test(String(a)))
        errs.push(invalid(`endpoints[${i}].addresses[${j}]`, a, "must be a valid IPv4 address"));
    });
  });
  list(slice.ports).forEach((p, i) => {
    if (p.name) errs.push(...validateDNS1123Label(p.name, `ports[${i}].name`));
    errs.push(...oneOf(p.protocol, ["SCTP", "TCP", "UDP"], `ports[${i}].protocol`));
    if (p.port !== undefined && (typeof p.port !== "number" || p.port < 0 || p.port > 65535))
      errs.push(invalid(`ports[${i}].port`, p.port, "must be between 0 and 65535, inclusive"));
  });
  return errs;
}

function upToThree(values: string[]): string {
  if (values.length === 0) return "<unset>";
  const shown = values.slice(0, 3).join(",");
  return values.length > 3 ? `${shown} + ${values.length - 3} more...` : shown;
}

/** The EndpointSlice strategy. */
export const endpointSliceStrategy: Strategy<EndpointSlice> = {
  defaults(slice) {
    for (const p of list(slice.ports)) p.protocol ??= "TCP";
  },
  validate: validateSlice,
  validateUpdate: (slice, old) =>
    slice.addressType === old.addressType
      ? []
      : [invalid("addressType", slice.addressType, "field is immutable")],
  specChanged: () => false,
  columns: [
    col("AddressType", "The IP protocol for this slice"),
    col("Ports", "The ports for this slice"),
    col("Endpoints", "The endpoints for this slice"),
  ],
  row: (slice) => [
    slice.addressType ?? "",
    upToThree(list(slice.ports).map((p) => (p.port === undefined ? "<unset>" : String(p.port)))),
    upToThree(list(slice.endpoints).flatMap((e) => (e.addresses as string[]) ?? [])),
  ],
};
