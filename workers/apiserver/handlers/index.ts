/**
 * The generic resource handlers, one file per verb (kine's server/<verb>
 * shape), driven only by the ResourceInfo the URL resolved to: this file
 * builds the call and dispatches on the verb. No kind is named here.
 */
import { ApiError } from "../../client/status.ts";
import type { RequestContext } from "../registry/types.ts";
import type { ResourceTarget } from "../request-info.ts";
import type { UserInfo } from "../tokens.ts";
import type { CollectionCall, HandlerDeps, ObjectCall } from "./call.ts";
import { create } from "./create.ts";
import { remove } from "./delete.ts";
import { deleteCollection } from "./deletecollection.ts";
import { get, getScaleOf } from "./get.ts";
import { list } from "./list.ts";
import { patch } from "./patch.ts";
import { update } from "./update.ts";
import { watch } from "./watch.ts";

export type { WatchSettings } from "./call.ts";

const notFound = () => new ApiError("NotFound", "the server could not find the requested resource");

/**
 * Serve one resource request by its verb, which requestAttributes resolved and
 * checked against what the resource or subresource declares (405 otherwise).
 */
export async function handleResource(
  target: ResourceTarget,
  verb: string,
  request: Request,
  user: UserInfo,
  ctx: RequestContext,
  deps: HandlerDeps,
): Promise<Response> {
  // Admission adds its warnings to the same list the field checks use.
  const warnings: string[] = [];
  const { info, namespace, name, subresource } = target;
  const base = { info, namespace, subresource, request, url: new URL(request.url), user, deps, warnings };
  const call = { ...base, ctx: { ...ctx, warnings } };
  if (name === undefined) {
    const collection: CollectionCall = { ...call, name: undefined };
    switch (verb) {
      case "list":
        return list(collection);
      case "watch":
        return watch(collection);
      case "create":
        return create(collection);
      case "deletecollection":
        return deleteCollection(collection);
    }
    throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
  }
  if (subresource) {
    const custom = info.subresources?.custom?.[subresource];
    if (custom)
      return custom.handle({
        request,
        namespace,
        name,
        ctx,
        registry: deps.registry,
        services: deps.services,
      });
    const known =
      (subresource === "status" && info.subresources?.status) ||
      (subresource === "scale" && info.subresources?.scale);
    if (!known) throw notFound();
  }
  const object: ObjectCall = { ...call, name };
  switch (verb) {
    case "get":
      return subresource === "scale" ? getScaleOf(object) : get(object);
    case "update":
      return update(object);
    case "patch":
      return patch(object);
    case "delete":
      return remove(object);
  }
  throw new ApiError("MethodNotAllowed", `the server does not allow this method on the requested resource`);
}
