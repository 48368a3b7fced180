/** Events of the chosen namespace, newest first, following a watch. */
import { collectionPath } from "../api.ts";
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { age } from "../format.ts";
import { useNow, useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

function lastSeen(e: KubeObject): string {
  return e.lastTimestamp ?? e.eventTime ?? e.metadata.creationTimestamp ?? "";
}

/** The events page. */
export function Events({ namespace }: { namespace: string }) {
  const events = useWatchedList(collectionPath("v1", "events", namespace));
  const now = useNow();
  const rows = [...events.items].sort((a, b) => lastSeen(b).localeCompare(lastSeen(a)));
  const columns: Column<KubeObject>[] = [
    { title: "Last seen", cell: (e) => age(lastSeen(e), now) },
    { title: "Type", cell: (e) => <span class={e.type === "Warning" ? "bad" : ""}>{e.type}</span> },
    { title: "Reason", cell: (e) => e.reason },
    { title: "Object", cell: (e) => `${e.involvedObject?.kind ?? ""}/${e.involvedObject?.name ?? ""}` },
    { title: "Count", cell: (e) => e.count ?? 1 },
    { title: "Message", cell: (e) => e.message },
  ];
  return (
    <Page title="Events">
      <ErrorBanner error={events.error} />
      <DataTable
        caption={namespace ? `Events in ${namespace}` : "Events in all namespaces"}
        columns={columns}
        rows={rows}
        rowKey={(e) => `${e.metadata.namespace}/${e.metadata.name}`}
        loaded={events.loaded}
      />
    </Page>
  );
}
