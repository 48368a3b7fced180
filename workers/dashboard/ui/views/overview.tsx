/** Cluster overview: nodes (Ready, capacity, usage from metrics.k8s.io when served) and pods per node. */
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { bytes, cores, quantity } from "../format.ts";
import { usePolled, useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

interface NodeMetrics {
  items: { metadata: { name: string }; usage: { cpu: string; memory: string } }[];
}

function readyOf(node: KubeObject): string {
  const ready = node.status?.conditions?.find((c: { type: string }) => c.type === "Ready");
  if (!ready) return "Unknown";
  return ready.status === "True" ? "Ready" : "NotReady";
}

/** The overview page. */
export function Overview() {
  const nodes = useWatchedList("/api/v1/nodes");
  const pods = useWatchedList("/api/v1/pods");
  const metrics = usePolled<NodeMetrics>("/apis/metrics.k8s.io/v1beta1/nodes", 15_000);
  const usage = new Map(metrics.data?.items.map((m) => [m.metadata.name, m.usage]) ?? []);
  const perNode = new Map<string, number>();
  let unscheduled = 0;
  const phases = new Map<string, number>();
  for (const pod of pods.items) {
    const node = pod.spec?.nodeName;
    if (node) perNode.set(node, (perNode.get(node) ?? 0) + 1);
    else unscheduled++;
    const phase = pod.status?.phase ?? "Unknown";
    phases.set(phase, (phases.get(phase) ?? 0) + 1);
  }
  const ready = nodes.items.filter((n) => readyOf(n) === "Ready").length;
  const columns: Column<KubeObject>[] = [
    { title: "Node", cell: (n) => n.metadata.name },
    {
      title: "Status",
      cell: (n) => {
        const r = readyOf(n);
        return <span class={r === "Ready" ? "ok" : "bad"}>{r}</span>;
      },
    },
    {
      title: "CPU (used / allocatable)",
      cell: (n) => {
        const alloc = cores(quantity(n.status?.allocatable?.cpu));
        const used = usage.get(n.metadata.name);
        return `${used ? cores(quantity(used.cpu)) : "–"} / ${alloc}`;
      },
    },
    {
      title: "Memory (used / allocatable)",
      cell: (n) => {
        const alloc = bytes(quantity(n.status?.allocatable?.memory));
        const used = usage.get(n.metadata.name);
        return `${used ? bytes(quantity(used.memory)) : "–"} / ${alloc}`;
      },
    },
    {
      title: "Pods (running / max)",
      cell: (n) => `${perNode.get(n.metadata.name) ?? 0} / ${n.status?.allocatable?.pods ?? "?"}`,
    },
    { title: "Kubelet", cell: (n) => n.status?.nodeInfo?.kubeletVersion ?? "" },
  ];
  return (
    <Page title="Cluster overview">
      <ErrorBanner error={nodes.error ?? pods.error} />
      <dl class="stats" aria-label="Cluster summary">
        <div>
          <dt>Nodes ready</dt>
          <dd data-testid="nodes-ready">{nodes.loaded ? `${ready} / ${nodes.items.length}` : "…"}</dd>
        </div>
        <div>
          <dt>Pods</dt>
          <dd data-testid="pod-count">{pods.loaded ? pods.items.length : "…"}</dd>
        </div>
        {[...phases].map(([phase, n]) => (
          <div key={phase}>
            <dt>{phase}</dt>
            <dd>{n}</dd>
          </div>
        ))}
        <div>
          <dt>Unscheduled</dt>
          <dd>{pods.loaded ? unscheduled : "…"}</dd>
        </div>
      </dl>
      <DataTable
        caption="Nodes"
        columns={columns}
        rows={nodes.items}
        rowKey={(n) => n.metadata.name}
        loaded={nodes.loaded}
        empty="No nodes have joined yet."
      />
      <p class="muted">
        {metrics.data
          ? "Usage from metrics.k8s.io (– until the node's first sample), refreshed every 15 s."
          : "No resource metrics (metrics.k8s.io) yet: usage appears once nodes report samples."}
      </p>
    </Page>
  );
}
