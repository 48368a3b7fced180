/** The agent's /metrics: kubelet's series from a real prom-client registry over HTTP, parsed strictly. */
import { afterEach, describe, expect, it } from "vitest";
import { parsePrometheusText } from "../../../workers/apiserver/prom/parse.ts";
import { FakeClock } from "../clock.ts";
import { FakeRuntime } from "../testing/fake-runtime.ts";
import { AgentMetrics } from "./metrics.ts";
import { serveMetrics } from "./server.ts";

const closers: (() => void)[] = [];
afterEach(() => {
  for (const close of closers.splice(0)) close();
});

describe("agent metrics", () => {
  it("serves runtime operation counts, errors and latency, running pods and containers, pod start duration", async () => {
    const metrics = new AgentMetrics(() => ({ pods: 2, containers: { running: 3, exited: 1, created: 0 } }));
    const runtime = new FakeRuntime(new FakeClock());
    runtime.failPulls.set("reg/bad:v1", 1);
    const measured = metrics.instrument(runtime);
    await measured.pullImage("reg/app:v1", { policy: "IfNotPresent" });
    await expect(measured.pullImage("reg/bad:v1", { policy: "IfNotPresent" })).rejects.toThrow();
    expect(measured.handler).toBe(runtime.handler);
    metrics.podStart.observe(1.5);
    const { server, url } = await serveMetrics(metrics, { host: "127.0.0.1", port: 0 });
    closers.push(() => server.close());
    const res = await fetch(url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const m = parsePrometheusText(await res.text());
    expect(m.find("kubelet_runtime_operations_total", { operation_type: "pull_image" })[0]?.value).toBe(2);
    expect(
      m.find("kubelet_runtime_operations_errors_total", { operation_type: "pull_image" })[0]?.value,
    ).toBe(1);
    expect(
      m.find("kubelet_runtime_operations_duration_seconds_count", { operation_type: "pull_image" })[0]?.value,
    ).toBe(2);
    expect(m.find("kubelet_running_pods")[0]?.value).toBe(2);
    expect(m.find("kubelet_running_containers", { container_state: "running" })[0]?.value).toBe(3);
    expect(m.find("kubelet_pod_start_duration_seconds_bucket", { le: "2" })[0]?.value).toBe(1);
    expect(m.find("kubelet_pod_start_duration_seconds_bucket", { le: "1" })[0]?.value).toBe(0);
    expect(m.find("process_cpu_seconds_total")).toHaveLength(1);
    expect((await fetch(url.replace("/metrics", "/other"))).status).toBe(404);
  });
});
