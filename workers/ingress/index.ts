/**
 * The edge ingress front door: a request for an ingress host is matched
 * against the Ingresses of our class (match.ts), one ready endpoint of the
 * backend Service in the Ingress's own namespace is picked (round robin per
 * isolate), and the request is carried to that pod through its node's
 * tunnel (proxy.ts). Only what an Ingress names is reachable: no path here
 * takes a pod IP, a node or the API from the request.
 *
 * Which requests are ingress requests (never the API's): at the edge, hosts
 * under INGRESS_DOMAINS (a wildcard route sends them to this Worker, the API
 * keeps its own host); locally, everything on the ingress port (the Worker's
 * `Ingress` entrypoint behind npm start's second HTTPS port).
 *
 * A failed attempt is retried once on another endpoint when the request can
 * be sent again and it is safe to: its method is safe (GET, HEAD, OPTIONS)
 * and it has no body, or the pod never saw it (node not connected, pod no
 * longer on its node, connection refused). A body already streamed to a
 * failed attempt is not kept, so such a request is not replayed.
 */
import { inProcessClient } from "../apiserver/index.ts";
import type { Env } from "../env.ts";
import { matchIngress } from "./match.ts";
import { type CarryLimits, carry, type Outcome } from "./proxy.ts";
import { loadSnapshot, SnapshotCache, type Target, targetsOf } from "./routes.ts";
import { endToEnd, type HttpRequestHead } from "./wire.ts";

/** Who the front door reads the API as (rbac/policy.ts grants it read access to what routing needs). */
export const INGRESS_USER = {
  name: "system:edgeplane:ingress",
  groups: ["system:edgeplane:ingress", "system:authenticated"],
};

/** Default request body limit: 16 MiB (INGRESS_MAX_BODY_BYTES). */
const DEFAULT_MAX_BODY = 16 * 1024 * 1024;
/** Default time for a pod to start answering: 60 s (INGRESS_RESPONSE_TIMEOUT_SECONDS). */
const DEFAULT_TIMEOUT_S = 60;
/** Methods safe to send twice. */
const SAFE = new Set(["GET", "HEAD", "OPTIONS"]);

/** What a client is told when no attempt got an answer (the cause is logged, not shown). */
const FAILURE_TEXT: Record<number, string> = {
  413: "request body too large",
  502: "bad gateway: the backend did not answer",
  503: "service unavailable: the backend's node is not connected",
  504: "gateway timeout: the backend did not answer in time",
};

/** The per-isolate routing snapshot. */
const snapshots = new SnapshotCache();
/** Per backend, the next endpoint index (round robin per isolate). */
const turns = new Map<string, number>();

/** Whether `host` is served as ingress at the edge: under one of INGRESS_DOMAINS (comma-separated). */
export function isIngressHost(env: Pick<Env, "INGRESS_DOMAINS">, host: string): boolean {
  const name = hostname(host);
  return (env.INGRESS_DOMAINS ?? "")
    .split(",")
    .map((d) => d.trim().toLowerCase())
    .filter(Boolean)
    .some((d) => name === d || name.endsWith(`.${d}`));
}

/** A Host header's name: lowercase, no port, no trailing dot. */
export function hostname(host: string): string {
  return host.toLowerCase().replace(/:\d+$/, "").replace(/\.$/, "");
}

function limitsOf(env: Env): CarryLimits {
  const body = Number(env.INGRESS_MAX_BODY_BYTES);
  const timeout = Number(env.INGRESS_RESPONSE_TIMEOUT_SECONDS);
  return {
    maxBodyBytes: body > 0 ? body : DEFAULT_MAX_BODY,
    responseTimeoutMs: (timeout > 0 ? timeout : DEFAULT_TIMEOUT_S) * 1000,
  };
}

/** A plain-text answer of the front door itself (never HTML: nothing of the request is echoed as markup). */
function page(status: number, message: string): Response {
  return new Response(`${message}\n`, {
    status,
    headers: { "Content-Type": "text/plain; charset=utf-8", "X-Content-Type-Options": "nosniff" },
  });
}

/** The request head the pod gets: end-to-end headers, ours for X-Forwarded-*, none of Cloudflare's. */
export function requestHead(request: Request, host: string): HttpRequestHead {
  const url = new URL(request.url);
  const client = request.headers.get("CF-Connecting-IP") ?? "127.0.0.1";
  const headers = endToEnd(request.headers).filter(
    ([k]) => !k.startsWith("x-forwarded-") && !k.startsWith("cf-") && k !== "forwarded" && k !== "x-real-ip",
  );
  headers.push(
    ["x-forwarded-for", client],
    ["x-forwarded-proto", "https"],
    ["x-forwarded-host", host],
    ["x-real-ip", client],
  );
  const upgrade = (request.headers.get("Upgrade") ?? "").toLowerCase() === "websocket";
  return {
    method: request.method,
    path: url.pathname + url.search,
    headers,
    ...(upgrade ? { upgrade: "websocket" } : {}),
  };
}

/** `targets` in the order to try them: the next in turn first. */
function spread(key: string, targets: Target[]): Target[] {
  const turn = turns.get(key) ?? 0;
  turns.set(key, (turn + 1) % 1_000_000);
  const start = turn % targets.length;
  return [...targets.slice(start), ...targets.slice(0, start)];
}

/** Serve one ingress request (`cache`: the per-isolate one unless a test passes its own). */
export async function handleIngress(request: Request, env: Env, cache = snapshots): Promise<Response> {
  const url = new URL(request.url);
  const host = hostname(request.headers.get("Host") ?? url.host);
  let snapshot: Awaited<ReturnType<typeof loadSnapshot>>;
  try {
    snapshot = await cache.get(() => loadSnapshot(inProcessClient(env, undefined, INGRESS_USER)));
  } catch (error) {
    console.warn(`ingress: reading routes failed: ${(error as Error).message}`);
    return page(503, "ingress routes are unavailable");
  }
  const route = matchIngress(snapshot.ingresses, host, url.pathname);
  if (!route) return page(404, "no Ingress serves this host and path");
  const targets = targetsOf(snapshot, route.namespace, route.backend);
  if (typeof targets === "string") return page(503, targets);
  if (targets.length === 0)
    return page(503, `no ready endpoints for the backend of Ingress ${route.ingress}`);
  const limits = limitsOf(env);
  if (Number(request.headers.get("Content-Length") ?? 0) > limits.maxBodyBytes)
    return page(413, "request body too large");
  const head = requestHead(request, host);
  const key = `${route.namespace}/${route.backend.service?.name}/${route.backend.service?.port?.name ?? route.backend.service?.port?.number}`;
  const order = spread(key, targets);
  let last: Outcome | undefined;
  for (const target of order.slice(0, 2)) {
    const outcome = await carry(env, target, head, request.body, limits);
    if ("response" in outcome) return outcome.response;
    last = outcome;
    console.warn(`ingress: ${route.ingress} → pod ${target.namespace}/${target.pod}: ${outcome.failure}`);
    // The body (if any) is only read once the stream is open: unread, the request can still go elsewhere.
    const resendable = request.body === null || !request.bodyUsed;
    const retry =
      resendable &&
      (SAFE.has(request.method) || !outcome.reachedPod) &&
      outcome.status !== 413 &&
      outcome.status !== 504;
    if (!retry) break;
  }
  const failed = last as Exclude<Outcome, { response: Response }>;
  return page(failed.status, FAILURE_TEXT[failed.status] ?? FAILURE_TEXT[502]);
}
