/** apps/v1 and batch/v1: registry-tester examples and strategy unit tests. */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import type { RequestContext } from "../registry/types.ts";
import { testServer } from "../testing/fixture.ts";
import { findResource, RESOURCES } from "./index.ts";

// Strategies through their table rows, as the registry calls them: the fixtures are request bodies (KubeObject).
const cronJobStrategy = findResource("batch", "cronjobs")!.strategy;
const deploymentStrategy = findResource("apps", "deployments")!.strategy;
const jobStrategy = findResource("batch", "jobs")!.strategy;

const now = new Date("2024-01-01T00:00:00Z");
const ctx: RequestContext = { user: "admin", groups: [], now, dryRun: false };
const template = (labels: Record<string, string>, restartPolicy?: string) => ({
  metadata: { labels },
  spec: { ...(restartPolicy ? { restartPolicy } : {}), containers: [{ name: "app", image: "nginx:1.25" }] },
});
const obj = (kind: string, name: string, spec: Record<string, unknown>): KubeObject => ({
  kind,
  metadata: { name },
  spec,
});

runRegistryTester(
  findResource("apps", "deployments")!,
  {
    valid: [
      obj("Deployment", "web", {
        replicas: 3,
        selector: { matchLabels: { app: "web" } },
        template: template({ app: "web" }),
      }),
      obj("Deployment", "recreate", {
        selector: { matchExpressions: [{ key: "app", operator: "In", values: ["r"] }] },
        strategy: { type: "Recreate" },
        template: template({ app: "r" }),
      }),
    ],
    invalid: [
      {
        object: obj("Deployment", "mismatch", {
          replicas: -1,
          selector: { matchLabels: { app: "a" } },
          template: template({ app: "b" }, "Never"),
        }),
        fields: ["spec.replicas", "spec.template.metadata.labels", "spec.template.spec.restartPolicy"],
      },
      {
        object: obj("Deployment", "noselector", {
          template: template({ app: "x" }),
          strategy: { type: "Recreate", rollingUpdate: { maxSurge: 1 } },
        }),
        fields: ["spec.selector", "spec.strategy.rollingUpdate"],
      },
      {
        object: obj("Deployment", "badsurge", {
          selector: { matchLabels: { app: "x" } },
          template: template({ app: "x" }),
          strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: "150%", maxUnavailable: "x" } },
        }),
        fields: ["spec.strategy.rollingUpdate.maxSurge", "spec.strategy.rollingUpdate.maxUnavailable"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("apps", "replicasets")!,
  {
    valid: [
      obj("ReplicaSet", "web-abc", {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: template({ app: "web" }),
      }),
    ],
    invalid: [
      {
        object: obj("ReplicaSet", "bad", {
          selector: { matchLabels: { app: "web" } },
          template: { metadata: { labels: { app: "web" } }, spec: { containers: [] } },
        }),
        fields: ["spec.template.spec.containers"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("apps", "statefulsets")!,
  {
    valid: [
      obj("StatefulSet", "db", {
        serviceName: "db",
        selector: { matchLabels: { app: "db" } },
        template: template({ app: "db" }),
      }),
      // Containers may mount a volumeClaimTemplate by name: each pod gets that volume.
      obj("StatefulSet", "data", {
        selector: { matchLabels: { app: "db" } },
        template: {
          metadata: { labels: { app: "db" } },
          spec: {
            containers: [{ name: "app", image: "pg:1", volumeMounts: [{ name: "data", mountPath: "/d" }] }],
          },
        },
        volumeClaimTemplates: [
          {
            metadata: { name: "data" },
            spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
          },
        ],
      }),
    ],
    invalid: [
      {
        object: obj("StatefulSet", "bad", {
          selector: { matchLabels: { app: "db" } },
          template: template({ app: "db" }),
          podManagementPolicy: "Random",
        }),
        fields: ["spec.podManagementPolicy"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("apps", "daemonsets")!,
  {
    valid: [
      obj("DaemonSet", "agent", {
        selector: { matchLabels: { app: "agent" } },
        template: template({ app: "agent" }),
      }),
    ],
    invalid: [
      {
        object: obj("DaemonSet", "bad", {
          selector: { matchLabels: { app: "agent" } },
          template: template({ app: "agent" }),
          updateStrategy: { type: "Sometimes" },
        }),
        fields: ["spec.updateStrategy.type"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("batch", "jobs")!,
  {
    valid: [
      obj("Job", "pi", { template: template({}, "Never") }),
      obj("Job", "indexed", {
        completionMode: "Indexed",
        completions: 3,
        parallelism: 3,
        template: template({}, "OnFailure"),
      }),
    ],
    invalid: [
      {
        object: obj("Job", "always", { template: template({}, "Always"), backoffLimit: -1 }),
        fields: ["spec.template.spec.restartPolicy", "spec.backoffLimit"],
      },
      {
        object: obj("Job", "norestart", { template: template({}) }),
        fields: ["spec.template.spec.restartPolicy"],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("batch", "cronjobs")!,
  {
    valid: [
      obj("CronJob", "nightly", {
        schedule: "0 3 * * *",
        jobTemplate: { spec: { template: template({}, "OnFailure") } },
      }),
      obj("CronJob", "every", {
        schedule: "@every 1h30m",
        timeZone: "Etc/UTC",
        jobTemplate: { spec: { template: template({}, "Never") } },
      }),
    ],
    invalid: [
      {
        object: obj("CronJob", "bad", {
          schedule: "61 * * * *",
          concurrencyPolicy: "Sometimes",
          jobTemplate: { spec: { template: template({}, "Always") } },
        }),
        fields: [
          "spec.schedule",
          "spec.concurrencyPolicy",
          "spec.jobTemplate.spec.template.spec.restartPolicy",
        ],
      },
      {
        object: obj("CronJob", "x".repeat(53), {
          schedule: "TZ=UTC 0 * * * *",
          jobTemplate: { spec: { template: template({}, "Never") } },
        }),
        fields: ["metadata.name", "spec.schedule"],
      },
    ],
  },
  RESOURCES,
);

describe("deployment strategy", () => {
  it("defaults replicas, rolling update 25%/25%, history and deadline", () => {
    const d = obj("Deployment", "d", {
      selector: { matchLabels: { a: "b" } },
      template: template({ a: "b" }),
    });
    deploymentStrategy.defaults?.(d);
    expect(d.spec).toMatchObject({
      replicas: 1,
      strategy: { type: "RollingUpdate", rollingUpdate: { maxUnavailable: "25%", maxSurge: "25%" } },
      revisionHistoryLimit: 10,
      progressDeadlineSeconds: 600,
      template: { spec: { restartPolicy: "Always", dnsPolicy: "ClusterFirst" } },
    });
  });

  it("keeps the selector immutable and status out of main updates", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const path = "/apis/apps/v1/namespaces/default/deployments";
    const created = await call(
      "POST",
      path,
      obj("Deployment", "web", {
        selector: { matchLabels: { app: "web" } },
        template: template({ app: "web" }),
      }),
    );
    expect(created.status, created.text).toBe(201);
    expect(created.body.metadata?.generation).toBe(1);
    const changed = structuredClone(created.body);
    (changed.spec as { selector: unknown }).selector = { matchLabels: { app: "web", v: "2" } };
    (changed.spec as { template: { metadata: { labels: unknown } } }).template.metadata.labels = {
      app: "web",
      v: "2",
    };
    const rejected = await call("PUT", `${path}/web`, changed);
    expect(rejected.status).toBe(422);
    expect((rejected.body.details as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual([
      "spec.selector",
    ]);
    const scaled = structuredClone(created.body);
    (scaled.spec as { replicas: number }).replicas = 5;
    scaled.status = { replicas: 99 };
    const ok = await call("PUT", `${path}/web`, scaled);
    expect(ok.body.metadata?.generation).toBe(2);
    expect(ok.body.status).toBeUndefined();
    const table = await call("GET", path, undefined, {
      Accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    const columns = (table.body.columnDefinitions as { name: string; priority: number }[]).map(
      (c) => `${c.name}:${c.priority}`,
    );
    expect(columns).toEqual([
      "Name:0",
      "Ready:0",
      "Up-to-date:0",
      "Available:0",
      "Age:0",
      "Containers:1",
      "Images:1",
      "Selector:1",
    ]);
    expect((table.body.rows as { cells: unknown[] }[])[0].cells.slice(0, 4)).toEqual(["web", "0/5", 0, 0]);
    expect((table.body.rows as { cells: unknown[] }[])[0].cells.slice(5)).toEqual([
      "app",
      "nginx:1.25",
      "app=web",
    ]);
  });

  it("serves the scale subresource from spec.replicas", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const path = "/apis/apps/v1/namespaces/default/deployments";
    await call(
      "POST",
      path,
      obj("Deployment", "web", {
        replicas: 2,
        selector: { matchLabels: { app: "web" } },
        template: template({ app: "web" }),
      }),
    );
    const scale = await call("GET", `${path}/web/scale`);
    expect(scale.body).toMatchObject({
      kind: "Scale",
      spec: { replicas: 2 },
      status: { selector: "app=web" },
    });
  });
});

describe("job strategy", () => {
  it("defaults and generates the selector and pod labels from the uid", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const created = await call(
      "POST",
      "/apis/batch/v1/namespaces/default/jobs",
      obj("Job", "pi", { template: template({}, "Never") }),
    );
    expect(created.status, created.text).toBe(201);
    const uid = created.body.metadata?.uid as string;
    expect(created.body.spec).toMatchObject({
      completions: 1,
      parallelism: 1,
      backoffLimit: 6,
      completionMode: "NonIndexed",
      suspend: false,
      selector: { matchLabels: { "batch.kubernetes.io/controller-uid": uid } },
      template: {
        metadata: {
          labels: { "batch.kubernetes.io/job-name": "pi", "job-name": "pi", "controller-uid": uid },
        },
      },
    });
    const changed = structuredClone(created.body);
    (
      changed.spec as { template: { spec: { containers: { image: string }[] } } }
    ).template.spec.containers[0].image = "other";
    const rejected = await call("PUT", `/apis/batch/v1/namespaces/default/jobs/pi`, changed);
    expect((rejected.body.details as { causes: { field: string }[] }).causes.map((c) => c.field)).toEqual([
      "spec.template",
    ]);
  });

  it("prints STATUS COMPLETIONS DURATION", () => {
    const job = obj("Job", "j", { completions: 3, parallelism: 1 });
    job.metadata!.creationTimestamp = "2023-12-31T23:00:00Z";
    job.status = {
      succeeded: 3,
      startTime: "2023-12-31T23:00:00Z",
      completionTime: "2023-12-31T23:02:05Z",
      conditions: [{ type: "Complete", status: "True" }],
    };
    expect(jobStrategy.row(job, now).slice(0, 4)).toEqual(["Complete", "3/3", "2m5s", "60m"]);
    const running = obj("Job", "r", { parallelism: 2 });
    running.status = { succeeded: 0, startTime: "2023-12-31T23:59:00Z" };
    expect(jobStrategy.row(running, now).slice(0, 3)).toEqual(["Running", "0/1 of 2", "60s"]);
    expect(jobStrategy.fieldSelectors?.["status.successful"](job)).toBe("3");
  });
});

describe("cronjob strategy", () => {
  it("defaults policies and history limits, and prints the schedule", () => {
    const cj = obj("CronJob", "c", {
      schedule: "*/5 * * * *",
      jobTemplate: { spec: { template: template({}, "OnFailure") } },
    });
    cronJobStrategy.defaults?.(cj);
    expect(cj.spec).toMatchObject({
      concurrencyPolicy: "Allow",
      suspend: false,
      successfulJobsHistoryLimit: 3,
      failedJobsHistoryLimit: 1,
    });
    expect(cronJobStrategy.validate(cj, ctx)).toEqual([]);
    cj.metadata!.creationTimestamp = "2023-12-31T23:59:00Z";
    cj.status = { active: [{ name: "c-1" }], lastScheduleTime: "2023-12-31T23:59:30Z" };
    expect(cronJobStrategy.row(cj, now)).toEqual([
      "*/5 * * * *",
      "<none>",
      "False",
      1,
      "30s",
      "60s",
      "app",
      "nginx:1.25",
      "<none>",
    ]);
  });
});

runRegistryTester(
  findResource("apps", "controllerrevisions")!,
  {
    valid: [{ metadata: { name: "ds-1" }, revision: 1, data: { spec: { template: {} } } }],
    invalid: [{ object: { metadata: { name: "rev" }, revision: -1 }, fields: ["revision"] }],
  },
  RESOURCES,
);
