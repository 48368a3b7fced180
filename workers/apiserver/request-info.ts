/**
 * Resolve a resource URL into group/version/resource/namespace/name/subresource
 * (kube's RequestInfoResolver), generically against the resource table.
 */
import { ApiError } from "../client/status.ts";
import { tryDecodeURIComponent } from "../client/uri.ts";
import type { ResourceInfo } from "./registry/types.ts";

/** What a resource URL addresses. */
export interface ResourceTarget {
  info: ResourceInfo;
  namespace?: string;
  name?: string;
  subresource?: string;
}

const NAMESPACE_SUBRESOURCES = new Set(["status", "finalize"]);

function badEscape(segment: string): never {
  throw new ApiError("BadRequest", `malformed %-escape in path segment ${JSON.stringify(segment)}`);
}

/** Parse /api/v1/... or /apis/<g>/<v>/...; undefined when the path is not a resource path. */
export function resolveResource(path: string, resources: ResourceInfo[]): ResourceTarget | undefined {
  const parts = path
    .split("/")
    .filter((p) => p !== "")
    .map((p) => tryDecodeURIComponent(p) ?? badEscape(p));
  let group: string;
  let version: string;
  let rest: string[];
  if (parts[0] === "api" && parts.length >= 3) {
    group = "";
    version = parts[1];
    rest = parts.slice(2);
  } else if (parts[0] === "apis" && parts.length >= 4) {
    group = parts[1];
    version = parts[2];
    rest = parts.slice(3);
  } else return undefined;
  let namespace: string | undefined;
  let scoped = false;
  if (rest[0] === "namespaces" && rest.length > 1) {
    namespace = rest[1];
    if (rest.length > 2 && !NAMESPACE_SUBRESOURCES.has(rest[2])) {
      rest = rest.slice(2);
      scoped = true;
    }
  }
  const [resource, name, subresource, ...extra] = rest;
  const info = resources.find((r) => r.group === group && r.version === version && r.resource === resource);
  const notFound = () => new ApiError("NotFound", "the server could not find the requested resource");
  if (!info || extra.length) throw notFound();
  if (info.namespaced) {
    // /api/v1/namespaces/<ns>/<resource> addresses a namespace; /api/v1/<resource> lists across all.
    if (name !== undefined && !namespace) throw notFound();
    return { info, namespace, name, subresource };
  }
  // /api/v1/namespaces/<name>[/status|/finalize] addresses the Namespace itself.
  const isSelf = !scoped && resource === "namespaces";
  if (namespace !== undefined && !isSelf) throw notFound();
  return { info, name, subresource };
}
