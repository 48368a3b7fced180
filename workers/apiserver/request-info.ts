/**
 * Resolve a resource URL into group/version/resource/namespace/name/subresource
 * and the request's verb (kube's RequestInfoFactory), generically against the
 * resource table. The verb, never the raw HTTP method, is what the handlers
 * and the authorizer act on.
 */
import { ApiError } from "../client/status.ts";
import { tryDecodeURIComponent } from "../client/uri.ts";
import { queryBool } from "./query.ts";
import { DEFAULT_VERBS, type ResourceInfo } from "./registry/types.ts";

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
function resolveResource(path: string, resources: ResourceInfo[]): ResourceTarget | undefined {
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

/** A resource request as the authorizer and the handlers see it (authorizer.Attributes). */
export interface RequestAttributes {
  /** get, list, watch, create, update, patch, delete or deletecollection. */
  verb: string;
  path: string;
  /** Undefined for non-resource paths (discovery, OpenAPI, health). */
  target?: ResourceTarget;
}

/** The verbs kube-apiserver's status and scale subresources serve. */
const STATUS_VERBS = ["get", "patch", "update"];

/** The verbs a resource (no subresource) or one of its subresources declares; undefined when it has no such subresource. */
export function servedVerbs(info: ResourceInfo, subresource?: string): string[] | undefined {
  if (!subresource) return info.verbs ?? DEFAULT_VERBS;
  const custom = info.subresources?.custom?.[subresource];
  if (custom) return custom.verbs;
  if (subresource === "status" && info.subresources?.status) return STATUS_VERBS;
  if (subresource === "scale" && info.subresources?.scale) return STATUS_VERBS;
  return undefined;
}

/** ?watch= as kube decodes it (query.ts). */
function isWatch(url: URL): boolean {
  return queryBool(url.searchParams, "watch");
}

/** The kube verb for an HTTP method on a resource path (RequestInfoFactory); undefined for any other method. */
function verbFor(method: string, url: URL, target: ResourceTarget): string | undefined {
  const collection = target.name === undefined;
  switch (method.toUpperCase()) {
    case "GET":
    case "HEAD": {
      if (!collection) return "get";
      return isWatch(url) ? "watch" : "list";
    }
    case "POST":
      return "create";
    case "PUT":
      return "update";
    case "PATCH":
      return "patch";
    case "DELETE":
      return collection ? "deletecollection" : "delete";
    default:
      return undefined;
  }
}

function methodNotAllowed(method: string): ApiError {
  return new ApiError(
    "MethodNotAllowed",
    `the server does not allow this method on the requested resource (${method.toUpperCase().slice(0, 16)})`,
  );
}

/**
 * Resolve a request into its attributes. On a resource path a method that
 * maps to no verb, or a verb the resource or subresource does not declare,
 * is 405 MethodNotAllowed, before authorization and before any handler runs.
 */
export function requestAttributes(request: Request, resources: ResourceInfo[]): RequestAttributes {
  const url = new URL(request.url);
  const path = url.pathname;
  const target = resolveResource(path, resources);
  if (!target) return { verb: request.method.toLowerCase(), path };
  const verbs = servedVerbs(target.info, target.subresource);
  if (!verbs) throw new ApiError("NotFound", "the server could not find the requested resource");
  const verb = verbFor(request.method, url, target);
  if (!verb || !verbs.includes(verb) || !routed(verb, target)) throw methodNotAllowed(request.method);
  return { verb, path, target };
}

/**
 * Whether a verb has a route at this URL: an object takes no create, a collection no get/update/patch/delete,
 * and a namespaced resource across all namespaces (/api/v1/pods) only list and watch, as kube's installer
 * registers it (a create or delete-collection there would have no namespace to act in).
 */
function routed(verb: string, target: ResourceTarget): boolean {
  if (target.subresource) return true;
  if (target.info.namespaced && target.namespace === undefined) return verb === "list" || verb === "watch";
  const collectionVerbs = ["list", "watch", "create", "deletecollection"];
  return collectionVerbs.includes(verb) === (target.name === undefined);
}
