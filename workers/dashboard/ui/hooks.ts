/** Preact hooks over the watched lists and polled endpoints. */
import { useEffect, useState } from "preact/hooks";
import { getJson } from "./api.ts";
import { type KubeObject, listAndWatch } from "./watch.ts";

/** A followed list's state. */
export interface Watched {
  items: KubeObject[];
  /** False until the first list arrived. */
  loaded: boolean;
  error: unknown;
}

function keyOf(o: KubeObject): string {
  return `${o.metadata.namespace ?? ""}/${o.metadata.name}`;
}

/**
 * Follow the collection at `path` (null: nothing). Events are applied to a map
 * and rendered at most once per animation frame, so a burst of a thousand
 * events is one render.
 */
export function useWatchedList(path: string | null): Watched {
  const [state, setState] = useState<Watched>({ items: [], loaded: false, error: undefined });
  useEffect(() => {
    setState({ items: [], loaded: false, error: undefined });
    if (!path) return;
    const objects = new Map<string, KubeObject>();
    let frame = 0;
    let error: unknown;
    let loaded = false;
    const flush = () => {
      frame = 0;
      const items = [...objects.values()].sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
      setState({ items, loaded, error });
    };
    const schedule = () => {
      if (!frame) frame = requestAnimationFrame(flush);
    };
    const stop = listAndWatch(path, {
      sync(items) {
        objects.clear();
        for (const item of items) objects.set(keyOf(item), item);
        loaded = true;
        schedule();
      },
      event(type, object) {
        if (type === "DELETED") objects.delete(keyOf(object));
        else objects.set(keyOf(object), object);
        schedule();
      },
      error(e) {
        if (e === error) return;
        error = e;
        schedule();
      },
    });
    return () => {
      stop();
      if (frame) cancelAnimationFrame(frame);
    };
  }, [path]);
  return state;
}

/** GET `path` now and every `everyMs`; `error` holds the last failure (e.g. 404 when metrics are not served). */
export function usePolled<T>(path: string | null, everyMs: number): { data: T | undefined; error: unknown } {
  const [state, setState] = useState<{ data: T | undefined; error: unknown }>({
    data: undefined,
    error: undefined,
  });
  useEffect(() => {
    if (!path) return;
    const abort = new AbortController();
    const load = () =>
      getJson<T>(path, abort.signal).then(
        (data) => setState({ data, error: undefined }),
        (error) => abort.signal.aborted || setState((s) => ({ data: s.data, error })),
      );
    void load();
    const timer = setInterval(load, everyMs);
    return () => {
      abort.abort();
      clearInterval(timer);
    };
  }, [path, everyMs]);
  return state;
}

/** Seconds-resolution "now", refreshed every `everyMs`, for AGE columns. */
export function useNow(everyMs = 5000): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), everyMs);
    return () => clearInterval(timer);
  }, [everyMs]);
  return now;
}
