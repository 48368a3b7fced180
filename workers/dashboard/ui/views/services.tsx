/** Services with their endpoints (the Endpoints object of the same name), both following watches. */
import { collectionPath } from "../api.ts";
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

interface Subset {
  addresses?: { ip: string }[];
  notReadyAddresses?: { ip: string }[];
  ports?: { port: number }[];
}

function endpointsText(ep: KubeObject | undefined): string {
  if (!ep) return "none";
  const out: string[] = [];
  for (const s of (ep.subsets ?? []) as Subset[])
    for (const a of s.addresses ?? [])
      for (const p of s.ports ?? [{ port: 0 }]) out.push(p.port ? `${a.ip}:${p.port}` : a.ip);
  return out.length ? out.join(", ") : "none ready";
}

/** The services page. */
export function Services({ namespace }: { namespace: string }) {
  const services = useWatchedList(collectionPath("v1", "services", namespace));
  const endpoints = useWatchedList(collectionPath("v1", "endpoints", namespace));
  const byName = new Map(endpoints.items.map((e) => [`${e.metadata.namespace}/${e.metadata.name}`, e]));
  const columns: Column<KubeObject>[] = [
    { title: "Name", cell: (s) => s.metadata.name },
    ...(namespace ? [] : [{ title: "Namespace", cell: (s: KubeObject) => s.metadata.namespace }]),
    { title: "Type", cell: (s) => s.spec?.type ?? "ClusterIP" },
    { title: "Cluster IP", cell: (s) => s.spec?.clusterIP ?? "" },
    {
      title: "Ports",
      cell: (s) =>
        ((s.spec?.ports ?? []) as { port: number; protocol?: string; nodePort?: number }[])
          .map((p) => `${p.port}${p.nodePort ? `:${p.nodePort}` : ""}/${p.protocol ?? "TCP"}`)
          .join(", "),
    },
    {
      title: "Endpoints",
      cell: (s) => endpointsText(byName.get(`${s.metadata.namespace}/${s.metadata.name}`)),
    },
  ];
  return (
    <Page title="Services">
      <ErrorBanner error={services.error ?? endpoints.error} />
      <DataTable
        caption="Services"
        columns={columns}
        rows={services.items}
        rowKey={(s) => `${s.metadata.namespace}/${s.metadata.name}`}
        loaded={services.loaded}
      />
    </Page>
  );
}
