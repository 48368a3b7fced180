/**
 * Lists that follow the API: list, then watch from the list's resourceVersion
 * by streaming the JSON-lines body of ?watch=1 with fetch; a watch that ends
 * resumes from the last resourceVersion seen (bookmarks included), a 410 Gone
 * (history compacted) relists, other failures retry after a short pause.
 */
import { ApiFailure, api, getJson } from "./api.ts";

/** The parts of an object the lists use. */
export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: {
    name: string;
    namespace?: string;
    uid?: string;
    resourceVersion?: string;
    creationTimestamp?: string;
    deletionTimestamp?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: { kind: string; name: string }[];
  };
  // biome-ignore lint/suspicious/noExplicitAny: lists read kind-specific spec fields
  spec?: any;
  // biome-ignore lint/suspicious/noExplicitAny: lists read kind-specific status fields
  status?: any;
  // biome-ignore lint/suspicious/noExplicitAny: ConfigMap/Secret data and Event fields sit at the top level
  [field: string]: any;
}

/** What a watched list reports. */
export interface WatchHandlers {
  /** A (re)list replaced everything. */
  sync(items: KubeObject[]): void;
  /** One ADDED / MODIFIED / DELETED event. */
  event(type: string, object: KubeObject): void;
  /** The latest failure (undefined once things work again). */
  error(error: unknown): void;
}

/** Why a watch stream must relist. */
class Gone extends Error {}

/** Add query parameters to a path that may already have some. */
function withQuery(path: string, query: Record<string, string>): string {
  const sep = path.includes("?") ? "&" : "?";
  return path + sep + new URLSearchParams(query).toString();
}

/** Follow the collection at `path` until the returned stop function is called. */
export function listAndWatch(path: string, handlers: WatchHandlers, retryMs = 3000): () => void {
  const abort = new AbortController();
  const stopped = () => abort.signal.aborted;
  void (async () => {
    while (!stopped()) {
      try {
        const list = await getJson<{ metadata: { resourceVersion: string }; items: KubeObject[] }>(
          path,
          abort.signal,
        );
        let rv = list.metadata.resourceVersion;
        handlers.sync(list.items);
        handlers.error(undefined);
        while (!stopped()) {
          const response = await api(
            withQuery(path, { watch: "1", allowWatchBookmarks: "true", resourceVersion: rv }),
            { signal: abort.signal },
          );
          for await (const line of lines(response.body!)) {
            const event = JSON.parse(line) as { type: string; object: KubeObject & { code?: number } };
            if (event.type === "ERROR") {
              if (event.object.code === 410) throw new Gone();
              throw new ApiFailure(
                event.object.code ?? 500,
                event.object.reason ?? "",
                event.object.message ?? "",
              );
            }
            rv = event.object.metadata?.resourceVersion ?? rv;
            if (event.type !== "BOOKMARK") handlers.event(event.type, event.object);
          }
        }
      } catch (error) {
        if (stopped()) return;
        if (error instanceof Gone || (error instanceof ApiFailure && error.code === 410)) continue;
        handlers.error(error);
        if (error instanceof ApiFailure && error.code === 401) return;
        await pause(retryMs, abort.signal);
      }
    }
  })();
  return () => abort.abort();
}

/** The non-empty lines of a streamed body (the server's keepalives are bare newlines). */
async function* lines(body: ReadableStream<Uint8Array<ArrayBuffer>>): AsyncGenerator<string> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffered += value;
      let newline = buffered.indexOf("\n");
      while (newline >= 0) {
        const line = buffered.slice(0, newline).trim();
        buffered = buffered.slice(newline + 1);
        if (line) yield line;
        newline = buffered.indexOf("\n");
      }
    }
    if (buffered.trim()) yield buffered.trim();
  } finally {
    reader.releaseLock();
  }
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
