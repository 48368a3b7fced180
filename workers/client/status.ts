/**
 * Kubernetes Status objects and the one error type that carries them.
 * The API server throws ApiError and turns it into a response in one place
 * (its onError); the client turns a failed response back into ApiError.
 * Shared by the Worker and the node agent, so it uses no platform APIs.
 */

/** Status reasons we use, with their HTTP codes (metav1.StatusReason). */
const REASON_CODES = {
  BadRequest: 400,
  Unauthorized: 401,
  Forbidden: 403,
  NotFound: 404,
  MethodNotAllowed: 405,
  NotAcceptable: 406,
  AlreadyExists: 409,
  Conflict: 409,
  Gone: 410,
  Expired: 410,
  RequestEntityTooLarge: 413,
  UnsupportedMediaType: 415,
  Invalid: 422,
  TooManyRequests: 429,
  InternalError: 500,
  ServiceUnavailable: 503,
  Timeout: 504,
} as const;

export type StatusReason = keyof typeof REASON_CODES;

/** One field error (metav1.StatusCause), e.g. {reason: "FieldValueRequired", field: "spec.containers[0].image"}. */
export interface StatusCause {
  reason: string;
  message: string;
  field?: string;
}

/** metav1.Status as the API returns it. */
export interface Status {
  kind: "Status";
  apiVersion: "v1";
  metadata: Record<string, unknown>;
  status: "Success" | "Failure";
  message?: string;
  reason?: StatusReason | string;
  details?: {
    name?: string;
    group?: string;
    kind?: string;
    uid?: string;
    causes?: StatusCause[];
    retryAfterSeconds?: number;
  };
  code: number;
}

/** An API failure with a Kubernetes reason; becomes a Status response. */
export class ApiError extends Error {
  readonly code: number;
  constructor(
    readonly reason: StatusReason | string,
    message: string,
    readonly details: Status["details"] = undefined,
    code?: number,
  ) {
    super(message);
    this.name = "ApiError";
    this.code = code ?? REASON_CODES[reason as StatusReason] ?? 500;
  }

  /** The Status body for this error. */
  toStatus(): Status {
    const status: Status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      code: this.code,
    };
    if (this.details) status.details = this.details;
    return status;
  }

  /**
   * The one HTTP response for this error: the Status as JSON with its code,
   * and Retry-After when the Status asks to retry later (as kube-apiserver
   * sets it; clients honour the header, not details.retryAfterSeconds).
   */
  toResponse(): Response {
    const headers = new Headers({ "Content-Type": "application/json" });
    const retry = this.details?.retryAfterSeconds;
    if (retry !== undefined && (this.code === 429 || this.code >= 500))
      headers.set("Retry-After", String(retry));
    return new Response(JSON.stringify(this.toStatus()), { status: this.code, headers });
  }

  /** Rebuild an ApiError from a Status body (client side). */
  static fromStatus(status: Partial<Status>, httpCode: number): ApiError {
    return new ApiError(
      status.reason ?? "InternalError",
      status.message ?? `HTTP ${httpCode}`,
      status.details,
      status.code ?? httpCode,
    );
  }
}

/** Shorthands for the common errors, with Kubernetes' wording. */
export const errors = {
  notFound: (resource: string, name: string, group = "") =>
    new ApiError("NotFound", `${qualified(resource, group)} "${name}" not found`, {
      name,
      group,
      kind: resource,
    }),
  alreadyExists: (resource: string, name: string, group = "") =>
    new ApiError("AlreadyExists", `${qualified(resource, group)} "${name}" already exists`, {
      name,
      group,
      kind: resource,
    }),
  conflict: (resource: string, name: string, why: string, group = "") =>
    new ApiError(
      "Conflict",
      `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`,
      { name, group, kind: resource },
    ),
  invalid: (kind: string, name: string, causes: StatusCause[], group = "") =>
    new ApiError(
      "Invalid",
      `${kind}${group ? `.${group}` : ""} "${name}" is invalid: ${causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)).join(", ")}`,
      { name, group, kind, causes },
    ),
  badRequest: (message: string) => new ApiError("BadRequest", message),
  expired: (message: string) => new ApiError("Expired", message),
  unauthorized: () => new ApiError("Unauthorized", "Unauthorized"),
  forbidden: (message: string) => new ApiError("Forbidden", message),
  internal: (message: string) => new ApiError("InternalError", message),
};

function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}
