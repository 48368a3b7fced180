/**
 * The OpenAPI `format`s kube validates in custom resources (kube-openapi's
 * strfmt registry, the subset CRDs use). Unknown formats pass, as in kube.
 */

const INT32 = 2 ** 31;

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const DATE_TIME = /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/;
const DURATION = /^(-?\d+(\.\d+)?(ns|us|µs|ms|s|m|h|d|w))+$/;
const UUID = /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i;
const BYTE = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const HOSTNAME = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/i;
const IPV4 = /^((25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)$/;
const EMAIL = /^[^@\s]+@[^@\s]+$/;
const CIDR = /^([0-9.]+|[0-9a-fA-F:]+)\/\d{1,3}$/;

function isDate(text: string): boolean {
  return !Number.isNaN(Date.parse(text.length === 10 ? `${text}T00:00:00Z` : text));
}

function isIPv6(text: string): boolean {
  if (!/^[0-9a-fA-F:.]+$/.test(text) || !text.includes(":")) return false;
  try {
    return new URL(`http://[${text}]/`).hostname !== "";
  } catch {
    return false;
  }
}

function isUri(text: string): boolean {
  try {
    new URL(text);
    return true;
  } catch {
    return false;
  }
}

/** Whether `value` matches `format` (strings, and the integer ranges int32/int64). */
export function checkFormat(format: string, value: string | number): boolean {
  if (typeof value === "number") {
    if (format === "int32") return Number.isInteger(value) && value >= -INT32 && value < INT32;
    if (format === "int64") return Number.isInteger(value);
    return true;
  }
  switch (format) {
    case "date":
      return DATE.test(value) && isDate(value);
    case "date-time":
    case "datetime":
      return DATE_TIME.test(value) && isDate(value);
    case "duration":
      return DURATION.test(value);
    case "uuid":
      return UUID.test(value);
    case "byte":
      return BYTE.test(value);
    case "hostname":
      return value.length <= 253 && HOSTNAME.test(value);
    case "ipv4":
      return IPV4.test(value);
    case "ipv6":
      return isIPv6(value);
    case "cidr":
      return CIDR.test(value);
    case "email":
      return EMAIL.test(value);
    case "uri":
      return isUri(value);
    default:
      return true;
  }
}
