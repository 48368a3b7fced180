/** ConfigMaps and Secrets: keys listed, values hidden until asked for (Secret values decoded from base64). */
import { useState } from "preact/hooks";
import { collectionPath } from "../api.ts";
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

function decode(b64: string): string {
  try {
    const bin = atob(b64);
    return new TextDecoder().decode(Uint8Array.from(bin, (c) => c.charCodeAt(0)));
  } catch {
    return "(not base64)";
  }
}

function Values({ o, secret }: { o: KubeObject; secret: boolean }) {
  const [shown, setShown] = useState(false);
  const data = (o.data ?? {}) as Record<string, string>;
  const keys = Object.keys(data);
  if (keys.length === 0) return <span class="muted">no data</span>;
  return (
    <div>
      <button
        type="button"
        aria-expanded={shown}
        onClick={() => setShown(!shown)}
        aria-label={`${shown ? "Hide" : "Show"} values of ${o.metadata.name}`}
      >
        {shown ? "Hide values" : "Show values"}
      </button>
      <dl class="kv">
        {keys.map((k) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd>{shown ? <pre>{secret ? decode(data[k]) : data[k]}</pre> : "••••••"}</dd>
          </div>
        ))}
      </dl>
    </div>
  );
}

/** The ConfigMaps and Secrets page. */
export function Config({ namespace }: { namespace: string }) {
  const [secret, setSecret] = useState(false);
  const list = useWatchedList(collectionPath("v1", secret ? "secrets" : "configmaps", namespace));
  const columns: Column<KubeObject>[] = [
    { title: "Name", cell: (o) => o.metadata.name },
    ...(namespace ? [] : [{ title: "Namespace", cell: (o: KubeObject) => o.metadata.namespace }]),
    ...(secret ? [{ title: "Type", cell: (o: KubeObject) => o.type }] : []),
    { title: "Data", cell: (o) => <Values key={o.metadata.uid} o={o} secret={secret} /> },
  ];
  return (
    <Page
      title="Configuration"
      tools={
        <div role="radiogroup" aria-label="Kind" class="toolbar">
          <label>
            <input type="radio" name="cfg" checked={!secret} onChange={() => setSecret(false)} /> ConfigMaps
          </label>
          <label>
            <input type="radio" name="cfg" checked={secret} onChange={() => setSecret(true)} /> Secrets
          </label>
        </div>
      }
    >
      <ErrorBanner error={list.error} />
      <DataTable
        caption={secret ? "Secrets" : "ConfigMaps"}
        columns={columns}
        rows={list.items}
        rowKey={(o) => `${o.metadata.namespace}/${o.metadata.name}`}
        loaded={list.loaded}
      />
    </Page>
  );
}
