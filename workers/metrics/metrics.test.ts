/**
 * Resource metrics through the whole Worker in workerd: a node pushes its
 * sample (POST /edgeplane/v1/metrics/<node>, kept by the MetricsObject), and
 * metrics.k8s.io serves it as NodeMetrics/PodMetrics joined with the Node and
 * Pod objects, as `kubectl top` reads them.
 */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { NodeSample } from "../client/metrics-sample.ts";

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };
const BASE = "https://edgeplane.test";
const METRICS = `${BASE}/apis/metrics.k8s.io/v1beta1`;

async function create(path: string, body: object): Promise<{ metadata: { uid: string } }> {
  const response = await SELF.fetch(`${BASE}${path}`, {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(201);
  return response.json();
}

/** A bootstrap token bound to `node`, as `edgeplane token create --node` writes it. */
async function nodeToken(id: string, node: string): Promise<string> {
  const secret = "0123456789abcdef";
  await create("/api/v1/namespaces/kube-system/secrets", {
    metadata: { name: `bootstrap-token-${id}` },
    type: "bootstrap.kubernetes.io/token",
    stringData: {
      "token-id": id,
      "token-secret": secret,
      "usage-bootstrap-authentication": "true",
      expiration: "2099-01-01T00:00:00Z",
      "node-name": node,
    },
  });
  return `${id}.${secret}`;
}

function push(node: string, token: string, body: unknown): Promise<Response> {
  return SELF.fetch(`${BASE}/edgeplane/v1/metrics/${node}`, {
    method: "POST",
    headers: { Authorization: `Bearer ${token}`, "Content-Type": "application/json" },
    body: typeof body === "string" ? body : JSON.stringify(body),
  });
}

/** The fields of the answers this test reads (metrics objects, lists, tables, Status). */
interface Answer {
  kind: string;
  items: { metadata: { name: string; namespace?: string } }[];
  resources: { name: string; kind: string; verbs: string[] }[];
  rows: { cells: unknown[] }[];
  usage: { cpu: string };
}

async function get(url: string, accept = "application/json"): Promise<{ status: number; body: Answer }> {
  const response = await SELF.fetch(url, { headers: { ...ADMIN, Accept: accept } });
  return { status: response.status, body: await response.json() };
}

describe("metrics.k8s.io", () => {
  it("serves a node's pushed sample as NodeMetrics and PodMetrics, with label selectors and across namespaces", async () => {
    await create("/api/v1/nodes", { metadata: { name: "mx1", labels: { zone: "a" } } });
    await create("/api/v1/nodes", { metadata: { name: "mx2" } });
    await create("/api/v1/namespaces", { metadata: { name: "mxns" } });
    const burn = await create("/api/v1/namespaces/mxns/pods", {
      metadata: { name: "burn", labels: { app: "burn" } },
      spec: {
        nodeName: "mx1",
        containers: [
          { name: "main", image: "busybox" },
          { name: "side", image: "busybox" },
        ],
      },
    });
    const idle = await create("/api/v1/namespaces/default/pods", {
      metadata: { name: "idle", labels: { app: "idle" } },
      spec: { nodeName: "mx1", containers: [{ name: "main", image: "busybox" }] },
    });
    const sample: NodeSample = {
      timestamp: "2026-12-07T10:00:00.000Z",
      windowSeconds: 15,
      node: { cpuNanoCores: 1_250_000_000, memoryBytes: 2 * 1024 ** 3 },
      pods: [
        {
          namespace: "mxns",
          name: "burn",
          uid: burn.metadata.uid,
          containers: [
            { name: "main", cpuNanoCores: 990_000_000, memoryBytes: 1024 * 1024 },
            { name: "side", cpuNanoCores: 1_000_000, memoryBytes: 2048 },
          ],
        },
        {
          namespace: "default",
          name: "idle",
          uid: idle.metadata.uid,
          containers: [{ name: "main", cpuNanoCores: 0, memoryBytes: 4096 }],
        },
        // A pod of that name that no longer exists (recreated: other uid) is not reported.
        {
          namespace: "default",
          name: "gone",
          uid: "old-uid",
          containers: [{ name: "c", cpuNanoCores: 1, memoryBytes: 1 }],
        },
      ],
    };
    const token = await nodeToken("mx0001", "mx1");
    const pushed = await push("mx1", token, sample);
    expect(pushed.status, await pushed.clone().text()).toBe(204);

    // Discovery: kubectl top looks for the group first.
    const discovery = await get(METRICS);
    expect(discovery.status).toBe(200);
    expect(discovery.body.resources.map((r) => [r.name, r.kind, r.verbs])).toEqual([
      ["nodes", "NodeMetrics", ["get", "list"]],
      ["pods", "PodMetrics", ["get", "list"]],
    ]);

    const nodes = await get(`${METRICS}/nodes`);
    expect(nodes.status).toBe(200);
    expect(nodes.body.kind).toBe("NodeMetricsList");
    // mx2 has reported nothing: it is left out, as metrics-server leaves it out.
    expect(nodes.body.items).toEqual([
      expect.objectContaining({
        kind: "NodeMetrics",
        apiVersion: "metrics.k8s.io/v1beta1",
        metadata: expect.objectContaining({ name: "mx1", labels: { zone: "a" } }),
        timestamp: "2026-12-07T10:00:00.000Z",
        window: "15s",
        usage: { cpu: "1250000000n", memory: "2097152Ki" },
      }),
    ]);
    expect((await get(`${METRICS}/nodes?labelSelector=zone%3Db`)).body.items).toEqual([]);
    expect((await get(`${METRICS}/nodes/mx1`)).body.usage.cpu).toBe("1250000000n");
    const missing = await get(`${METRICS}/nodes/mx2`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ kind: "Status", reason: "NotFound" });

    const pod = await get(`${METRICS}/namespaces/mxns/pods/burn`);
    expect(pod.status).toBe(200);
    expect(pod.body).toMatchObject({
      kind: "PodMetrics",
      metadata: { name: "burn", namespace: "mxns" },
      containers: [
        { name: "main", usage: { cpu: "990000000n", memory: "1024Ki" } },
        { name: "side", usage: { cpu: "1000000n", memory: "2Ki" } },
      ],
    });
    const all = await get(`${METRICS}/pods`);
    expect(all.body.kind).toBe("PodMetricsList");
    expect(all.body.items.map((p) => `${p.metadata.namespace}/${p.metadata.name}`).sort()).toEqual([
      "default/idle",
      "mxns/burn",
    ]);
    const selected = await get(`${METRICS}/namespaces/default/pods?labelSelector=app%3Didle`);
    expect(selected.body.items.map((p) => p.metadata.name)).toEqual(["idle"]);
    expect((await get(`${METRICS}/namespaces/default/pods?labelSelector=app%3Dburn`)).body.items).toEqual([]);

    // kubectl get podmetrics asks for a Table: CPU summed over containers.
    const table = await get(
      `${METRICS}/namespaces/mxns/pods`,
      "application/json;as=Table;v=v1;g=meta.k8s.io",
    );
    expect(table.body.kind).toBe("Table");
    expect(table.body.rows[0].cells.slice(0, 4)).toEqual(["burn", "991m", "1Mi", "15s"]);

    // Read-only: no writes, no watch.
    const write = await SELF.fetch(`${METRICS}/nodes`, { method: "POST", headers: ADMIN, body: "{}" });
    expect(write.status).toBe(405);
    expect((await get(`${METRICS}/pods?watch=true`)).status).toBe(405);
  });

  it("takes a node's sample only from that node, and refuses malformed samples with a 400 Status", async () => {
    const token = await nodeToken("mx0002", "mx3");
    const good: NodeSample = {
      timestamp: "2026-12-07T10:00:00Z",
      windowSeconds: 10,
      node: { cpuNanoCores: 1, memoryBytes: 1 },
      pods: [],
    };
    const other = await push("mx4", token, good);
    expect(other.status).toBe(403);
    expect(await other.json()).toMatchObject({ kind: "Status", reason: "Forbidden" });
    expect((await push("mx3", "wrong.0123456789abcdef", good)).status).toBe(401);
    for (const bad of [
      "not json",
      [],
      { ...good, windowSeconds: -1 },
      { ...good, timestamp: "yesterday" },
      { ...good, node: { cpuNanoCores: -5, memoryBytes: 1 } },
      { ...good, node: { cpuNanoCores: 1.5, memoryBytes: 1 } },
      { ...good, pods: [{ namespace: "a", name: "b", uid: "c", containers: [{ name: "" }] }] },
      { ...good, pods: "many" },
    ]) {
      const response = await push("mx3", token, bad);
      expect(response.status, JSON.stringify(bad)).toBe(400);
      expect(await response.json()).toMatchObject({ kind: "Status", reason: "BadRequest" });
    }
    expect((await push("mx3", token, good)).status).toBe(204);
  });
});
