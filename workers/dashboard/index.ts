/**
 * The dashboard (docs/dashboard.md): a static single-page app under /ui on the
 * API's own origin, built by scripts/edgeplane/dashboard-build.ts into the
 * Worker's static assets (ui/). No auth here: the assets hold no data; the app
 * sends every data request to the Kubernetes API with the user's bearer token,
 * so RBAC applies. Every response carries a strict CSP (no inline script or
 * style, fetches only to this origin) and may not be framed.
 */
import { ApiError } from "../client/status.ts";
import { STYLE_NONCE_PLACEHOLDER } from "./nonce.ts";

/** What the dashboard routes need from the Worker's Env. */
export interface DashboardEnv {
  /** Workers Static Assets (wrangler.toml [assets]); the build puts the app under ui/. */
  ASSETS?: Fetcher;
}

const PREFIX = "/ui";
const HASHED = `${PREFIX}/assets/`;

/** The policy every /ui response carries ('self' covers same-origin ws:/wss: for the terminal). */
export const DASHBOARD_CSP = policy("'self'");

function policy(styles: string): string {
  return [
    "default-src 'none'",
    "script-src 'self'",
    `style-src ${styles}`,
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join("; ");
}

const SECURITY_HEADERS = {
  "Content-Security-Policy": DASHBOARD_CSP,
  "X-Frame-Options": "DENY",
  "X-Content-Type-Options": "nosniff",
  "Referrer-Policy": "no-referrer",
};

/** True for the paths handleDashboard serves. */
export function isDashboardPath(path: string): boolean {
  return path === PREFIX || path.startsWith(`${PREFIX}/`);
}

/** Serve index.html (never cached) or a content-hashed asset (cached for good); every failure is a Status. */
export async function handleDashboard(request: Request, env: DashboardEnv): Promise<Response> {
  try {
    return await serve(request, env);
  } catch (error) {
    if (!(error instanceof ApiError)) throw error;
    const response = error.toResponse();
    for (const [name, value] of Object.entries(SECURITY_HEADERS)) response.headers.set(name, value);
    return response;
  }
}

async function serve(request: Request, env: DashboardEnv): Promise<Response> {
  const url = new URL(request.url);
  if (request.method !== "GET" && request.method !== "HEAD")
    throw new ApiError("MethodNotAllowed", `${request.method} is not supported on ${url.pathname}`);
  const path = url.pathname;
  let asset: string;
  let cache: string;
  if (path === PREFIX || path === `${PREFIX}/`) {
    // Never cached: it names the current hashed assets, so a new deploy shows at the next load.
    asset = `${PREFIX}/index.html`;
    cache = "no-store";
  } else if (path.startsWith(HASHED) && /^[\w.-]+$/.test(path.slice(HASHED.length))) {
    asset = path;
    cache = "public, max-age=31536000, immutable";
  } else {
    throw new ApiError("NotFound", `${path} not found (the dashboard is at ${PREFIX}/)`);
  }
  const found = env.ASSETS
    ? await env.ASSETS.fetch(new Request(new URL(asset, url), { method: request.method }))
    : undefined;
  if (!found?.ok) {
    if (asset.startsWith(HASHED)) throw new ApiError("NotFound", `${path} not found`);
    throw new ApiError(
      "NotFound",
      `the dashboard is not part of this deploy: build it with "node scripts/edgeplane/build-dashboard.mjs"`,
    );
  }
  const headers = new Headers(SECURITY_HEADERS);
  headers.set("Cache-Control", cache);
  headers.set("Content-Type", found.headers.get("Content-Type") ?? "application/octet-stream");
  if (asset.startsWith(HASHED))
    return new Response(request.method === "HEAD" ? null : found.body, { headers });
  const nonce = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(16))));
  headers.set("Content-Security-Policy", policy(`'self' 'nonce-${nonce}'`));
  const html = (await found.text()).replaceAll(STYLE_NONCE_PLACEHOLDER, nonce);
  return new Response(request.method === "HEAD" ? null : html, { headers });
}
