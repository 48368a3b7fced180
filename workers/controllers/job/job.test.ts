import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { findCondition, type Pod } from "../../reconcile/k8s.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { type Job, reconcileJob } from "./index.ts";

function job(spec: Partial<Job["spec"]> = {}): Job {
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name: "pi", namespace: "default", uid: "job-uid", generation: 1 },
    spec: {
      template: { spec: { restartPolicy: "Never", containers: [{ name: "c", image: "perl" }] } },
      ...spec,
    },
  };
}

const finish = (client: FakeClient, phase: "Succeeded" | "Failed", count = Infinity) => {
  let n = 0;
  for (const p of client.all<Pod>(R.pods)) {
    if (n >= count || p.status?.phase) continue;
    p.status = { phase };
    client.put(R.pods, p);
    n++;
  }
};
const at = (s: number) => new Date(Date.parse("2026-01-01T00:00:00Z") + s * 1000);
const theJob = (client: FakeClient) => client.all<Job>(R.jobs)[0];

describe("job controller", () => {
  it("runs parallelism pods at a time until completions succeed, then is Complete", async () => {
    const client = new FakeClient([{ ref: R.jobs, objects: [job({ completions: 3, parallelism: 2 })] }]);
    await reconcileJob("default/pi", testDeps(client, at(0)));
    expect(client.writes.map((w) => `${w.verb} ${w.resource}`)).toEqual([
      "create pods",
      "create pods",
      "update jobs",
    ]);
    const p = client.all<Pod>(R.pods)[0];
    expect(p.metadata.labels).toMatchObject({
      "job-name": "pi",
      "batch.kubernetes.io/controller-uid": "job-uid",
    });
    expect(p.metadata.ownerReferences?.[0]).toMatchObject({ kind: "Job", uid: "job-uid", controller: true });
    expect(theJob(client).status).toMatchObject({ startTime: "2026-01-01T00:00:00Z", active: 0 });

    finish(client, "Succeeded");
    await reconcileJob("default/pi", testDeps(client, at(5)));
    expect(client.all<Pod>(R.pods)).toHaveLength(3);
    finish(client, "Succeeded");
    await reconcileJob("default/pi", testDeps(client, at(9)));
    const status = theJob(client).status;
    expect(status).toMatchObject({
      succeeded: 3,
      failed: 0,
      active: 0,
      completionTime: "2026-01-01T00:00:09Z",
    });
    expect(findCondition(status?.conditions, "Complete")?.status).toBe("True");
    const writes = client.writes.length;
    await reconcileJob("default/pi", testDeps(client, at(10)));
    expect(client.writes.length).toBe(writes);
  });

  it("fails after backoffLimit failed pods", async () => {
    const client = new FakeClient([{ ref: R.jobs, objects: [job({ backoffLimit: 1 })] }]);
    for (let i = 0; i < 2; i++) {
      await reconcileJob("default/pi", testDeps(client, at(i)));
      finish(client, "Failed");
    }
    await reconcileJob("default/pi", testDeps(client, at(3)));
    expect(findCondition(theJob(client).status?.conditions, "Failed")).toMatchObject({
      status: "True",
      reason: "BackoffLimitExceeded",
    });
    expect(theJob(client).status?.failed).toBe(2);
  });

  it("fails on activeDeadlineSeconds, deleting running pods", async () => {
    const client = new FakeClient([{ ref: R.jobs, objects: [job({ activeDeadlineSeconds: 30 })] }]);
    const first = await reconcileJob("default/pi", testDeps(client, at(0)));
    expect(first?.requeueAfterMs).toBe(30_000);
    await reconcileJob("default/pi", testDeps(client, at(31)));
    expect(client.writesOf("pods", "delete")).toHaveLength(1);
    expect(findCondition(theJob(client).status?.conditions, "Failed")?.reason).toBe("DeadlineExceeded");
  });

  it("deletes a finished Job after ttlSecondsAfterFinished", async () => {
    const client = new FakeClient([{ ref: R.jobs, objects: [job({ ttlSecondsAfterFinished: 60 })] }]);
    await reconcileJob("default/pi", testDeps(client, at(0)));
    finish(client, "Succeeded");
    await reconcileJob("default/pi", testDeps(client, at(1)));
    expect(await reconcileJob("default/pi", testDeps(client, at(30)))).toEqual({ requeueAfterMs: 31_000 });
    await reconcileJob("default/pi", testDeps(client, at(61)));
    expect(client.writesOf("jobs", "delete")).toHaveLength(1);
    expect(client.all(R.jobs)).toHaveLength(0);
  });
});
