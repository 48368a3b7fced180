/**
 * The node's cluster DNS server: UDP and TCP (2-byte length prefix) on one
 * address, wire format by `dns-packet`. Names in the cluster zone and cluster
 * reverse addresses are answered from ClusterRecords (authoritative, NXDOMAIN
 * for unknown names); everything else is relayed verbatim to the host's
 * resolvers (from /etc/resolv.conf), UDP for UDP and TCP for TCP.
 */
import { createSocket, type Socket } from "node:dgram";
import { connect, createServer, type Server } from "node:net";
import * as dnsPacket from "dns-packet";
import type { ClusterRecords } from "./records.ts";

/** Where the server listens and whom it asks for other names. */
export interface DnsServerOptions {
  records: ClusterRecords;
  /** Listen address; port 0 picks a free one (the same for UDP and TCP). */
  host: string;
  port?: number;
  /** Upstream resolvers, "ip" or "ip:port" (the host's nameservers). */
  upstreams: string[];
  /** How long one upstream gets before the next is tried (ms, default 2000). */
  upstreamTimeoutMs?: number;
  log?: (message: string) => void;
}

const RCODE = { NOERROR: 0, FORMERR: 1, SERVFAIL: 2, NXDOMAIN: 3 } as const;

/** A running DNS server. */
export class DnsServer {
  private udp?: Socket;
  private tcp?: Server;
  /** The port both transports listen on. */
  port = 0;

  constructor(private readonly options: DnsServerOptions) {}

  /** Binds UDP and TCP on the same port. */
  async start(): Promise<void> {
    const { host } = this.options;
    // The UDP port is chosen first; TCP takes the same number (retried when that one is taken on TCP).
    for (let attempt = 0; ; attempt++) {
      const udp = createSocket("udp4");
      await new Promise<void>((resolve, reject) => {
        udp.once("error", reject);
        udp.bind(this.options.port ?? 0, host, () => resolve());
      });
      const port = udp.address().port;
      const tcp = createServer((socket) => this.serveTcp(socket));
      const ok = await new Promise<boolean>((resolve) => {
        tcp.once("error", () => resolve(false));
        tcp.listen(port, host, () => resolve(true));
      });
      if (!ok) {
        udp.close();
        if (this.options.port || attempt > 10) throw new Error(`dns: tcp port ${port} on ${host} is taken`);
        continue;
      }
      udp.on("error", (e) => this.options.log?.(`dns: udp: ${e.message}`));
      udp.on("message", (msg, rinfo) => {
        void this.answer(msg, "udp").then((reply) => {
          if (reply) udp.send(reply, rinfo.port, rinfo.address);
        });
      });
      this.udp = udp;
      this.tcp = tcp;
      this.port = port;
      return;
    }
  }

  /** Stops both listeners. */
  async close(): Promise<void> {
    this.udp?.close();
    await new Promise<void>((resolve) => (this.tcp ? this.tcp.close(() => resolve()) : resolve()));
  }

  private serveTcp(socket: import("node:net").Socket): void {
    let buffered = Buffer.alloc(0);
    socket.on("error", () => {});
    socket.setTimeout(10_000, () => socket.destroy());
    socket.on("data", (chunk) => {
      buffered = Buffer.concat([buffered, chunk]);
      while (buffered.length >= 2) {
        const length = buffered.readUInt16BE(0);
        if (buffered.length < 2 + length) break;
        const msg = buffered.subarray(2, 2 + length);
        buffered = buffered.subarray(2 + length);
        void this.answer(msg, "tcp").then((reply) => {
          if (!reply || socket.destroyed) return;
          const head = Buffer.alloc(2);
          head.writeUInt16BE(reply.length);
          socket.write(Buffer.concat([head, reply]));
        });
      }
    });
  }

  /** The reply to one query message (undefined: drop it, as for garbage that is not even a header). */
  async answer(msg: Buffer, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    let query: dnsPacket.Packet;
    try {
      query = dnsPacket.decode(msg);
    } catch {
      if (msg.length < 12) return undefined;
      return reply(msg.readUInt16BE(0), [], [], RCODE.FORMERR, 0);
    }
    const question = query.questions?.[0];
    const rd = (query.flags ?? 0) & dnsPacket.RECURSION_DESIRED;
    if (query.type !== "query" || !question || query.questions?.length !== 1)
      return reply(query.id ?? 0, query.questions ?? [], [], RCODE.FORMERR, rd);
    const result = this.options.records.resolve(question.name, question.type);
    if (!result)
      return (await this.forward(msg, transport)) ?? reply(query.id ?? 0, [question], [], RCODE.SERVFAIL, rd);
    if ("nxdomain" in result)
      return reply(query.id ?? 0, [question], [], RCODE.NXDOMAIN, rd | dnsPacket.AUTHORITATIVE_ANSWER);
    const encoded = reply(
      query.id ?? 0,
      [question],
      result.answers,
      RCODE.NOERROR,
      rd | dnsPacket.AUTHORITATIVE_ANSWER,
    );
    // UDP answers larger than 512 bytes set TC so the client retries over TCP (RFC 1035 4.2.1).
    if (transport === "udp" && encoded.length > 512)
      return reply(
        query.id ?? 0,
        [question],
        [],
        RCODE.NOERROR,
        rd | dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.TRUNCATED_RESPONSE,
      );
    return encoded;
  }

  private async forward(msg: Buffer, transport: "udp" | "tcp"): Promise<Buffer | undefined> {
    for (const upstream of this.options.upstreams) {
      const [host, port] = upstream.includes(":") ? upstream.split(":") : [upstream, "53"];
      try {
        return await (transport === "udp" ? udpAsk : tcpAsk)(
          msg,
          host ?? "",
          Number(port),
          this.options.upstreamTimeoutMs ?? 2000,
        );
      } catch (error) {
        this.options.log?.(`dns: upstream ${upstream}: ${(error as Error).message}`);
      }
    }
    return undefined;
  }
}

function reply(
  id: number,
  questions: dnsPacket.Question[],
  answers: dnsPacket.Answer[],
  rcode: number,
  flags: number,
): Buffer {
  return dnsPacket.encode({
    id,
    type: "response",
    flags: flags | dnsPacket.RECURSION_AVAILABLE | rcode,
    questions,
    answers,
  });
}

function udpAsk(msg: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    const timer = setTimeout(() => done(new Error("timeout")), timeoutMs);
    function done(error?: Error, answer?: Buffer) {
      clearTimeout(timer);
      socket.close();
      if (error || !answer) reject(error ?? new Error("no answer"));
      else resolve(answer);
    }
    socket.on("error", (e) => done(e));
    // Only an answer with the query's id from the server asked counts (no spoofed or stray datagrams).
    socket.on("message", (answer, rinfo) => {
      if (rinfo.address === host && answer.length >= 2 && answer.readUInt16BE(0) === msg.readUInt16BE(0))
        done(undefined, answer);
    });
    socket.send(msg, port, host);
  });
}

function tcpAsk(msg: Buffer, host: string, port: number, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, host);
    let data = Buffer.alloc(0);
    socket.setTimeout(timeoutMs, () => socket.destroy(new Error("timeout")));
    socket.on("error", reject);
    socket.on("connect", () => {
      const head = Buffer.alloc(2);
      head.writeUInt16BE(msg.length);
      socket.write(Buffer.concat([head, msg]));
    });
    socket.on("data", (chunk) => {
      data = Buffer.concat([data, chunk]);
      if (data.length >= 2 && data.length >= 2 + data.readUInt16BE(0)) {
        socket.end();
        resolve(data.subarray(2, 2 + data.readUInt16BE(0)));
      }
    });
    socket.on("close", () => reject(new Error("closed before an answer")));
  });
}
