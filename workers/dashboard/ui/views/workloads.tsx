/**
 * Workloads, one kind at a time (each list is a watch; browsers allow six
 * HTTP/1.1 connections per origin, so the app keeps few open): status and
 * rollout progress, scale (the scale subresource) and rollout restart (the
 * template annotation kubectl sets).
 */
import { useState } from "preact/hooks";
import { api, collectionPath } from "../api.ts";
import { type Column, DataTable, ErrorBanner, Page } from "../components.tsx";
import { age } from "../format.ts";
import { useNow, useWatchedList } from "../hooks.ts";
import type { KubeObject } from "../watch.ts";

interface Kind {
  resource: string;
  title: string;
  apiVersion: string;
  scalable?: boolean;
  restartable?: boolean;
  columns: Column<KubeObject>[];
}

function condition(
  o: KubeObject,
  type: string,
): { status?: string; reason?: string; message?: string } | undefined {
  return o.status?.conditions?.find((c: { type: string }) => c.type === type);
}

const replicasColumns: Column<KubeObject>[] = [
  { title: "Ready", cell: (o) => `${o.status?.readyReplicas ?? 0}/${o.spec?.replicas ?? 0}` },
  { title: "Up to date", cell: (o) => o.status?.updatedReplicas ?? 0 },
  { title: "Available", cell: (o) => o.status?.availableReplicas ?? 0 },
  {
    title: "Rollout",
    cell: (o) => {
      const p = condition(o, "Progressing");
      const done =
        (o.status?.updatedReplicas ?? 0) === (o.spec?.replicas ?? 0) &&
        (o.status?.readyReplicas ?? 0) === (o.spec?.replicas ?? 0);
      return p?.reason === "ProgressDeadlineExceeded" ? (
        <span class="bad">{p.message}</span>
      ) : done ? (
        <span class="ok">Complete</span>
      ) : (
        <span>Progressing</span>
      );
    },
  },
];

const KINDS: Kind[] = [
  {
    resource: "deployments",
    title: "Deployments",
    apiVersion: "apps/v1",
    scalable: true,
    restartable: true,
    columns: replicasColumns,
  },
  {
    resource: "statefulsets",
    title: "StatefulSets",
    apiVersion: "apps/v1",
    scalable: true,
    restartable: true,
    columns: replicasColumns,
  },
  {
    resource: "daemonsets",
    title: "DaemonSets",
    apiVersion: "apps/v1",
    restartable: true,
    columns: [
      { title: "Desired", cell: (o) => o.status?.desiredNumberScheduled ?? 0 },
      { title: "Ready", cell: (o) => o.status?.numberReady ?? 0 },
      { title: "Up to date", cell: (o) => o.status?.updatedNumberScheduled ?? 0 },
      { title: "Available", cell: (o) => o.status?.numberAvailable ?? 0 },
    ],
  },
  {
    resource: "replicasets",
    title: "ReplicaSets",
    apiVersion: "apps/v1",
    scalable: true,
    columns: [
      { title: "Desired", cell: (o) => o.spec?.replicas ?? 0 },
      { title: "Current", cell: (o) => o.status?.replicas ?? 0 },
      { title: "Ready", cell: (o) => o.status?.readyReplicas ?? 0 },
      {
        title: "Owner",
        cell: (o) => o.metadata.ownerReferences?.map((r) => `${r.kind}/${r.name}`).join(", ") ?? "",
      },
    ],
  },
  {
    resource: "jobs",
    title: "Jobs",
    apiVersion: "batch/v1",
    columns: [
      { title: "Completions", cell: (o) => `${o.status?.succeeded ?? 0}/${o.spec?.completions ?? 1}` },
      { title: "Active", cell: (o) => o.status?.active ?? 0 },
      { title: "Failed", cell: (o) => o.status?.failed ?? 0 },
      {
        title: "Status",
        cell: (o) =>
          condition(o, "Complete")?.status === "True" ? (
            <span class="ok">Complete</span>
          ) : condition(o, "Failed")?.status === "True" ? (
            <span class="bad">Failed</span>
          ) : (
            "Running"
          ),
      },
    ],
  },
  {
    resource: "cronjobs",
    title: "CronJobs",
    apiVersion: "batch/v1",
    columns: [
      { title: "Schedule", cell: (o) => o.spec?.schedule ?? "" },
      { title: "Suspended", cell: (o) => String(Boolean(o.spec?.suspend)) },
      { title: "Active", cell: (o) => o.status?.active?.length ?? 0 },
      { title: "Last schedule", cell: (o) => o.status?.lastScheduleTime ?? "" },
    ],
  },
];

function objectPath(kind: Kind, o: KubeObject): string {
  return `${collectionPath(kind.apiVersion, kind.resource, o.metadata.namespace)}/${encodeURIComponent(o.metadata.name)}`;
}

function ScaleControl({ kind, o, onError }: { kind: Kind; o: KubeObject; onError(e: unknown): void }) {
  const [replicas, setReplicas] = useState(String(o.spec?.replicas ?? 0));
  const name = o.metadata.name;
  return (
    <form
      class="inline"
      onSubmit={(e) => {
        e.preventDefault();
        api(`${objectPath(kind, o)}/scale`, {
          method: "PATCH",
          headers: { "Content-Type": "application/merge-patch+json" },
          body: JSON.stringify({ spec: { replicas: Number(replicas) } }),
        }).then(() => onError(undefined), onError);
      }}
    >
      <label>
        <span class="sr-only">Replicas of {name}</span>
        <input
          type="number"
          min="0"
          value={replicas}
          onInput={(e) => setReplicas((e.target as HTMLInputElement).value)}
          aria-label={`Replicas of ${name}`}
        />
      </label>
      <button type="submit" aria-label={`Scale ${name}`}>
        Scale
      </button>
    </form>
  );
}

function restart(kind: Kind, o: KubeObject): Promise<Response> {
  const patch = {
    spec: {
      template: {
        metadata: { annotations: { "kubectl.kubernetes.io/restartedAt": new Date().toISOString() } },
      },
    },
  };
  return api(objectPath(kind, o), {
    method: "PATCH",
    headers: { "Content-Type": "application/merge-patch+json" },
    body: JSON.stringify(patch),
  });
}

/** The workloads page. */
export function Workloads({ namespace }: { namespace: string }) {
  const [index, setIndex] = useState(0);
  const kind = KINDS[index];
  const list = useWatchedList(collectionPath(kind.apiVersion, kind.resource, namespace));
  const [actionError, setActionError] = useState<unknown>();
  const now = useNow();
  const columns: Column<KubeObject>[] = [
    { title: "Name", cell: (o) => o.metadata.name },
    ...(namespace ? [] : [{ title: "Namespace", cell: (o: KubeObject) => o.metadata.namespace }]),
    ...kind.columns,
    { title: "Age", cell: (o) => age(o.metadata.creationTimestamp, now) },
  ];
  if (kind.scalable || kind.restartable)
    columns.push({
      title: "Actions",
      cell: (o) => (
        <span class="actions">
          {kind.scalable && <ScaleControl key={o.metadata.uid} kind={kind} o={o} onError={setActionError} />}
          {kind.restartable && (
            <button
              type="button"
              aria-label={`Restart ${o.metadata.name}`}
              onClick={() => restart(kind, o).then(() => setActionError(undefined), setActionError)}
            >
              Restart
            </button>
          )}
        </span>
      ),
    });
  return (
    <Page title="Workloads">
      <div role="tablist" aria-label="Workload kinds" class="tabs">
        {KINDS.map((k, i) => (
          <button
            type="button"
            role="tab"
            key={k.resource}
            aria-selected={i === index}
            tabIndex={i === index ? 0 : -1}
            onClick={() => setIndex(i)}
            onKeyDown={(e) => {
              const step = e.key === "ArrowRight" ? 1 : e.key === "ArrowLeft" ? -1 : 0;
              if (!step) return;
              const next = (i + step + KINDS.length) % KINDS.length;
              setIndex(next);
              (
                (e.currentTarget as HTMLElement).parentElement?.children[next] as HTMLElement | undefined
              )?.focus();
            }}
          >
            {k.title}
          </button>
        ))}
      </div>
      <div role="tabpanel" aria-label={kind.title}>
        <ErrorBanner error={list.error ?? actionError} />
        <DataTable
          caption={kind.title}
          columns={columns}
          rows={list.items}
          rowKey={(o) => `${o.metadata.namespace}/${o.metadata.name}`}
          loaded={list.loaded}
        />
      </div>
    </Page>
  );
}
