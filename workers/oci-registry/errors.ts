/**
 * OCI distribution errors: `{errors: [{code, message, detail}]}` with the
 * status codes the distribution spec assigns to each code. Handlers throw
 * RegistryError; handleRegistry turns it into a response in one place.
 */

/** Error codes from the OCI distribution spec, with their HTTP status. */
const OCI_ERROR_STATUS = {
  BLOB_UNKNOWN: 404,
  BLOB_UPLOAD_INVALID: 400,
  BLOB_UPLOAD_UNKNOWN: 404,
  DIGEST_INVALID: 400,
  MANIFEST_BLOB_UNKNOWN: 400,
  MANIFEST_INVALID: 400,
  MANIFEST_UNKNOWN: 404,
  NAME_INVALID: 400,
  NAME_UNKNOWN: 404,
  SIZE_INVALID: 400,
  UNAUTHORIZED: 401,
  DENIED: 403,
  UNSUPPORTED: 405,
  TOOMANYREQUESTS: 429,
  RANGE_INVALID: 416,
} as const;

/** One of the distribution spec's error codes. */
export type OciErrorCode = keyof typeof OCI_ERROR_STATUS;

/** A registry failure that becomes an OCI error response. */
export class RegistryError extends Error {
  readonly status: number;
  constructor(
    readonly code: OciErrorCode,
    message: string,
    readonly detail?: unknown,
    status?: number,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = "RegistryError";
    this.status = status ?? OCI_ERROR_STATUS[code];
  }

  /** The response carrying this error in the OCI format (HEAD responses carry no body). */
  toResponse(method: string): Response {
    const headers = new Headers({ "Content-Type": "application/json", ...this.headers });
    const body = JSON.stringify({
      errors: [{ code: this.code, message: this.message, detail: this.detail ?? null }],
    });
    return new Response(method === "HEAD" ? null : body, { status: this.status, headers });
  }
}
