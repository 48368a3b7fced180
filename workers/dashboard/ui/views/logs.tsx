/** One pod's logs, followed by streaming pods/log?follow=true (the last 1,000 lines kept on screen). */
import { useEffect, useRef, useState } from "preact/hooks";
import { api, collectionPath, getJson } from "../api.ts";
import { ErrorBanner, Page } from "../components.tsx";
import type { KubeObject } from "../watch.ts";

const KEEP = 1000;

/** The logs page of pod `name` in `namespace`. */
export function Logs({ namespace, name }: { namespace: string; name: string }) {
  const podPath = `${collectionPath("v1", "pods", namespace)}/${encodeURIComponent(name)}`;
  const [containers, setContainers] = useState<string[]>([]);
  const [container, setContainer] = useState("");
  const [follow, setFollow] = useState(true);
  const [text, setText] = useState("");
  const [error, setError] = useState<unknown>();
  const [state, setState] = useState("loading");
  const end = useRef<HTMLPreElement>(null);

  useEffect(() => {
    const abort = new AbortController();
    getJson<KubeObject>(podPath, abort.signal).then((pod) => {
      const names = ((pod.spec?.containers ?? []) as { name: string }[]).map((c) => c.name);
      setContainers(names);
      setContainer((c) => c || names[0] || "");
    }, setError);
    return () => abort.abort();
  }, [podPath]);

  useEffect(() => {
    if (!container) return;
    const abort = new AbortController();
    setText("");
    setError(undefined);
    setState(follow ? "following" : "loading");
    const query = new URLSearchParams({ container, tailLines: String(KEEP), follow: String(follow) });
    void (async () => {
      try {
        const response = await api(`${podPath}/log?${query}`, {
          signal: abort.signal,
          headers: { Accept: "*/*" },
        });
        const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
        let all = "";
        for (;;) {
          const { value, done } = await reader.read();
          if (done) break;
          all += value;
          const lines = all.split("\n");
          if (lines.length > KEEP + 1) all = lines.slice(-KEEP - 1).join("\n");
          setText(all);
        }
        setState("ended");
      } catch (e) {
        if (!abort.signal.aborted) {
          setError(e);
          setState("failed");
        }
      }
    })();
    return () => abort.abort();
  }, [podPath, container, follow]);

  useEffect(() => {
    if (follow && end.current) end.current.scrollTop = end.current.scrollHeight;
  }, [text, follow]);

  return (
    <Page
      title={`Logs: ${namespace}/${name}`}
      tools={
        <div class="toolbar">
          <label>
            Container{" "}
            <select value={container} onChange={(e) => setContainer((e.target as HTMLSelectElement).value)}>
              {containers.map((c) => (
                <option key={c}>{c}</option>
              ))}
            </select>
          </label>
          <label>
            <input
              type="checkbox"
              checked={follow}
              onChange={(e) => setFollow((e.target as HTMLInputElement).checked)}
            />{" "}
            Follow
          </label>
          <a href="#/pods">Back to pods</a>
        </div>
      }
    >
      <ErrorBanner error={error} />
      <p class="muted" aria-live="polite">
        {state === "following" ? "Following the log…" : state === "ended" ? "End of log." : ""}
      </p>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: a scrolling region must take focus so keyboards can scroll it */}
      <pre class="logs" ref={end} tabIndex={0} role="log" aria-label={`Log of ${name}`} data-testid="log">
        {text}
      </pre>
    </Page>
  );
}
