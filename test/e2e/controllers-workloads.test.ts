/**
 * Jobs and node failure end to end: a Job runs to Complete and
 * `kubectl wait --for=condition=complete` returns; a simulated node that
 * stops renewing its Lease goes NotReady (short grace period configured) and
 * its pods are replaced on the other nodes.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import type { Node, Pod } from "../../workers/reconcile/k8s.ts";
import { type Cluster, startCluster, waitFor } from "./controllers-harness.ts";

let cluster: Cluster;

beforeAll(async () => {
  // Node failure within seconds: 3 s without a Lease renewal; pods tolerate it for 2 s.
  cluster = await startCluster({
    nodes: 3,
    env: { NODE_MONITOR_GRACE_PERIOD: "3", POD_EVICTION_TIMEOUT: "2" },
    sim: { renewIntervalMs: 500, leaseDurationSeconds: 3 },
  });
});

afterAll(async () => {
  await cluster?.stop();
});

describe("workloads with kubectl", () => {
  it("runs a Job to completion and kubectl wait --for=condition=complete returns", async () => {
    await cluster.kubectl(["create", "job", "pi", "--image=perl", "--", "perl", "-e", "print 3.14"]);
    await cluster.kubectl(["patch", "job", "pi", "--type=merge", "-p", '{"spec":{"parallelism":1}}']);
    const out = await cluster.kubectl(["wait", "--for=condition=complete", "job/pi", "--timeout=60s"]);
    expect(out).toContain("job.batch/pi condition met");
    const job = JSON.parse(await cluster.kubectl(["get", "job", "pi", "-o", "json"]));
    expect(job.status).toMatchObject({ succeeded: 1, failed: 0 });
    expect(job.status.startTime).toBeTruthy();
    expect(job.status.completionTime).toBeTruthy();
    const pods = (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: "job-name=pi" })).items;
    expect(pods.map((p) => p.status?.phase)).toEqual(["Succeeded"]);
  }, 90_000);

  it("a failing Job stops at backoffLimit with condition Failed", async () => {
    const job = {
      apiVersion: "batch/v1",
      kind: "Job",
      metadata: { name: "broken" },
      spec: {
        backoffLimit: 1,
        template: {
          spec: { restartPolicy: "Never", containers: [{ name: "c", image: "busybox", command: ["false"] }] },
        },
      },
    };
    await cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(job) });
    const out = await cluster.kubectl(["wait", "--for=condition=failed", "job/broken", "--timeout=60s"]);
    expect(out).toContain("condition met");
    const status = JSON.parse(await cluster.kubectl(["get", "job", "broken", "-o", "json"])).status;
    expect(status.failed).toBe(2);
    expect(status.conditions).toContainEqual(
      expect.objectContaining({ type: "Failed", reason: "BackoffLimitExceeded" }),
    );
  }, 90_000);

  it("deleting a namespace empties it and removes it; new namespaces get a default ServiceAccount", async () => {
    await cluster.kubectl(["create", "namespace", "team"]);
    await waitFor("default ServiceAccount in team", async () =>
      (await cluster.client.get(R.serviceaccounts, "team", "default").catch(() => undefined))
        ? true
        : undefined,
    );
    await cluster.kubectl(["-n", "team", "create", "deployment", "web", "--image=nginx", "--replicas=2"]);
    await cluster.kubectl(["-n", "team", "rollout", "status", "deployment/web", "--timeout=60s"]);
    await cluster.kubectl(["delete", "namespace", "team", "--wait=false"]);
    await waitFor(
      "namespace team gone",
      async () => {
        const r = await cluster.cp.kubectl(["get", "namespace", "team"]);
        return r.code !== 0 && r.stderr.includes("NotFound") ? true : undefined;
      },
      60_000,
    );
    const pods = await cluster.client.list(R.pods, "team");
    expect(pods.items).toHaveLength(0);
  }, 90_000);

  it("replaces the pods of a node that stops heartbeating", async () => {
    // The API server adds the default 300 s not-ready/unreachable tolerations (DefaultTolerationSeconds);
    // a short explicit toleration is how a workload asks to be moved sooner.
    const tolerations = ["unreachable", "not-ready"].map((k) => ({
      key: `node.kubernetes.io/${k}`,
      operator: "Exists",
      effect: "NoExecute",
      tolerationSeconds: 2,
    }));
    const deployment = {
      apiVersion: "apps/v1",
      kind: "Deployment",
      metadata: { name: "app" },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: "app" } },
        template: {
          metadata: { labels: { app: "app" } },
          spec: { tolerations, containers: [{ name: "nginx", image: "nginx" }] },
        },
      },
    };
    await cluster.kubectl(["apply", "-f", "-"], { input: JSON.stringify(deployment) });
    await cluster.kubectl(["rollout", "status", "deployment/app", "--timeout=60s"]);
    const before = (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: "app=app" })).items;
    const victim = before[0].spec.nodeName!;
    cluster.sim.stopNode(victim);

    const node = await waitFor(
      `${victim} Ready=Unknown and tainted`,
      async () => {
        const n = await cluster.client.get<Node>(R.nodes, undefined, victim);
        const ready = n.status?.conditions?.find((c) => c.type === "Ready");
        const tainted = n.spec?.taints?.some(
          (t) => t.key === "node.kubernetes.io/unreachable" && t.effect === "NoExecute",
        );
        return ready?.status === "Unknown" && tainted ? n : undefined;
      },
      30_000,
    );
    expect(node.spec?.taints?.map((t) => `${t.key}:${t.effect}`)).toEqual([
      "node.kubernetes.io/unreachable:NoSchedule",
      "node.kubernetes.io/unreachable:NoExecute",
    ]);
    const nodes = await cluster.kubectl(["get", "nodes"]);
    // kube-apiserver prints NotReady for Ready=Unknown; the column itself belongs to the Node strategy.
    expect(nodes).toMatch(new RegExp(`${victim}\\s+(NotReady|Unknown)`));

    const after = await waitFor(
      "3 running pods, none on the dead node",
      async () => {
        const pods = (await cluster.client.list<Pod>(R.pods, "default", { labelSelector: "app=app" })).items;
        const running = pods.filter((p) => p.status?.phase === "Running" && !p.metadata.deletionTimestamp);
        return running.length === 3 && running.every((p) => p.spec.nodeName !== victim) ? running : undefined;
      },
      45_000,
    );
    expect(after).toHaveLength(3);
    await cluster.kubectl(["rollout", "status", "deployment/app", "--timeout=60s"]);
  }, 120_000);
});
