/**
 * Services on a node (docs/services.md): (1) rule sync, from an EndpointSlice
 * change to the rules live (render + incremental load, as the proxy does),
 * with 1,000 Services x 10 endpoints loaded;
 * (2) TCP connections per second through a ClusterIP against the endpoint's
 * pod IP directly, in the same run and the same (throwaway) network namespace;
 * (3) cluster DNS queries per second over UDP with p50/p99.
 * Needs root (ip netns, nft). Figures are printed, nothing is asserted.
 */
import { execFile } from "node:child_process";
import { createSocket } from "node:dgram";
import * as dnsPacket from "dns-packet";
import { ClusterRecords, type DnsService, type DnsSlice } from "../../node-agent/src/dns/records.ts";
import { DnsServer } from "../../node-agent/src/dns/server.ts";
import { type ProxyService, type ProxySlice, servicePorts } from "../../node-agent/src/proxy/model.ts";
import { TestNetns } from "../../node-agent/src/proxy/netns-testing.ts";
import { deltaScript, render } from "../../node-agent/src/proxy/render.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

const SERVICES = 1000;
const ENDPOINTS = 10;
const CHANGES = 40;

const ip = (n: number) => `10.${96 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
const podIp = (s: number, e: number) =>
  `10.244.${(s * ENDPOINTS + e) >> 8}.${(s * ENDPOINTS + e) & 255 || 1}`;

function fixtures(): { services: ProxyService[]; slices: ProxySlice[] } {
  const services: ProxyService[] = [];
  const slices: ProxySlice[] = [];
  for (let s = 0; s < SERVICES; s++) {
    services.push({
      metadata: { name: `svc-${s}`, namespace: "bench" },
      spec: { clusterIP: ip(256 + s), ports: [{ name: "http", port: 80, protocol: "TCP" }] },
    });
    slices.push({
      metadata: {
        name: `svc-${s}-x`,
        namespace: "bench",
        labels: { "kubernetes.io/service-name": `svc-${s}` },
      },
      addressType: "IPv4",
      endpoints: Array.from({ length: ENDPOINTS }, (_, e) => ({
        addresses: [podIp(s, e)],
        conditions: { ready: true },
        nodeName: "n1",
      })),
      ports: [{ name: "http", protocol: "TCP", port: 8080 }],
    });
  }
  return { services, slices };
}

const CONNECT = `
const net = require("node:net");
const [host, port, total, clients] = process.argv.slice(1).map((v, i) => (i ? Number(v) : v));
let next = 0, done = 0;
const start = process.hrtime.bigint();
const one = () => new Promise((resolve) => {
  const s = net.connect(port, host);
  s.on("data", () => {}); s.on("end", resolve); s.on("error", resolve);
});
Promise.all(Array.from({ length: clients }, async () => { while (next++ < total) { await one(); done++; } }))
  .then(() => console.log(JSON.stringify({ perSecond: done / (Number(process.hrtime.bigint() - start) / 1e9) })));
`;

async function main(): Promise<void> {
  const { services, slices } = fixtures();
  const ns = new TestNetns();
  await ns.create(["10.250.0.2"]);
  try {
    // 1. Rule sync: one slice changes (an endpoint swapped), the whole table is rendered and loaded.
    const load = (script: string) =>
      new Promise<void>((resolve, reject) => {
        const child = execFile("ip", ["netns", "exec", ns.name, "nft", "-f", "-"], (error) =>
          error ? reject(error) : resolve(),
        );
        child.stdin?.end(script);
      });
    const opts = { table: "edgeplane", bridge: "bench0", clusterCidr: "10.244.0.0/16" };
    // The measured service: its endpoint is the echo server, so throughput runs through the full table.
    services.push({
      metadata: { name: "target", namespace: "bench" },
      spec: { clusterIP: "10.96.255.1", ports: [{ name: "http", port: 80, protocol: "TCP" }] },
    });
    slices.push({
      metadata: { name: "target-x", namespace: "bench", labels: { "kubernetes.io/service-name": "target" } },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.250.0.2"], conditions: { ready: true }, nodeName: "n1" }],
      ports: [{ name: "http", protocol: "TCP", port: 8080 }],
    });
    const first = render(servicePorts(services, slices, "n1").ports, opts);
    let live = first.rendered;
    let t = performance.now();
    await load(first.script);
    const initialMs = performance.now() - t;
    const sync: number[] = [];
    for (let i = 0; i < CHANGES; i++) {
      const slice = slices[i % SERVICES];
      const eps = slice?.endpoints ?? [];
      if (eps[0]) eps[0] = { ...eps[0], addresses: [`10.245.${i}.${(i % 250) + 1}`] };
      t = performance.now();
      // As the proxy syncs: render everything, load only the difference.
      const { rendered } = render(servicePorts(services, slices, "n1").ports, opts);
      await load(deltaScript(live, rendered));
      live = rendered;
      sync.push(performance.now() - t);
    }
    sync.sort((a, b) => a - b);
    const rules = first.script.split("\n").length;
    console.log(
      `rule sync, ${SERVICES} Services x ${ENDPOINTS} endpoints (${rules} lines of nft): first load ${initialMs.toFixed(0)} ms; ` +
        `slice change -> rules live p50 ${percentile(sync, 50).toFixed(0)} ms, p99 ${percentile(sync, 99).toFixed(0)} ms (n=${CHANGES})`,
    );

    // 2. Connections per second: ClusterIP vs the pod IP, alternating rounds so drift hits both alike.
    await ns.serve(["10.250.0.2:8080"]);
    const rate = async (host: string, port: number) =>
      (
        JSON.parse(await ns.exec([process.execPath, "-e", CONNECT, host, String(port), "4000", "8"])) as {
          perSecond: number;
        }
      ).perSecond;
    const direct: number[] = [];
    const viaService: number[] = [];
    for (let round = 0; round < 3; round++) {
      direct.push(await rate("10.250.0.2", 8080));
      viaService.push(await rate("10.96.255.1", 80));
    }
    const best = (xs: number[]) => Math.max(...xs);
    console.log(
      `TCP connections/s (8 concurrent, best of 3): pod IP ${best(direct).toFixed(0)}, ClusterIP ${best(viaService).toFixed(0)}, ` +
        `ratio ${(best(viaService) / best(direct)).toFixed(2)}`,
    );
  } finally {
    await ns.remove();
  }

  // 3. DNS: 1,000 Services in the records, UDP queries from 16 concurrent clients.
  const server = new DnsServer({
    records: new ClusterRecords(
      () => services as DnsService[],
      () => slices as DnsSlice[],
    ),
    host: "127.0.0.1",
    upstreams: [],
  });
  await server.start();
  const socket = createSocket("udp4");
  await new Promise<void>((resolve) => socket.bind(0, "127.0.0.1", resolve));
  const waiting = new Map<number, () => void>();
  socket.on("message", (m) => waiting.get(m.readUInt16BE(0))?.());
  const result = await closedLoop(20_000, 16, (i) => {
    const id = i % 65536;
    const query = dnsPacket.encode({
      id,
      type: "query",
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ name: `svc-${i % SERVICES}.bench.svc.cluster.local`, type: "A", class: "IN" }],
    });
    return new Promise<void>((resolve) => {
      waiting.set(id, () => {
        waiting.delete(id);
        resolve();
      });
      socket.send(query, server.port, "127.0.0.1");
    });
  });
  socket.close();
  await server.close();
  console.log(
    `DNS A queries over UDP (16 concurrent, ${SERVICES} Services): ${(result.latencies.length / result.seconds).toFixed(0)}/s, ` +
      `p50 ${percentile(result.latencies, 50).toFixed(2)} ms, p99 ${percentile(result.latencies, 99).toFixed(2)} ms`,
  );
}

await main();
