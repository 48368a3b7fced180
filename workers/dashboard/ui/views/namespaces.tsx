/** Namespaces, following a watch. */
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { age } from "../format.ts";
import { useNow, useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

/** The namespaces page; choosing one sets the namespace filter. */
export function Namespaces({ choose }: { choose(ns: string): void }) {
  const list = useWatchedList("/api/v1/namespaces");
  const now = useNow();
  const columns: Column<KubeObject>[] = [
    {
      title: "Name",
      cell: (n) => (
        <button
          type="button"
          class="link"
          onClick={() => choose(n.metadata.name)}
          aria-label={`Show namespace ${n.metadata.name}`}
        >
          {n.metadata.name}
        </button>
      ),
    },
    { title: "Status", cell: (n) => n.status?.phase ?? "" },
    { title: "Age", cell: (n) => age(n.metadata.creationTimestamp, now) },
  ];
  return (
    <Page title="Namespaces">
      <ErrorBanner error={list.error} />
      <DataTable
        caption="Namespaces"
        columns={columns}
        rows={list.items}
        rowKey={(n) => n.metadata.name}
        loaded={list.loaded}
      />
    </Page>
  );
}
