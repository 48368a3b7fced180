import { createSocket } from "node:dgram";
import { connect } from "node:net";
import * as dnsPacket from "dns-packet";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ClusterRecords, type DnsService, type DnsSlice } from "./records.ts";
import { DnsServer } from "./server.ts";

const services: DnsService[] = [
  {
    metadata: { name: "web", namespace: "default" },
    spec: { clusterIP: "10.96.0.20", ports: [{ name: "http", port: 80, protocol: "TCP" }] },
  },
  { metadata: { name: "db", namespace: "default" }, spec: { clusterIP: "None", ports: [{ port: 5432 }] } },
  {
    metadata: { name: "ext", namespace: "prod" },
    spec: { type: "ExternalName", externalName: "api.example.com" },
  },
];
const slices: DnsSlice[] = [
  {
    metadata: { name: "db-1", namespace: "default", labels: { "kubernetes.io/service-name": "db" } },
    addressType: "IPv4",
    endpoints: [
      { addresses: ["10.244.0.7"], hostname: "db-0", conditions: { ready: true } },
      { addresses: ["10.244.0.8"], hostname: "db-1" },
      { addresses: ["10.244.0.9"], hostname: "db-2", conditions: { ready: false } },
    ],
  },
];

async function ask(port: number, name: string, type: dnsPacket.RecordType, tcp = false): Promise<Decoded> {
  const query = dnsPacket.encode({
    id: 4242,
    type: "query",
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type, class: "IN" }],
  });
  if (tcp) {
    return new Promise((resolve, reject) => {
      const s = connect(port, "127.0.0.1");
      let data = Buffer.alloc(0);
      s.on("error", reject);
      s.on("connect", () => s.write(dnsPacket.streamEncode(dnsPacket.decode(query))));
      s.on("data", (c) => {
        data = Buffer.concat([data, c]);
        if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
          s.end();
          resolve(dnsPacket.streamDecode(data) as Decoded);
        }
      });
    });
  }
  return new Promise((resolve, reject) => {
    const s = createSocket("udp4");
    s.on("error", reject);
    s.on("message", (m) => {
      s.close();
      resolve(dnsPacket.decode(m) as Decoded);
    });
    s.send(query, port, "127.0.0.1");
  });
}

/** A decoded reply with the header fields dns-packet decodes but its types omit. */
type Decoded = dnsPacket.DecodedPacket & { rcode: string; flag_aa: boolean };

const data = (p: dnsPacket.Packet) => (p.answers ?? []).map((a) => (a as { data: unknown }).data);

describe("cluster DNS server", () => {
  let server: DnsServer;
  let upstream: ReturnType<typeof createSocket>;

  beforeAll(async () => {
    // A tiny resolver standing in for the host's: it knows one outside name.
    upstream = createSocket("udp4");
    upstream.on("message", (m, r) => {
      const q = dnsPacket.decode(m);
      const known = q.questions?.[0]?.name === "outside.example";
      upstream.send(
        dnsPacket.encode({
          id: q.id,
          type: "response",
          flags: known ? 0 : 3,
          questions: q.questions,
          answers: known ? [{ name: "outside.example", type: "A", ttl: 60, data: "192.0.2.1" }] : [],
        }),
        r.port,
        r.address,
      );
    });
    await new Promise<void>((resolve) => upstream.bind(0, "127.0.0.1", resolve));
    server = new DnsServer({
      records: new ClusterRecords(
        () => services,
        () => slices,
      ),
      host: "127.0.0.1",
      upstreams: [`127.0.0.1:${upstream.address().port}`],
    });
    await server.start();
  });

  afterAll(async () => {
    await server?.close();
    upstream?.close();
  });

  it("answers A for a Service's FQDN, authoritatively, with TTL 5", async () => {
    const r = await ask(server.port, "web.default.svc.cluster.local", "A");
    expect(r.id).toBe(4242);
    expect(r.rcode).toBe("NOERROR");
    expect(r.flag_aa).toBe(true);
    expect(r.answers).toEqual([
      {
        name: "web.default.svc.cluster.local",
        type: "A",
        ttl: 5,
        class: "IN",
        flush: false,
        data: "10.96.0.20",
      },
    ]);
  });

  it("answers a headless Service with its ready pods and each pod's hostname, over TCP too", async () => {
    expect(data(await ask(server.port, "db.default.svc.cluster.local", "A"))).toEqual([
      "10.244.0.7",
      "10.244.0.8",
    ]);
    expect(data(await ask(server.port, "db-1.db.default.svc.cluster.local", "A", true))).toEqual([
      "10.244.0.8",
    ]);
    expect((await ask(server.port, "db-2.db.default.svc.cluster.local", "A")).rcode).toBe("NXDOMAIN");
  });

  it("answers CNAME for ExternalName, SRV for named ports, PTR for ClusterIPs and headless pods", async () => {
    expect(data(await ask(server.port, "ext.prod.svc.cluster.local", "A"))).toEqual(["api.example.com"]);
    expect(data(await ask(server.port, "_http._tcp.web.default.svc.cluster.local", "SRV"))).toEqual([
      { priority: 0, weight: 100, port: 80, target: "web.default.svc.cluster.local" },
    ]);
    expect(data(await ask(server.port, "20.0.96.10.in-addr.arpa", "PTR"))).toEqual([
      "web.default.svc.cluster.local",
    ]);
    expect(data(await ask(server.port, "7.0.244.10.in-addr.arpa", "PTR"))).toEqual([
      "db-0.db.default.svc.cluster.local",
    ]);
  });

  it("says NXDOMAIN for unknown cluster names and NODATA for AAAA of an IPv4 Service", async () => {
    expect((await ask(server.port, "nope.default.svc.cluster.local", "A")).rcode).toBe("NXDOMAIN");
    const aaaa = await ask(server.port, "web.default.svc.cluster.local", "AAAA");
    expect([aaaa.rcode, aaaa.answers]).toEqual(["NOERROR", []]);
  });

  it("forwards other names to the host's resolver and relays its answer verbatim", async () => {
    const r = await ask(server.port, "outside.example", "A");
    expect([r.id, r.rcode, data(r)]).toEqual([4242, "NOERROR", ["192.0.2.1"]]);
    expect((await ask(server.port, "unknown.example", "A")).rcode).toBe("NXDOMAIN");
  });

  it("answers garbage with FORMERR and keeps serving", async () => {
    const reply = await server.answer(Buffer.from("0123456789abcdef-not-dns"), "udp");
    expect(reply && (dnsPacket.decode(reply) as Decoded).rcode).toBe("FORMERR");
    expect(await server.answer(Buffer.from("x"), "udp")).toBeUndefined();
    expect((await ask(server.port, "web.default.svc.cluster.local", "A")).rcode).toBe("NOERROR");
  });
});
