/**
 * What every verb handler is given (one resolved, authenticated request)
 * and the small helpers they share: responses, query parameters, field
 * manager. An object call always has a name; a collection call never does.
 */
import { ApiError } from "../../client/status.ts";
import type { Authorizer } from "../authorize.ts";
import { type UnknownFieldsChecker, warningHeader } from "../fields.ts";
import type { PlatformServices } from "../platform.ts";
import type { Registry } from "../registry/registry.ts";
import type { ReadRequest, RequestContext, ResourceInfo } from "../registry/types.ts";
import type { Schedule } from "../registry/watch.ts";
import type { WatchLimiter } from "../registry/watch-limits.ts";
import { servedVerbs } from "../request-info.ts";
import type { UserInfo } from "../tokens.ts";

/** What the resource handlers need besides the request. */
export interface HandlerDeps {
  registry: Registry;
  unknownFields?: UnknownFieldsChecker;
  services: PlatformServices;
  /** Watch limits: per-identity cap and the server-side timeout bound (absent: no cap, no bound). */
  watch?: WatchSettings;
  /** The authorizer chain, for kinds that evaluate access (reviews). */
  authorizer?: Authorizer;
}

/** How watches are limited (registry/watch-limits.ts). */
export interface WatchSettings {
  limiter?: WatchLimiter;
  /** kube's --min-request-timeout in seconds; 0 = no server-side bound. */
  minRequestTimeoutSeconds: number;
  random: () => number;
  schedule?: Schedule;
  /** Newline after this many quiet ms, so a vanished client is noticed (registry/watch.ts WatchHooks). */
  keepaliveMs?: number;
}

/** One resource request, resolved and authenticated. */
interface Call {
  info: ResourceInfo;
  namespace?: string;
  subresource?: string;
  request: Request;
  url: URL;
  user: UserInfo;
  ctx: RequestContext;
  deps: HandlerDeps;
  /** Warning headers to send (field validation and admission add to it). */
  warnings: string[];
}

/** A request on one named object (get, update, patch, delete). */
export interface ObjectCall extends Call {
  name: string;
}

/** A request on a collection (list, watch, create, deletecollection). */
export interface CollectionCall extends Call {
  name?: undefined;
}

/** What a kind's own get/list (StorageOverride) is given. */
export function readRequest(call: ObjectCall | CollectionCall): ReadRequest {
  return {
    info: call.info,
    namespace: call.namespace,
    url: call.url,
    registry: call.deps.registry,
    services: call.deps.services,
    now: call.ctx.now,
  };
}

/** A JSON response with each warning once (a write retried after a CAS conflict runs admission again). */
export function json(body: unknown, status: number, warnings: string[] = []): Response {
  const headers = new Headers({ "Content-Type": "application/json" });
  for (const w of new Set(warnings)) headers.append("Warning", warningHeader(w));
  return new Response(JSON.stringify(body), { status, headers });
}

/** 405 unless the resource serves `verb` (a handler that falls back to another verb checks it). */
export function requireVerb(info: ResourceInfo, verb: string): void {
  if (!servedVerbs(info)?.includes(verb))
    throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
}

/** The field manager of a write: fieldManager, else the User-Agent's program name. */
export function fieldManager(call: Call): string {
  const explicit = call.url.searchParams.get("fieldManager");
  if (explicit) {
    if (explicit.length > 128)
      throw new ApiError("BadRequest", "fieldManager: must be at most 128 characters");
    return explicit;
  }
  const agent = call.request.headers.get("User-Agent") ?? "";
  return agent.split("/")[0] || "unknown";
}

/** dryRun=All (the only value kube accepts); 400 for any other. */
export function dryRun(url: URL): boolean {
  const values = url.searchParams.getAll("dryRun");
  for (const v of values)
    if (v !== "All") throw new ApiError("BadRequest", `unsupported dry run option "${v}"`);
  return values.length > 0;
}

/** A non-negative integer query parameter; 400 when malformed. */
export function intParam(url: URL, name: string): number | undefined {
  const v = url.searchParams.get(name);
  if (v === null || v === "") return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new ApiError("BadRequest", `invalid ${name} "${v}"`);
  return n;
}

/** group/version, or the version alone for the core group. */
export function apiVersionOf(info: ResourceInfo): string {
  return info.group ? `${info.group}/${info.version}` : info.version;
}
