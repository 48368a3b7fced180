/** WATCH of a collection: a streamed response, bounded by the watch limits. */
import { queryBool, queryOptionalBool } from "../query.ts";
import { selectorFromQuery } from "../registry/selectors.ts";
import { includeObjectFrom, wantsTable } from "../registry/table.ts";
import { watchResponse } from "../registry/watch.ts";
import { watchTimeoutSeconds } from "../registry/watch-limits.ts";
import { type CollectionCall, intParam } from "./call.ts";
import { wantsWebSocket, watchOverWebSocket } from "./watch-websocket.ts";

/** GET of a collection with watch=true (or the verb resolved as watch); a WebSocket upgrade gets one event per message. */
export function watch(call: CollectionCall): Response {
  const { url, info } = call;
  const table = wantsTable(call.request.headers.get("Accept"))
    ? { include: includeObjectFrom(url) }
    : undefined;
  const limits = call.deps.watch;
  const requested = intParam(url, "timeoutSeconds");
  const request = {
    namespace: call.namespace,
    match: selectorFromQuery(url, info),
    resourceVersion: url.searchParams.get("resourceVersion") ?? undefined,
    allowWatchBookmarks: queryBool(url.searchParams, "allowWatchBookmarks"),
    sendInitialEvents: queryOptionalBool(url.searchParams, "sendInitialEvents"),
    timeoutSeconds: limits
      ? watchTimeoutSeconds(requested, limits.minRequestTimeoutSeconds, limits.random)
      : requested,
    table,
  };
  // The slot is taken last, once the request is known to be valid, and given back when the stream ends.
  const release = limits?.limiter?.acquire(call.user.name);
  try {
    const streamed = watchResponse(call.deps.registry, info, request, {
      onClose: release,
      schedule: limits?.schedule,
      signal: call.request.signal,
      keepaliveMs: limits?.keepaliveMs,
    });
    // Browsers watch over a WebSocket (one event per message), as kube-apiserver allows.
    return wantsWebSocket(call.request) ? watchOverWebSocket(call.request, streamed) : streamed;
  } catch (error) {
    release?.();
    throw error;
  }
}
