/**
 * Edge ingress (issue 22): requests/s and p50/p99 of small GETs to a busybox
 * httpd pod three ways in the same run: through the ingress (HTTPS to the
 * local control plane under workerd, matched by Host, carried through the
 * node's TunnelObject to the real agent, which calls the pod), straight to
 * the pod's IP from the host, and through kubectl port-forward. Each way
 * runs `--runs` times (default 2, to show the spread); ratios are of the
 * medians. Prints figures; not a test.
 *
 *   npm run bench -- ingress            (node --import tsx bench/ingress/main.ts [--requests 400] [--clients 8] [--runs 2])
 */
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { Agent, request } from "undici";
import { deleteBridge } from "../../node-agent/src/network/cni.ts";
import {
  buildTestImages,
  claimSubnet,
  criUnavailableReason,
  removeAgentPods,
  startLocalRegistry,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { ensurePki, signLeaf } from "../../scripts/local/pki.ts";
import { startControlPlane } from "../../test/e2e/harness.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

const HOST = "web.ingress.bench";

/** One way's run: requests per second and latency percentiles (ms). */
interface Figures {
  rps: number;
  p50: number;
  p99: number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

/** `total` GETs over `clients` keep-alive connections; every answer must be 200 with the page. */
async function measure(
  url: string,
  headers: Record<string, string>,
  dispatcher: Agent,
  total: number,
  clients: number,
): Promise<Figures> {
  const result = await closedLoop(total, clients, async () => {
    const r = await request(url, { headers, dispatcher });
    const body = await r.body.text();
    if (r.statusCode !== 200 || !body.startsWith("hello")) throw new Error(`${url}: ${r.statusCode} ${body}`);
  });
  return {
    rps: total / result.seconds,
    p50: percentile(result.latencies, 50),
    p99: percentile(result.latencies, 99),
  };
}

function show(name: string, runs: Figures[]): string {
  const f = (xs: number[], d = 1) => xs.map((x) => x.toFixed(d)).join("/");
  return `${name.padEnd(13)} req/s ${f(
    runs.map((r) => r.rps),
    0,
  )}  p50 ${f(runs.map((r) => r.p50))} ms  p99 ${f(runs.map((r) => r.p99))} ms`;
}

async function main(total: number, clients: number, runs: number): Promise<void> {
  const unavailable = criUnavailableReason();
  if (unavailable) {
    console.log(`ingress: skipped (${unavailable})`);
    return;
  }
  const node = `bench-ing-${randomBytes(2).toString("hex")}`;
  const bridge = `eib${randomBytes(3).toString("hex")}`;
  const dir = mkdtempSync(join(tmpdir(), "ep-bench-ingress-"));
  const subnet = claimSubnet();
  const pki = await ensurePki(join(dir, "pki"));
  // The ingress host must be in the certificate the client verifies (the client sends it as SNI).
  const cert = { cert: join(dir, "pki", "ingress.crt"), key: join(dir, "pki", "ingress.key") };
  await signLeaf(join(dir, "pki"), "ingress", "localhost", ["IP:127.0.0.1", "DNS:localhost", `DNS:${HOST}`], {
    caCert: pki.caCert,
    caKey: pki.caKey,
    ...cert,
  });
  const images = await buildTestImages();
  const [cp, registry] = await Promise.all([
    startControlPlane({
      tls: { certPath: cert.cert, keyPath: cert.key },
      env: { INGRESS_DOMAINS: "ingress.bench" },
    }),
    startLocalRegistry(join(dir, "registry")),
  ]);
  const agentDir = join(dir, "agent");
  const agent = spawnAgent(
    [
      ...["--server", cp.url, "--ca-file", pki.caCert, "--name", node, "--data-dir", agentDir],
      ...["--node-ip", "127.0.0.1", "--runtimes", "cri", "--containerd", "managed"],
      ...["--pod-cidr", subnet.cidr, "--cni-bridge", bridge],
    ],
    { token: cp.token },
  );
  const tls = new Agent({ connect: { ca: readFileSync(pki.caCert, "utf8") }, connections: clients });
  const plain = new Agent({ connections: clients });
  try {
    await agent.waitFor(/tunnel connected/, 90_000);
    const busybox = await registry.push(join(images, "oci"), "busybox", "edgeplane/busybox:1");
    const applied = await cp.kubectl(["apply", "-f", "-"], {
      input: `apiVersion: node.k8s.io/v1
kind: RuntimeClass
metadata: { name: runc }
handler: runc
---
apiVersion: v1
kind: Pod
metadata: { name: web, labels: { app: web } }
spec:
  runtimeClassName: runc
  nodeName: ${node}
  terminationGracePeriodSeconds: 1
  containers:
  - name: httpd
    image: ${busybox}
    command: ["sh", "-c", "mkdir -p /www && echo hello > /www/index.html && exec httpd -f -p 8080 -h /www"]
    readinessProbe:
      httpGet: { path: /, port: 8080 }
      periodSeconds: 1
---
apiVersion: v1
kind: Service
metadata: { name: web }
spec:
  selector: { app: web }
  ports: [{ port: 80, targetPort: 8080 }]
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: { name: web }
spec:
  rules:
  - host: ${HOST}
    http: { paths: [{ path: /, pathType: Prefix, backend: { service: { name: web, port: { number: 80 } } } }] }
`,
    });
    if (applied.code !== 0) throw new Error(applied.stderr);
    const ready = await cp.kubectl(["wait", "--for=condition=Ready", "pod/web", "--timeout=120s"], {
      timeoutMs: 130_000,
    });
    if (ready.code !== 0) throw new Error(ready.stderr);
    const ip = JSON.parse((await cp.kubectl(["get", "pod", "web", "-o", "json"])).stdout).status
      .podIP as string;
    const pf = cp.kubectlStream(["port-forward", "pod/web", ":8080"]);
    try {
      const out = await pf.waitFor(/Forwarding from 127\.0\.0\.1:(\d+) ->/, 30_000);
      const local = Number(/Forwarding from 127\.0\.0\.1:(\d+) ->/.exec(out)?.[1]);
      const ways = {
        ingress: () => measure(`${cp.url}/`, { host: HOST }, tls, total, clients),
        direct: () => measure(`http://${ip}:8080/`, {}, plain, total, clients),
        "port-forward": () => measure(`http://127.0.0.1:${local}/`, {}, plain, total, clients),
      };
      // Warm-up: connections, the Worker's route cache, the agent's pool.
      for (const way of Object.values(ways)) await way();
      const results: Record<string, Figures[]> = { ingress: [], direct: [], "port-forward": [] };
      for (let i = 0; i < runs; i++)
        for (const [name, way] of Object.entries(ways)) results[name].push(await way());
      const med = (name: string, k: keyof Figures) => median(results[name].map((r) => r[k]));
      console.log(`ingress: ${total} GETs x ${clients} clients, ${runs} runs each (figures per run)`);
      for (const name of Object.keys(results)) console.log(`  ${show(name, results[name])}`);
      console.log(
        `  ratios of medians: ingress/direct req/s ${(med("ingress", "rps") / med("direct", "rps")).toFixed(3)}, ` +
          `ingress/port-forward req/s ${(med("ingress", "rps") / med("port-forward", "rps")).toFixed(3)}, ` +
          `p50 ingress/direct ${(med("ingress", "p50") / med("direct", "p50")).toFixed(1)}x, ` +
          `p50 ingress/port-forward ${(med("ingress", "p50") / med("port-forward", "p50")).toFixed(1)}x`,
      );
    } finally {
      await pf.stop();
    }
  } finally {
    await tls.close();
    await plain.close();
    await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
    await agent.stop();
    await removeAgentPods(agentDir, node);
    await deleteBridge(bridge).catch(() => {});
    await Promise.all([registry.stop(), cp.stop()]);
    subnet.release();
    rmSync(dir, { recursive: true, force: true });
  }
}

const { values } = parseArgs({
  options: { requests: { type: "string" }, clients: { type: "string" }, runs: { type: "string" } },
});
await main(Number(values.requests ?? 400), Number(values.clients ?? 8), Number(values.runs ?? 2));
