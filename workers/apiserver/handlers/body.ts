/**
 * Decoding a write's body: the content types a verb accepts, JSON/YAML or
 * protobuf into an object, and the checks kube makes before the registry
 * sees it (kind, apiVersion, namespace and name match the URL).
 */
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { type BodyType, bodyType, checkObjectMeta, parseBody, readBody, readBodyBytes } from "../decode.ts";
import { decodeProtobuf } from "../protobuf.ts";
import { apiVersionOf, type CollectionCall, type ObjectCall } from "./call.ts";

/** The body as an object (or a JSON patch's operation list), with its type and duplicate fields. */
export async function decodeObject(
  call: ObjectCall | CollectionCall,
  allowed: BodyType[],
): Promise<{ object: KubeObject; type: BodyType; duplicates: string[] }> {
  const type = bodyType(call.request, allowed);
  if (type === "protobuf") {
    const bytes = await readBodyBytes(call.request);
    const object = decodeProtobuf(
      bytes,
      call.info.protobuf,
      apiVersionOf(call.info),
      call.info.kind,
    ) as KubeObject;
    return { object, type, duplicates: [] };
  }
  const text = await readBody(call.request);
  const { value, duplicates } = parseBody(text, type === "yaml" || type === "apply-patch");
  if (type === "json-patch") {
    // A JSON patch is a list of operation objects; anything else would reach the patcher as a TypeError.
    if (
      !Array.isArray(value) ||
      value.some((op) => op === null || typeof op !== "object" || Array.isArray(op))
    )
      throw new ApiError("BadRequest", "the body must be a JSON patch: a list of operation objects");
  } else if (value === null || typeof value !== "object" || Array.isArray(value))
    throw new ApiError("BadRequest", "the body must be a JSON object");
  else checkObjectMeta(value as Record<string, unknown>);
  return { object: value as KubeObject, type, duplicates };
}

/** 400 unless the body's kind, apiVersion and namespace (when set) match the request. */
export function checkKind(
  call: ObjectCall | CollectionCall,
  object: KubeObject,
  expectKind: string,
  expectApiVersion: string,
): void {
  if (object.kind && object.kind !== expectKind)
    throw new ApiError(
      "BadRequest",
      `the kind of the object (${object.kind}) does not match the resource (${expectKind})`,
    );
  if (object.apiVersion && object.apiVersion !== expectApiVersion)
    throw new ApiError(
      "BadRequest",
      `the API version in the data (${object.apiVersion}) does not match the expected API version (${expectApiVersion})`,
    );
  const ns = object.metadata?.namespace;
  if (call.info.namespaced && ns && call.namespace && ns !== call.namespace)
    throw new ApiError(
      "BadRequest",
      "the namespace of the provided object does not match the namespace sent on the request",
    );
}

/** 400 when the body names another object than the URL. */
export function checkName(call: ObjectCall, object: KubeObject): void {
  if (object.metadata?.name && object.metadata.name !== call.name)
    throw new ApiError(
      "BadRequest",
      `the name of the object (${object.metadata.name}) does not match the name on the URL (${call.name})`,
    );
}
