/**
 * PATCH bodies: JSON patch (RFC 6902, fast-json-patch), JSON merge patch
 * (RFC 7386) and strategic merge patch, each applied to a copy of the live
 * object. Server-side apply is separate (apply.ts): it is not a patch of the
 * object but a merge of intents.
 */
import jsonpatch, { type Operation } from "fast-json-patch";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { strategicMergePatch } from "./strategicpatch.ts";

/** RFC 7386 JSON merge patch. */
export function mergePatch(target: unknown, patch: unknown): unknown {
  if (patch === null || typeof patch !== "object" || Array.isArray(patch)) return patch;
  const base =
    target !== null && typeof target === "object" && !Array.isArray(target)
      ? { ...(target as Record<string, unknown>) }
      : {};
  for (const [key, value] of Object.entries(patch as Record<string, unknown>)) {
    if (value === null) delete base[key];
    else base[key] = mergePatch(base[key], value);
  }
  return base;
}

/** Apply a patch of the given type to `current` (not mutated). Bad patches are 400/422 as in Kubernetes. */
export function applyPatch(
  current: KubeObject,
  type: "json-patch" | "merge-patch" | "strategic-merge-patch",
  patch: unknown,
): KubeObject {
  if (type === "json-patch") {
    if (!Array.isArray(patch)) throw new ApiError("BadRequest", "json patch must be an array of operations");
    const error = jsonpatch.validate(patch as Operation[], current);
    if (error) {
      const message = `the server rejected our request due to an error in our request: ${error.message.split("\n")[0]}`;
      // A failed "test" operation means the object is not as the client expected: Invalid, not a malformed request.
      throw new ApiError(error.name === "TEST_OPERATION_FAILED" ? "Invalid" : "BadRequest", message);
    }
    try {
      return jsonpatch.applyPatch(structuredClone(current), patch as Operation[], true, true).newDocument;
    } catch (err) {
      const message = (err as Error).message.split("\n")[0];
      // A failed "test" operation is a conflict in Kubernetes' terms; other failures are bad requests.
      if ((err as { name?: string }).name === "TEST_OPERATION_FAILED")
        throw new ApiError(
          "Invalid",
          `the server rejected our request due to an error in our request: ${message}`,
        );
      throw new ApiError(
        "BadRequest",
        `the server rejected our request due to an error in our request: ${message}`,
      );
    }
  }
  if (patch === null || typeof patch !== "object" || Array.isArray(patch))
    throw new ApiError("BadRequest", "the patch must be a JSON object");
  if (type === "merge-patch") return mergePatch(current, patch) as KubeObject;
  try {
    return strategicMergePatch(current, patch);
  } catch (err) {
    throw new ApiError("BadRequest", (err as Error).message);
  }
}
