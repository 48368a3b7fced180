/** Store failures as Kubernetes Status errors, for every registry module that calls the store. */
import { StoreError } from "../../../durable-objects/store/types.ts";
import { ApiError } from "../../client/status.ts";

/** Turn store failures into Status errors (Compacted → 410 Expired); anything else is rethrown. */
export function storeErrorToApi(error: unknown): never {
  if (error instanceof StoreError) {
    if (error.code === "Compacted")
      throw new ApiError("Expired", `The resourceVersion for the provided list is too old.`);
    if (error.code === "FutureRevision")
      throw new ApiError("Timeout", `Too large resource version`, { retryAfterSeconds: 1 }, 504);
    if (error.code === "Unavailable") throw new ApiError("ServiceUnavailable", error.message);
    throw new ApiError("InternalError", error.message);
  }
  throw error;
}
