/**
 * Services carrying traffic: the agent's service proxy watches the real
 * control plane's Services and EndpointSlices and programs real nftables
 * rules; connections made by the real kernel (inside a throwaway network
 * namespace standing in for the node) reach the endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realClock } from "../../node-agent/src/clock.ts";
import { netnsUnavailableReason, TestNetns } from "../../node-agent/src/proxy/netns-testing.ts";
import { ServiceProxy } from "../../node-agent/src/proxy/proxy.ts";
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { clientFor } from "./controllers-harness.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const unavailable = netnsUnavailableReason();
if (unavailable) console.warn(`services tests SKIPPED: ${unavailable}`);

/** Waits for `check` to return a value (not undefined), retrying on every change of `poll`'s answer, up to timeoutMs. */
async function until<T>(check: () => Promise<T | undefined>, what: string, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (error) {
      last = error;
    }
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ""}`);
}

function service(name: string, spec: Record<string, unknown>): KubeObject {
  return { apiVersion: "v1", kind: "Service", metadata: { name }, spec } as KubeObject;
}

function slice(svc: string, ips: string[], port: number, extra: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "discovery.k8s.io/v1",
    kind: "EndpointSlice",
    metadata: { name: `${svc}-manual`, labels: { "kubernetes.io/service-name": svc } },
    addressType: "IPv4",
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true }, nodeName: "node-a" })),
    ports: [{ name: "", protocol: "TCP", port }],
    ...extra,
  } as KubeObject;
}

describe.skipIf(unavailable)("service proxy on the real kernel", () => {
  let cp: ControlPlane;
  let client: KubeClient;
  let ns: TestNetns;
  let proxy: ServiceProxy;
  const stopper = new AbortController();
  const logs: string[] = [];
  let running: Promise<unknown>;
  let failNext = 0;

  beforeAll(async () => {
    cp = await startControlPlane();
    client = clientFor(cp);
    ns = new TestNetns();
    await ns.create(["10.244.0.2", "10.244.0.3", "10.244.0.4", "192.168.77.1"]);
    await ns.serve(["10.244.0.2:8080", "10.244.0.3:8080", "10.244.0.4:8080"]);
    proxy = new ServiceProxy({
      client,
      nodeName: "node-a",
      clock: realClock,
      log: (m) => logs.push(m),
      bridge: "ep-test0",
      netns: ns.name,
      minSyncPeriodMs: 100,
      // The real nft, except that a test may make the next loads fail (to see the retry and the Event).
      apply: async (script) => {
        if (failNext > 0) {
          failNext--;
          throw new Error("injected failure");
        }
        await ns.exec(["sh", "-c", `printf '%s' "$0" | nft -f -`, script]);
      },
    });
    running = proxy.run(stopper.signal);
  }, 120_000);

  afterAll(async () => {
    stopper.abort();
    await running?.catch(() => {});
    await ns?.remove();
    await cp?.stop();
  }, 60_000);

  it("spreads ClusterIP connections over all ready endpoints and serves the NodePort on node addresses", async () => {
    await client.create(
      R.services,
      "default",
      service("web", {
        type: "NodePort",
        clusterIP: "10.96.100.10",
        ports: [{ port: 80, targetPort: 8080, nodePort: 30080 }],
      }),
    );
    await client.create(R.endpointslices, "default", slice("web", ["10.244.0.2", "10.244.0.3"], 8080));
    const answers = await until(async () => {
      const out = await ns.connect("10.96.100.10", 80, 40);
      return out.every((a) => a.endsWith(":8080")) ? out : undefined;
    }, "ClusterIP rules");
    expect(new Set(answers)).toEqual(new Set(["10.244.0.2:8080", "10.244.0.3:8080"]));
    const share = answers.filter((a) => a === "10.244.0.2:8080").length / answers.length;
    expect(share).toBeGreaterThan(0.15);
    expect(share).toBeLessThan(0.85);
    // NodePort on a node address (192.168.77.1 is local in this namespace).
    const nodePort = await ns.connect("192.168.77.1", 30080, 4);
    expect(nodePort.every((a) => a === "10.244.0.2:8080" || a === "10.244.0.3:8080")).toBe(true);
  });

  it("stops sending new connections to a removed endpoint within seconds", async () => {
    await client.patch(R.endpointslices, "default", "web-manual", "merge", {
      endpoints: [{ addresses: ["10.244.0.3"], conditions: { ready: true }, nodeName: "node-a" }],
    });
    await until(
      async () => {
        const out = await ns.connect("10.96.100.10", 80, 20);
        return out.every((a) => a === "10.244.0.3:8080") ? out : undefined;
      },
      "endpoint 10.244.0.2 gone from the rules",
      5_000,
    );
  });

  it("rejects at once a Service without endpoints, and keeps clients on one endpoint with ClientIP affinity", async () => {
    await client.create(
      R.services,
      "default",
      service("empty", {
        clusterIP: "10.96.100.11",
        ports: [{ port: 80 }],
      }),
    );
    await until(async () => {
      const out = await ns.connect("10.96.100.11", 80, 1);
      return out[0] === "ECONNREFUSED" ? out : undefined;
    }, "reject for a service without endpoints");
    await client.create(
      R.services,
      "default",
      service("sticky", {
        clusterIP: "10.96.100.12",
        sessionAffinity: "ClientIP",
        ports: [{ port: 80 }],
      }),
    );
    await client.create(
      R.endpointslices,
      "default",
      slice("sticky", ["10.244.0.2", "10.244.0.3", "10.244.0.4"], 8080),
    );
    const answers = await until(async () => {
      const out = await ns.connect("10.96.100.12", 80, 15);
      return out.every((a) => a.endsWith(":8080")) ? out : undefined;
    }, "affinity rules");
    expect(new Set(answers).size).toBe(1);
  });

  it("never lets bad input break other Services, and retries a failed sync with an Event", async () => {
    // The API refuses a duplicate NodePort and malformed addresses (render.test.ts covers the proxy's own
    // guards against both); slices the proxy cannot use are skipped while the rest keeps working.
    await expect(
      client.create(
        R.services,
        "default",
        service("taken", {
          type: "NodePort",
          clusterIP: "10.96.100.14",
          ports: [{ port: 80, nodePort: 30080 }],
        }),
      ),
    ).rejects.toMatchObject({ code: 422 });
    await client.create(
      R.services,
      "default",
      service("dup", {
        clusterIP: "10.96.100.13",
        ports: [{ port: 80 }],
      }),
    );
    await client.create(R.endpointslices, "default", slice("dup", ["10.244.0.4"], 8080));
    // An IPv6 slice and a slice whose port matches no service port: ignored, not fatal.
    await client.create(R.endpointslices, "default", {
      ...slice("dup", [], 8080),
      metadata: { name: "dup-v6", labels: { "kubernetes.io/service-name": "dup" } },
      addressType: "IPv6",
      endpoints: [{ addresses: ["fd00::1"], conditions: { ready: true } }],
    } as KubeObject);
    await client.create(R.endpointslices, "default", {
      ...slice("dup", ["10.244.0.9"], 8080),
      metadata: { name: "dup-other", labels: { "kubernetes.io/service-name": "dup" } },
      ports: [{ name: "metrics", protocol: "TCP", port: 9090 }],
    } as KubeObject);
    await until(async () => {
      const out = await ns.connect("10.96.100.13", 80, 1);
      return out[0] === "10.244.0.4:8080" ? out : undefined;
    }, "dup's ClusterIP");
    expect((await ns.connect("10.96.100.10", 80, 3)).every((a) => a === "10.244.0.3:8080")).toBe(true);

    failNext = 2;
    await client.patch(R.endpointslices, "default", "web-manual", "merge", {
      endpoints: [{ addresses: ["10.244.0.2"], conditions: { ready: true }, nodeName: "node-a" }],
    });
    await until(async () => {
      const out = await ns.connect("10.96.100.10", 80, 3);
      return out.every((a) => a === "10.244.0.2:8080") ? out : undefined;
    }, "rules after two failed syncs");
    expect(logs.join("\n")).toMatch(/rule sync failed \(attempt 2\): injected failure/);
    const events = await client.list<KubeObject & { reason?: string }>(R.events, "default");
    expect(events.items.map((e) => e.reason)).toContain("FailedToSyncProxyRules");
  });
});
