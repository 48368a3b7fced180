/** metav1.DeleteOptions from the query string and the (optional) body of a DELETE. */
import { parseBody, readBody } from "../decode.ts";
import type { DeleteRequest } from "../registry/deletion.ts";
import { type CollectionCall, dryRun, intParam, type ObjectCall } from "./call.ts";

/** The delete options of a DELETE of one object or of a collection; the query wins over the body. */
export async function deleteOptions(
  call: ObjectCall | CollectionCall,
): Promise<DeleteRequest & { dryRun: boolean }> {
  const text = call.request.body ? await readBody(call.request) : "";
  let body: Record<string, unknown> = {};
  if (text.trim()) {
    const parsed = parseBody(text, false).value;
    if (parsed && typeof parsed === "object") body = parsed as Record<string, unknown>;
  }
  const grace =
    intParam(call.url, "gracePeriodSeconds") ??
    (typeof body.gracePeriodSeconds === "number" ? body.gracePeriodSeconds : undefined);
  const bodyDry = Array.isArray(body.dryRun) && body.dryRun.includes("All");
  return {
    gracePeriodSeconds: grace,
    preconditions: body.preconditions as DeleteRequest["preconditions"],
    dryRun: dryRun(call.url) || bodyDry,
    propagationPolicy: (call.url.searchParams.get("propagationPolicy") ?? body.propagationPolicy) as
      | string
      | undefined,
  };
}
