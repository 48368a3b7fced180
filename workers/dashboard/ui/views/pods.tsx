/** Pods of the chosen namespace, following a watch: phase, restarts, node, IP, age; logs and delete. */
import { useState } from "preact/hooks";
import { api, collectionPath } from "../api.ts";
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { age } from "../format.ts";
import { useNow, useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

interface ContainerStatus {
  ready?: boolean;
  restartCount?: number;
  state?: { waiting?: { reason?: string }; terminated?: { reason?: string } };
}

/** kubectl's STATUS column, roughly: a waiting or terminated reason wins over the phase. */
function podStatus(pod: KubeObject): string {
  if (pod.metadata.deletionTimestamp) return "Terminating";
  for (const c of (pod.status?.containerStatuses ?? []) as ContainerStatus[]) {
    const reason = c.state?.waiting?.reason ?? c.state?.terminated?.reason;
    if (reason && reason !== "Completed") return reason;
  }
  return pod.status?.reason ?? pod.status?.phase ?? "Unknown";
}

/** Delete in two steps; `armed` is the page's one pod awaiting confirmation (no per-row state: lists run to 1,000s). */
function DeleteButton(props: {
  pod: KubeObject;
  armed: boolean;
  arm(key: string | undefined): void;
  onError(e: unknown): void;
}) {
  const { pod, armed, arm, onError } = props;
  const name = pod.metadata.name;
  if (!armed)
    return (
      <button
        type="button"
        onClick={() => arm(`${pod.metadata.namespace}/${name}`)}
        aria-label={`Delete pod ${name}`}
      >
        Delete
      </button>
    );
  return (
    <button
      type="button"
      class="danger"
      aria-label={`Confirm deleting pod ${name}`}
      onClick={() =>
        api(`${collectionPath("v1", "pods", pod.metadata.namespace)}/${encodeURIComponent(name)}`, {
          method: "DELETE",
        }).then(
          () => arm(undefined),
          (e) => {
            arm(undefined);
            onError(e);
          },
        )
      }
    >
      Confirm delete
    </button>
  );
}

/** The pods page. */
export function Pods({ namespace }: { namespace: string }) {
  const pods = useWatchedList(collectionPath("v1", "pods", namespace));
  const [actionError, setActionError] = useState<unknown>();
  const [armed, arm] = useState<string>();
  const now = useNow();
  const columns: Column<KubeObject>[] = [
    { title: "Name", cell: (p) => p.metadata.name },
    ...(namespace ? [] : [{ title: "Namespace", cell: (p: KubeObject) => p.metadata.namespace }]),
    {
      title: "Ready",
      cell: (p) => {
        const cs = (p.status?.containerStatuses ?? []) as ContainerStatus[];
        return `${cs.filter((c) => c.ready).length}/${p.spec?.containers?.length ?? cs.length}`;
      },
    },
    {
      title: "Status",
      cell: (p) => {
        const s = podStatus(p);
        return (
          <span class={s === "Running" || s === "Succeeded" ? "ok" : s === "Pending" ? "" : "bad"}>{s}</span>
        );
      },
    },
    {
      title: "Restarts",
      cell: (p) =>
        ((p.status?.containerStatuses ?? []) as ContainerStatus[]).reduce(
          (n, c) => n + (c.restartCount ?? 0),
          0,
        ),
    },
    { title: "Node", cell: (p) => p.spec?.nodeName ?? "" },
    { title: "IP", cell: (p) => p.status?.podIP ?? "" },
    { title: "Age", cell: (p) => age(p.metadata.creationTimestamp, now) },
    {
      title: "Actions",
      cell: (p) => (
        <span class="actions">
          <a
            href={`#/logs/${encodeURIComponent(p.metadata.namespace ?? "")}/${encodeURIComponent(p.metadata.name)}`}
            aria-label={`Logs of pod ${p.metadata.name}`}
          >
            Logs
          </a>
          <a
            href={`#/exec/${encodeURIComponent(p.metadata.namespace ?? "")}/${encodeURIComponent(p.metadata.name)}`}
            aria-label={`Terminal in pod ${p.metadata.name}`}
          >
            Terminal
          </a>
          <DeleteButton
            pod={p}
            armed={armed === `${p.metadata.namespace}/${p.metadata.name}`}
            arm={arm}
            onError={setActionError}
          />
        </span>
      ),
    },
  ];
  return (
    <Page title="Pods">
      <ErrorBanner error={pods.error ?? actionError} />
      <DataTable
        caption={namespace ? `Pods in ${namespace}` : "Pods in all namespaces"}
        columns={columns}
        rows={pods.items}
        rowKey={(p) => `${p.metadata.namespace}/${p.metadata.name}`}
        loaded={pods.loaded}
        empty="No pods."
      />
    </Page>
  );
}
