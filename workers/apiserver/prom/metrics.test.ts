/** /metrics on the API server: kube's series in the Prometheus text format, authorized by nonResourceURLs. */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { createApiServer } from "../app.ts";
import { createAuthorizer } from "../authorize.ts";
import { RESOURCES } from "../kinds/index.ts";
import { RbacCache } from "../rbac/cache.ts";
import { ADMIN_USER, type UserInfo } from "../tokens.ts";
import { ApiMetrics } from "./apiserver.ts";
import { parsePrometheusText } from "./parse.ts";

const USERS: Record<string, UserInfo> = {
  admin: ADMIN_USER,
  prometheus: { name: "prometheus", groups: ["system:monitoring", "system:authenticated"] },
  alice: { name: "alice", groups: ["system:authenticated"] },
};

function server() {
  const app = createApiServer({
    store: new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) => USERS[(r.headers.get("Authorization") ?? "").replace("Bearer ", "")],
    authorizer: createAuthorizer({ cache: new RbacCache() }),
    metrics: new ApiMetrics(),
  });
  return (who: string, method: string, path: string, body?: unknown) =>
    app.request(path, {
      method,
      headers: { Authorization: `Bearer ${who}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
}

const POD = { metadata: { name: "web" }, spec: { containers: [{ name: "c", image: "nginx" }] } };

describe("apiserver /metrics", () => {
  it("counts requests by verb, resource and code, times them, and counts stored objects", async () => {
    const call = server();
    expect((await call("admin", "POST", "/api/v1/namespaces/default/pods", POD)).status).toBe(201);
    expect((await call("admin", "GET", "/api/v1/namespaces/default/pods")).status).toBe(200);
    expect((await call("admin", "GET", "/api/v1/namespaces/default/pods/nope")).status).toBe(404);
    expect((await call("admin", "POST", "/api/v1/namespaces/default/pods", { metadata: {} })).status).toBe(
      422,
    );
    const res = await call("admin", "GET", "/metrics");
    expect(res.status).toBe(200);
    expect(res.headers.get("Content-Type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheusText(await res.text());
    const total = (verb: string, code: string, scope: string) =>
      m.find("apiserver_request_total", { verb, resource: "pods", code, scope, group: "", version: "v1" })[0]
        ?.value;
    expect(total("POST", "201", "namespace")).toBe(1);
    expect(total("POST", "422", "namespace")).toBe(1);
    expect(total("LIST", "200", "namespace")).toBe(1);
    expect(total("GET", "404", "resource")).toBe(1);
    expect(m.types.get("apiserver_request_duration_seconds")).toBe("histogram");
    const list = m.find("apiserver_request_duration_seconds_bucket", { verb: "LIST", resource: "pods" });
    expect(list.map((s) => s.labels.le).slice(0, 3)).toEqual(["0.005", "0.025", "0.05"]);
    expect(list.at(-1)).toMatchObject({ labels: { le: "+Inf" }, value: 1 });
    // The /metrics request itself is in flight while it renders.
    expect(m.find("apiserver_current_inflight_requests", { request_kind: "readOnly" })[0]?.value).toBe(1);
    expect(
      m.find("etcd_request_duration_seconds_count", { operation: "create", type: "pods" })[0]?.value,
    ).toBe(1);
    expect(m.find("apiserver_storage_objects", { resource: "pods" })[0]?.value).toBe(1);
    expect(m.find("apiserver_storage_objects", { resource: "deployments.apps" })[0]?.value).toBe(0);
  });

  it("counts an open watch in apiserver_longrunning_requests until its client goes away", async () => {
    const call = server();
    const watch = await call("admin", "GET", "/api/v1/namespaces/default/pods?watch=1");
    expect(watch.status).toBe(200);
    const gauge = async () =>
      parsePrometheusText(await (await call("admin", "GET", "/metrics")).text()).find(
        "apiserver_longrunning_requests",
        {
          verb: "WATCH",
          resource: "pods",
        },
      )[0]?.value;
    expect(await gauge()).toBe(1);
    await watch.body?.cancel();
    expect(await gauge()).toBe(0);
  });

  it("is served to system:monitoring and cluster-admin, refused to other users with a Forbidden Status", async () => {
    const call = server();
    expect((await call("prometheus", "GET", "/metrics")).status).toBe(200);
    const denied = await call("alice", "GET", "/metrics");
    expect(denied.status).toBe(403);
    expect(await denied.json()).toMatchObject({ kind: "Status", reason: "Forbidden", code: 403 });
    expect((await call("nobody", "GET", "/metrics")).status).toBe(401);
  });
});
