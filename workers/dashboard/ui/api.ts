/**
 * The dashboard's only way to the cluster: same-origin fetches to the
 * Kubernetes API with the user's bearer token in the Authorization header (so
 * RBAC applies). The token lives in sessionStorage only: never in a URL, a
 * cookie or localStorage.
 */

const TOKEN_KEY = "edgeplane.dashboard.token";

/** The signed-in user's token, if any. */
export function getToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

/** Keep the token for this tab's session. */
export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

/** Forget the token (sign out, or the server rejected it). */
export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

/** One field error of a Status (metav1.StatusCause). */
export interface Cause {
  reason?: string;
  message?: string;
  field?: string;
}

/** A failed API call, carrying the server's Status (code, reason, causes). */
export class ApiFailure extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly causes: Cause[] = [],
  ) {
    super(message);
  }
}

/** Listeners told when the server says 401: the app goes back to the sign-in form. */
const unauthorized = new Set<() => void>();

/** Call `listener` whenever a request comes back 401 Unauthorized. */
export function onUnauthorized(listener: () => void): () => void {
  unauthorized.add(listener);
  return () => unauthorized.delete(listener);
}

/** Methods that change nothing on the server. */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

/**
 * fetch() a path of the API with the token; throws ApiFailure (from the Status body) on a non-2xx answer.
 * A request that changes nothing (`safe`: GET/HEAD/OPTIONS, or a review the caller marks) is sent once
 * more when the network fails under it ("Failed to fetch": Chrome aborts requests in flight when the
 * host's interfaces change, and a kept connection can close as it is reused); writes never are.
 */
export async function api(
  path: string,
  init: RequestInit = {},
  token = getToken(),
  safe = SAFE_METHODS.has((init.method ?? "GET").toUpperCase()),
): Promise<Response> {
  const headers = new Headers(init.headers);
  if (token) headers.set("Authorization", `Bearer ${token}`);
  if (!headers.has("Accept")) headers.set("Accept", "application/json");
  const send = () => fetch(path, { ...init, headers, credentials: "omit", cache: "no-store" });
  let response: Response;
  try {
    response = await send();
  } catch (error) {
    // A TypeError is fetch's network failure; an abort (DOMException) is the caller's wish.
    if (!safe || !(error instanceof TypeError) || init.signal?.aborted) throw error;
    response = await send();
  }
  if (response.ok) return response;
  const failure = await failureOf(response);
  if (failure.code === 401 && token === getToken()) for (const listener of unauthorized) listener();
  throw failure;
}

/** GET a path and parse its JSON. */
export async function getJson<T>(path: string, signal?: AbortSignal): Promise<T> {
  return (await (await api(path, { signal })).json()) as T;
}

/** Send a JSON (or other typed) body and parse the answer; `safe` when sending it twice changes nothing (reviews). */
export async function sendJson<T>(
  method: string,
  path: string,
  body: unknown,
  contentType = "application/json",
  safe = false,
): Promise<T> {
  const response = await api(
    path,
    {
      method,
      headers: { "Content-Type": contentType },
      body: typeof body === "string" ? body : JSON.stringify(body),
    },
    getToken(),
    safe,
  );
  return (await response.json()) as T;
}

/** Turn a failed response into ApiFailure, using its Status body when it has one. */
async function failureOf(response: Response): Promise<ApiFailure> {
  const text = await response.text().catch(() => "");
  try {
    const status = JSON.parse(text) as {
      kind?: string;
      code?: number;
      reason?: string;
      message?: string;
      details?: { causes?: Cause[] };
    };
    if (status.kind === "Status")
      return new ApiFailure(
        status.code ?? response.status,
        status.reason ?? "",
        status.message ?? response.statusText,
        status.details?.causes ?? [],
      );
  } catch {
    // not JSON: fall through to the HTTP status line
  }
  return new ApiFailure(response.status, response.statusText, text.slice(0, 300) || response.statusText);
}

/** A human sentence for a failure, with the hint a user needs for the common codes. */
export function describeFailure(error: unknown): string {
  if (!(error instanceof ApiFailure)) return error instanceof Error ? error.message : String(error);
  if (error.code === 401)
    return "The API server rejected this token (401 Unauthorized). Check the token and sign in again.";
  if (error.code === 403) return `Not allowed (403 Forbidden): ${error.message}`;
  return `${error.message} (${error.code}${error.reason ? ` ${error.reason}` : ""})`;
}

/** Path of a collection: core kinds under /api/v1, others under /apis/<group>/<version>; all namespaces when ns is "". */
export function collectionPath(apiVersion: string, resource: string, ns = ""): string {
  const base = apiVersion.includes("/") ? `/apis/${apiVersion}` : `/api/${apiVersion}`;
  return ns ? `${base}/namespaces/${encodeURIComponent(ns)}/${resource}` : `${base}/${resource}`;
}
