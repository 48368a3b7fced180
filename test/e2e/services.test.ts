/**
 * Services carrying traffic: the agent's service proxy watches the real
 * control plane's Services and EndpointSlices and programs real nftables
 * rules; connections made by the real kernel (inside a throwaway network
 * namespace standing in for the node) reach the endpoints.
 */
import { execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { get as httpGet } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { realClock } from "../../node-agent/src/clock.ts";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import { hostIPv4 } from "../../node-agent/src/node.ts";
import { TestNetns } from "../../node-agent/src/proxy/netns-testing.ts";
import { ServiceProxy } from "../../node-agent/src/proxy/proxy.ts";
import { startContainerd } from "../../node-agent/src/runtime/cri/containerd.ts";
import { CriRuntime } from "../../node-agent/src/runtime/cri/index.ts";
import {
  buildTestImages,
  claimSubnet,
  type LocalRegistry,
  startLocalRegistry,
  waitFor,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensurePki } from "../../scripts/local/pki.ts";
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { clientFor } from "./controllers-harness.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const execFileP = promisify(execFile);

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

describe("service proxy on the real kernel", () => {
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

const NODE = `svc-node-${randomBytes(2).toString("hex")}`;

describe("Services for real pods: proxy, DNS and env on a CRI node", () => {
  let cp: ControlPlane;
  let registry: LocalRegistry;
  let agent: AgentProcess;
  let dir: string;
  let busybox: string;
  let podCidr: string;
  let releaseSubnet: () => void = () => {};
  const bridge = `eps${randomBytes(3).toString("hex")}`;
  const nodeIP = hostIPv4();
  const nodePort = 30000 + Math.floor(Math.random() * 2700);
  const agentDir = () => join(dir, "agent");

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, { input });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  /** A busybox pod on the runc runtime running `script` under sh. */
  function pod(name: string, script: string, labels = "", restart = "Always"): string {
    return `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: {${labels}}
spec:
  runtimeClassName: runc
  restartPolicy: ${restart}
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: ${busybox}
    command: ["sh", "-c", ${JSON.stringify(script)}]
`;
  }

  /** The logs of a pod that ran to completion. */
  async function finished(name: string): Promise<string> {
    await waitFor(
      async () => {
        const r = await cp.fetch(`/api/v1/namespaces/default/pods/${name}`);
        const p = (await r.json()) as { status?: { phase?: string } };
        return p.status?.phase === "Succeeded" || p.status?.phase === "Failed";
      },
      120_000,
      `${name} done`,
    );
    return kubectl(["logs", name]);
  }

  /**
   * GET http://ip:port/ from this (host) process over a new connection: the nat output path. Not `fetch`: its
   * keep-alive pool would reuse one connection, and NAT is decided per connection, so a connection opened before the
   * rules existed (answered by whatever the default route leads to) would never reach an endpoint, and one opened
   * after would always reach the same endpoint.
   */
  function hostGet(ip: string, port: number): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = httpGet({ host: ip, port, path: "/", agent: false, timeout: 3000 }, (res) => {
        let body = "";
        res.setEncoding("utf8");
        res.on("data", (d: string) => (body += d));
        res.on("end", () =>
          res.statusCode === 200
            ? resolve(body.trim())
            : reject(new Error(`${ip}:${port} answered ${res.statusCode}`)),
        );
        res.on("error", reject);
      });
      req.on("timeout", () => req.destroy(new Error(`${ip}:${port} timed out`)));
      req.on("error", reject);
    });
  }

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "ep-services-"));
    const subnet = claimSubnet();
    podCidr = subnet.cidr;
    releaseSubnet = subnet.release;
    const pki = await ensurePki(join(dir, "pki"));
    const images = await buildTestImages();
    [cp, registry] = await Promise.all([
      startControlPlane({ tls: { certPath: pki.serverCert, keyPath: pki.serverKey } }),
      startLocalRegistry(join(dir, "registry")),
    ]);
    busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: {name: runc}
handler: runc
---
apiVersion: v1
kind: Service
metadata: {name: kube-dns, namespace: kube-system}
spec:
  clusterIP: 10.96.0.10
  ports:
  - {name: dns, port: 53, protocol: UDP}
  - {name: dns-tcp, port: 53, protocol: TCP}
`,
    );
    agent = spawnAgent(
      [
        ...["--server", cp.url, "--ca-file", pki.caCert, "--name", NODE, "--data-dir", agentDir()],
        ...["--node-ip", nodeIP, "--runtimes", "cri", "--containerd", "managed"],
        ...["--pod-cidr", podCidr, "--cni-bridge", bridge, "--service-proxy", "--cluster-cidr", podCidr],
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    await agent.waitFor(/cluster DNS on/, 10_000);
  }, 240_000);

  afterAll(async () => {
    if (process.env.SVC_DEBUG) {
      console.log(agent?.output().slice(-6000));
      console.log(
        (await execFileP("nft", ["list", "table", "ip", `edgeplane-${bridge}`]).catch((e) => e)).stdout,
      );
      console.log((await cp.kubectl(["get", "pods,svc,endpointslices", "-o", "wide"])).stdout);
    }
    if (cp && agent) {
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
      await agent.stop();
    }
    if (dir && existsSync(join(agentDir(), "cri", "containerd", "config.toml"))) {
      const containerd = await startContainerd({ dataDir: join(agentDir(), "cri", "containerd") }).catch(
        () => undefined,
      );
      if (containerd) {
        const rt = new CriRuntime({ endpoint: containerd.socket, cgroupRoot: "/edgeplane" });
        await rt.removeOrphans(new Set()).catch(() => []);
        await rt.close();
        await containerd.stop();
      }
    }
    await execFileP("nft", ["delete", "table", "ip", `edgeplane-${bridge}`]).catch(() => {});
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry?.stop(), cp?.stop()]);
    releaseSubnet();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (agent && agent.child.exitCode !== 0) console.log(agent.output().slice(-4000));
  }, 180_000);

  it("carries pod traffic to a ClusterIP over both endpoints, resolves cluster names, serves the NodePort", async () => {
    const serve = "mkdir -p /www && hostname > /www/index.html && exec httpd -f -p 8080 -h /www";
    await kubectl(
      ["apply", "-f", "-"],
      [
        pod("web-a", serve, "app: web"),
        pod("web-b", serve, "app: web"),
        `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{port: 80, targetPort: 8080, nodePort: ${nodePort}, name: http}]
---
apiVersion: v1
kind: Service
metadata: {name: web-h}
spec:
  clusterIP: None
  selector: {app: web}
  ports: [{port: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: ext}
spec:
  type: ExternalName
  externalName: outside.example.com
`,
      ].join("---\n"),
    );
    const svc = JSON.parse(await kubectl(["get", "service", "web", "-o", "json"])) as {
      spec: { clusterIP: string };
    };
    // Both endpoints in the rules: seen from the host through the ClusterIP.
    await waitFor(
      async () => {
        const seen = new Set<string>();
        for (let i = 0; i < 20; i++) seen.add(await hostGet(svc.spec.clusterIP, 80));
        return seen.has("web-a") && seen.has("web-b");
      },
      30_000,
      "both endpoints behind the ClusterIP",
    );
    const podIPs = JSON.parse(await kubectl(["get", "pods", "-l", "app=web", "-o", "json"])).items.map(
      (p: { status: { podIP: string } }) => p.status.podIP,
    ) as string[];
    const dashed = (podIPs[0] ?? "").replace(/\./g, "-");
    await kubectl(
      ["apply", "-f", "-"],
      pod(
        "client",
        [
          "cat /etc/resolv.conf",
          'echo "env $WEB_SERVICE_HOST $WEB_SERVICE_PORT $WEB_PORT_80_TCP_ADDR"',
          // By the Service variables: the static busybox's wget cannot resolve names (glibc NSS in a static binary)
          // and crashes with -T, so names are checked with nslookup, busybox's own resolver.
          'for i in $(seq 30); do echo "hit $(wget -qO- http://$WEB_SERVICE_HOST)"; done',
          // busybox nslookup applies the search list only to names without dots, so svc.ns is asked as the name the
          // search list makes of it (web.default.svc.cluster.local); a headless Service's pods by dashed IP.
          `for n in web web.default.svc.cluster.local web-h ${dashed}.web-h.default.svc.cluster.local ext; do echo "== $n"; nslookup $n 2>&1; done`,
        ].join("; "),
        "",
        "Never",
      ),
    );
    const out = await finished("client");
    if (process.env.SVC_DEBUG) console.log(out);
    expect(out).toContain("search default.svc.cluster.local svc.cluster.local cluster.local");
    expect(out).toContain("nameserver 10.96.0.10");
    expect(out).toContain("options ndots:5");
    expect(out).toContain(`env ${svc.spec.clusterIP} 80 ${svc.spec.clusterIP}`);
    const hits = out.split("\n").filter((l) => l.startsWith("hit "));
    expect(hits.length).toBe(30);
    const a = hits.filter((h) => h === "hit web-a").length;
    const b = hits.filter((h) => h === "hit web-b").length;
    expect(a + b).toBe(30);
    expect(Math.min(a, b)).toBeGreaterThanOrEqual(3);
    const section = (n: string) => out.split(`== ${n}\n`)[1]?.split("== ")[0] ?? "";
    expect(section(`${dashed}.web-h.default.svc.cluster.local`)).toContain(podIPs[0]);
    for (const n of ["web", "web.default.svc.cluster.local"])
      expect(section(n), n).toContain(svc.spec.clusterIP);
    for (const ip of podIPs) expect(section("web-h")).toContain(ip);
    expect(section("ext")).toContain("outside.example.com");
    // NodePort on the node's address, from the host.
    expect(["web-a", "web-b"]).toContain(await hostGet(nodeIP, nodePort));
  }, 300_000);

  it("stops sending new connections to a removed endpoint within seconds", async () => {
    const svc = JSON.parse(await kubectl(["get", "service", "web", "-o", "json"])) as {
      spec: { clusterIP: string };
    };
    const started = Date.now();
    await kubectl(["delete", "pod", "web-b", "--wait=false"]);
    await waitFor(
      async () => {
        for (let i = 0; i < 10; i++) if ((await hostGet(svc.spec.clusterIP, 80)) !== "web-a") return false;
        return true;
      },
      15_000,
      "web-b gone from the ClusterIP",
    );
    console.log(`endpoint removal to rules: ${Date.now() - started} ms`);
  }, 60_000);

  it("lets a pod reach itself through its own Service (hairpin)", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      [
        `apiVersion: v1
kind: Service
metadata: {name: loop}
spec:
  selector: {app: loop}
  ports: [{port: 80, targetPort: 8080}]
`,
        pod(
          "loop",
          // The Service exists before the pod, so LOOP_SERVICE_HOST is set; retry until the pod is its endpoint
          // (before its rules exist the packet would head for the default route, hence the timeout).
          'mkdir -p /www && hostname > /www/index.html && httpd -p 8080 -h /www && for i in $(seq 60); do r=$(timeout 3 wget -qO- http://$LOOP_SERVICE_HOST); if [ -n "$r" ]; then echo "self $r"; break; fi; sleep 1; done',
          "app: loop",
          "Never",
        ),
      ].join("---\n"),
    );
    expect(await finished("loop")).toContain("self loop");
  }, 180_000);
});
