import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import type { Job } from "../job/index.ts";
import { type CronJob, reconcileCronJob } from "./index.ts";
import { lastBetween, nextAfter, parseCron } from "./schedule.ts";

const at = (iso: string) => new Date(iso);

describe("cron schedules", () => {
  it("parses fields, steps, ranges, names and macros", () => {
    const c = parseCron("*/15 9-17 * * mon-fri");
    expect(nextAfter(c, at("2026-01-02T17:50:00Z"))?.toISOString()).toBe("2026-01-05T09:00:00.000Z");
    expect(nextAfter(parseCron("@hourly"), at("2026-01-01T10:30:00Z"))?.toISOString()).toBe(
      "2026-01-01T11:00:00.000Z",
    );
    expect(nextAfter(parseCron("0 0 1 jun *"), at("2026-01-01T00:00:00Z"))?.toISOString()).toBe(
      "2026-06-01T00:00:00.000Z",
    );
    expect(
      lastBetween(
        parseCron("*/5 * * * *"),
        at("2026-01-01T00:00:00Z"),
        at("2026-01-01T00:17:00Z"),
      )?.toISOString(),
    ).toBe("2026-01-01T00:15:00.000Z");
    expect(() => parseCron("61 * * * *")).toThrow(/out of range/);
    expect(() => parseCron("* * *")).toThrow(/5 fields/);
  });
});

function cronJob(spec: Partial<CronJob["spec"]> = {}): CronJob {
  return {
    apiVersion: "batch/v1",
    kind: "CronJob",
    metadata: {
      name: "tick",
      namespace: "default",
      uid: "cj-uid",
      creationTimestamp: "2026-01-01T00:00:00Z",
    },
    spec: {
      schedule: "*/5 * * * *",
      jobTemplate: {
        spec: { template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "x" }] } } },
      },
      ...spec,
    },
  };
}

describe("cronjob controller", () => {
  it("creates a Job per scheduled time, named after it, and asks to be woken for the next", async () => {
    const client = new FakeClient([{ ref: R.cronjobs, objects: [cronJob()] }]);
    const early = await reconcileCronJob("default/tick", testDeps(client, at("2026-01-01T00:03:00Z")));
    expect(client.writes).toEqual([]);
    expect(early).toEqual({ requeueAfterMs: 120_000 });
    await reconcileCronJob("default/tick", testDeps(client, at("2026-01-01T00:05:10Z")));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.name}`)).toEqual([
      `create jobs tick-${Date.parse("2026-01-01T00:05:00Z") / 60_000}`,
      "update cronjobs tick",
    ]);
    const cj = client.all<CronJob>(R.cronjobs)[0];
    expect(cj.status?.lastScheduleTime).toBe("2026-01-01T00:05:00Z");
    expect(cj.status?.active).toHaveLength(1);
    await reconcileCronJob("default/tick", testDeps(client, at("2026-01-01T00:06:00Z")));
    expect(client.writesOf("jobs", "create")).toHaveLength(1);
  });

  it("Forbid skips a run while one is active; Replace deletes it first", async () => {
    for (const policy of ["Forbid", "Replace"] as const) {
      const client = new FakeClient([{ ref: R.cronjobs, objects: [cronJob({ concurrencyPolicy: policy })] }]);
      await reconcileCronJob("default/tick", testDeps(client, at("2026-01-01T00:05:00Z")));
      await reconcileCronJob("default/tick", testDeps(client, at("2026-01-01T00:10:00Z")));
      const jobs = client.writesOf("jobs").map((w) => w.verb);
      expect(jobs).toEqual(policy === "Forbid" ? ["create"] : ["create", "delete", "create"]);
    }
  });

  it("prunes finished Jobs beyond the history limits", async () => {
    const owner = { apiVersion: "batch/v1", kind: "CronJob", name: "tick", uid: "cj-uid", controller: true };
    const done = (n: number, type: "Complete" | "Failed"): Job => ({
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: {
        name: `old-${n}`,
        namespace: "default",
        ownerReferences: [owner],
        creationTimestamp: `2026-01-01T00:0${n}:00Z`,
      },
      spec: { template: { spec: { containers: [] } } },
      status: { conditions: [{ type, status: "True" }] },
    });
    const client = new FakeClient([
      {
        ref: R.cronjobs,
        objects: [cronJob({ suspend: true, successfulJobsHistoryLimit: 1, failedJobsHistoryLimit: 1 })],
      },
      {
        ref: R.jobs,
        objects: [done(1, "Complete"), done(2, "Complete"), done(3, "Failed"), done(4, "Failed")],
      },
    ]);
    await reconcileCronJob("default/tick", testDeps(client, at("2026-01-01T00:09:00Z")));
    expect(client.writesOf("jobs", "delete").map((w) => w.name)).toEqual(["old-1", "old-3"]);
  });
});
