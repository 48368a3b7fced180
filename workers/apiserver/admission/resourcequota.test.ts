/** ResourceQuota kind and admission plugin, through the API server in workerd. */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { KubeObject } from "../../client/kube.ts";
import { findResource, RESOURCES } from "../kinds/index.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { testServer } from "../testing/fixture.ts";

const QUOTAS = "/api/v1/namespaces/default/resourcequotas";
const PODS = "/api/v1/namespaces/default/pods";
const CMS = "/api/v1/namespaces/default/configmaps";
type Call = ReturnType<typeof testServer>["call"];

const quota = (name: string, spec: Record<string, unknown>): KubeObject => ({
  apiVersion: "v1",
  kind: "ResourceQuota",
  metadata: { name },
  spec,
});

runRegistryTester(
  findResource("", "resourcequotas")!,
  {
    valid: [quota("compute", { hard: { pods: "10", "requests.cpu": "2", "limits.memory": "4Gi" } })],
    invalid: [
      {
        object: quota("bad", {
          hard: { pods: "1.5", "requests.cpu": "-1", "count/deployments.apps": "x" },
          scopes: ["Sometimes"],
        }),
        fields: [
          "spec.hard[pods]",
          "spec.hard[requests.cpu]",
          "spec.hard[count/deployments.apps]",
          "spec.scopes[0]",
        ],
      },
    ],
  },
  RESOURCES,
);

/** A quota whose status the quota controller has filled (hard = spec.hard, used as given). */
async function quotaWithStatus(
  call: Call,
  name: string,
  hard: Record<string, string>,
  used: Record<string, string>,
) {
  const created = await call("POST", QUOTAS, quota(name, { hard }));
  expect(created.status, created.text).toBe(201);
  const put = await call("PUT", `${QUOTAS}/${name}/status`, { ...created.body, status: { hard, used } });
  expect(put.status, put.text).toBe(200);
}

const pod = (name: string, cpu?: string) => ({
  metadata: { name },
  spec: {
    containers: [
      { name: "web", image: "nginx", ...(cpu ? { resources: { requests: { cpu }, limits: { cpu } } } : {}) },
    ],
  },
});

describe("ResourceQuota admission", () => {
  it("charges each create to status.used and refuses the one that would exceed, with kube's message", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await quotaWithStatus(
      call,
      "compute",
      { pods: "2", "requests.cpu": "1" },
      { pods: "0", "requests.cpu": "0" },
    );
    expect((await call("POST", PODS, pod("a", "600m"))).status).toBe(201);
    const used = ((await call("GET", `${QUOTAS}/compute`)).body.status as { used: Record<string, string> })
      .used;
    expect(used).toEqual({ pods: "1", "requests.cpu": "600m" });
    const refused = await call("POST", PODS, pod("b", "500m"));
    expect(refused.status).toBe(403);
    expect(refused.body.reason).toBe("Forbidden");
    expect(refused.body.message).toBe(
      'pods "b" is forbidden: exceeded quota: compute, requested: requests.cpu=500m, used: requests.cpu=600m, limited: requests.cpu=1',
    );
    expect((await call("POST", PODS, pod("c", "400m"))).status).toBe(201);
    const table = await call("GET", QUOTAS, undefined, {
      Accept: "application/json;as=Table;v=v1;g=meta.k8s.io",
    });
    expect((table.body.columnDefinitions as { name: string }[]).map((c) => c.name)).toEqual([
      "Name",
      "Age",
      "Request",
      "Limit",
    ]);
    expect((table.body.rows as { cells: unknown[] }[])[0].cells.slice(2)).toEqual([
      "pods: 2/2, requests.cpu: 1/1",
      "",
    ]);
  });

  it("requires cpu on every container when a quota tracks it (kube's must specify)", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await quotaWithStatus(
      call,
      "compute",
      { "limits.cpu": "2", "requests.memory": "1Gi" },
      { "limits.cpu": "0", "requests.memory": "0" },
    );
    const refused = await call("POST", PODS, pod("bare"));
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe(
      'pods "bare" is forbidden: failed quota: compute: must specify limits.cpu for: web; requests.memory for: web',
    );
  });

  it("counts object counts (configmaps, count/configmaps) and ignores a quota with no status yet", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await call("POST", QUOTAS, quota("fresh", { hard: { configmaps: "0" } }));
    expect((await call("POST", CMS, { metadata: { name: "one" } })).status).toBe(201);
    await quotaWithStatus(call, "objects", { "count/configmaps": "1" }, { "count/configmaps": "1" });
    const refused = await call("POST", CMS, { metadata: { name: "two" } });
    expect(refused.status).toBe(403);
    expect(refused.body.message).toBe(
      'configmaps "two" is forbidden: exceeded quota: objects, requested: count/configmaps=1, used: count/configmaps=1, limited: count/configmaps=1',
    );
  });

  it("lets concurrent creates through only up to the quota (compare-and-set on status.used)", async () => {
    // Every create reads the quota before any of them charges it: only the compare-and-set keeps them honest.
    const store = new MemoryStore();
    const read = store.get.bind(store);
    let gate: (() => void)[] | undefined;
    store.get = async (key, revision) => {
      const waiting = gate;
      if (waiting && key.includes("/resourcequotas/"))
        await new Promise<void>((release) => {
          waiting.push(release);
          if (waiting.length < 8) return;
          gate = undefined;
          for (const r of waiting) r();
        });
      return read(key, revision);
    };
    const { call } = testServer({ resources: RESOURCES, store });
    await quotaWithStatus(call, "three", { pods: "3" }, { pods: "0" });
    gate = [];
    const results = await Promise.all(Array.from({ length: 8 }, (_, i) => call("POST", PODS, pod(`p${i}`))));
    expect(results.filter((r) => r.status === 201)).toHaveLength(3);
    expect(results.filter((r) => r.status === 403)).toHaveLength(5);
    const used = ((await call("GET", `${QUOTAS}/three`)).body.status as { used: Record<string, string> })
      .used;
    expect(used).toEqual({ pods: "3" });
  });

  it("charges a Service update what it adds (a type change to NodePort), and nothing for an unchanged one", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await quotaWithStatus(call, "ports", { "services.nodeports": "0" }, { "services.nodeports": "0" });
    const SVCS = "/api/v1/namespaces/default/services";
    const created = await call("POST", SVCS, { metadata: { name: "web" }, spec: { ports: [{ port: 80 }] } });
    expect(created.status, created.text).toBe(201);
    const relabel = await call("PUT", `${SVCS}/web`, {
      ...created.body,
      metadata: { ...created.body.metadata, labels: { a: "b" } },
    });
    expect(relabel.status, relabel.text).toBe(200);
    const nodePort = await call("PUT", `${SVCS}/web`, {
      ...relabel.body,
      spec: { ...(relabel.body.spec as object), type: "NodePort" },
    });
    expect(nodePort.status).toBe(403);
    expect(nodePort.body.message).toBe(
      'services "web" is forbidden: exceeded quota: ports, requested: services.nodeports=1, used: services.nodeports=0, limited: services.nodeports=0',
    );
  });

  it("checks but does not charge a dry-run create", async () => {
    const { call } = testServer({ resources: RESOURCES });
    await quotaWithStatus(call, "one", { pods: "1" }, { pods: "0" });
    expect((await call("POST", `${PODS}?dryRun=All`, pod("dry"))).status).toBe(201);
    const used = ((await call("GET", `${QUOTAS}/one`)).body.status as { used: Record<string, string> }).used;
    expect(used).toEqual({ pods: "0" });
  });
});
