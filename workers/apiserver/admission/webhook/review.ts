/**
 * One webhook call: the AdmissionReview v1 request body, the POST with the
 * webhook's timeout, and the checks kube makes on the response
 * (webhook/request/admissionreview.go VerifyAdmissionResponse). A failure to
 * get a usable answer is a CallError, to which the failurePolicy applies; a
 * denial is the webhook's own Status (webhook/errors ToStatusErr).
 */
import type { KubeObject } from "../../../client/kube.ts";
import { ApiError, type Status } from "../../../client/status.ts";
import type { Operation } from "./match.ts";
import type { WebhookSpec } from "./validation.ts";

/** The fetch the dispatcher calls webhooks with (the Worker's global fetch; a fake in tests). */
export type WebhookFetch = (url: string, init: RequestInit) => Promise<Response>;

/** The admission request a webhook is shown (AdmissionRequest, admission.k8s.io/v1). */
export interface ReviewRequest {
  uid: string;
  kind: { group: string; version: string; kind: string };
  resource: { group: string; version: string; resource: string };
  subResource?: string;
  requestKind: { group: string; version: string; kind: string };
  requestResource: { group: string; version: string; resource: string };
  requestSubResource?: string;
  name?: string;
  namespace?: string;
  operation: Operation;
  userInfo: { username: string; groups: string[] };
  /** null for a delete, as kube sends it. */
  object?: KubeObject | null;
  oldObject?: KubeObject;
  dryRun: boolean;
  options?: Record<string, unknown>;
}

/** What a webhook answered: allowed, and for a mutating webhook the patched object (undefined: unchanged). */
export interface ReviewResult {
  allowed: boolean;
  status?: Partial<Status>;
  patch?: unknown[];
  warnings: string[];
}

/** A webhook that could not be called or gave no usable answer: failurePolicy decides. */
export class CallError extends Error {
  constructor(
    readonly webhook: string,
    reason: string,
  ) {
    super(`failed calling webhook "${webhook}": ${reason}`);
    this.name = "CallError";
  }
}

/** The refusal kube returns for a denial: the webhook's code (400 when below 400) and its message. */
export function denial(webhook: string, status: Partial<Status> | undefined): ApiError {
  const deniedBy = `admission webhook "${webhook}" denied the request`;
  const message = status?.message
    ? `${deniedBy}: ${status.message}`
    : status?.reason
      ? `${deniedBy}: ${status.reason}`
      : `${deniedBy} without explanation`;
  const code = typeof status?.code === "number" && status.code >= 400 ? status.code : 400;
  return new ApiError(status?.reason ?? "", message, status?.details, code);
}

/** The URL kube posts to: clientConfig.url with ?timeout=Ns (its REST client adds it). */
function target(hook: WebhookSpec): string {
  const cc = hook.clientConfig ?? {};
  if (!cc.url)
    throw new CallError(
      hook.name,
      "clientConfig.service is not supported by this server: the webhook must be reachable at clientConfig.url",
    );
  const u = new URL(cc.url);
  u.searchParams.set("timeout", `${hook.timeoutSeconds ?? 10}s`);
  return u.toString();
}

/** POST the review to the webhook and check its answer; throws CallError when there is no usable one. */
export async function callWebhook(
  fetch: WebhookFetch,
  hook: WebhookSpec,
  request: ReviewRequest,
  mutating: boolean,
): Promise<ReviewResult> {
  const url = target(hook);
  const seconds = hook.timeoutSeconds ?? 10;
  let response: Response;
  let body: unknown;
  try {
    response = await fetch(url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: "application/json" },
      body: JSON.stringify({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", request }),
      signal: AbortSignal.timeout(seconds * 1000),
    });
    if (!response.ok) {
      await response.body?.cancel();
      throw new CallError(
        hook.name,
        `failed to call webhook: the server responded with HTTP ${response.status}`,
      );
    }
    body = await response.json();
  } catch (error) {
    if (error instanceof CallError) throw error;
    const timedOut = (error as Error)?.name === "TimeoutError" || (error as Error)?.name === "AbortError";
    const why = timedOut ? `context deadline exceeded (timeout ${seconds}s)` : (error as Error).message;
    throw new CallError(hook.name, `failed to call webhook: Post "${url}": ${why}`);
  }
  return verify(hook.name, body, request.uid, mutating);
}

/** VerifyAdmissionResponse: an AdmissionReview v1 with our uid, `allowed`, and only a JSONPatch. */
function verify(webhook: string, body: unknown, uid: string, mutating: boolean): ReviewResult {
  const bad = (why: string) => new CallError(webhook, `received invalid webhook response: ${why}`);
  const review = body as { apiVersion?: string; kind?: string; response?: Record<string, unknown> };
  if (review?.apiVersion !== "admission.k8s.io/v1" || review.kind !== "AdmissionReview")
    throw bad(
      `expected webhook response of admission.k8s.io/v1, Kind=AdmissionReview, got ${review?.apiVersion}, Kind=${review?.kind}`,
    );
  const r = review.response;
  if (!r || typeof r !== "object") throw bad("webhook response was absent");
  if (r.uid !== uid) throw bad(`expected response.uid="${uid}", got "${r.uid}"`);
  if (typeof r.allowed !== "boolean") throw bad("response.allowed is required");
  const warnings = Array.isArray(r.warnings) ? r.warnings.filter((w) => typeof w === "string") : [];
  const result: ReviewResult = { allowed: r.allowed, status: r.status as Partial<Status>, warnings };
  if (r.patch === undefined || r.patch === null || r.patch === "") return result;
  if (!mutating) throw bad("webhook returned a patch for a validating admission request");
  if (r.patchType !== "JSONPatch") throw bad(`webhook returned invalid patchType: "${r.patchType}"`);
  try {
    const patch = JSON.parse(atob(String(r.patch)));
    if (!Array.isArray(patch)) throw new Error("not a list of operations");
    result.patch = patch;
  } catch (error) {
    throw bad(`patch is not a base64-encoded JSON patch: ${(error as Error).message}`);
  }
  return result;
}
