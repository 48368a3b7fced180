/**
 * A minimal SPDY/3.1 client, enough to drive a CRI streaming server
 * (containerd's, which is kubelet's streaming code: Go spdystream): open
 * streams with headers, send DATA (FIN = half-close), receive DATA/FIN per
 * stream, echo PINGs. Like spdystream it does no flow control (neither side
 * sends WINDOW_UPDATE). Header blocks we send are zlib "stored" blocks in one
 * continuing stream (valid zlib; the peer's dictionary is then never
 * referenced); header blocks we receive are not needed (exec streams are all
 * opened by us), so they are skipped, not inflated.
 */
import { request } from "node:http";
import type { Socket } from "node:net";

const VERSION = 3;
const SYN_STREAM = 1;
const SYN_REPLY = 2;
const RST_STREAM = 3;
const PING = 6;
const GOAWAY = 7;
const HEADERS = 8;
const FLAG_FIN = 0x01;
/** An empty non-final stored deflate block: the end of a zlib sync flush. */
const SYNC_FLUSH = Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]);
/** Largest DATA payload we send in one frame. */
const MAX_DATA = 32 * 1024;

/** One SPDY stream opened by us. */
export interface SpdyStream {
  readonly id: number;
  /** Send bytes (resolves when the socket took them, so a slow peer slows the sender). */
  write(data: Uint8Array): Promise<void>;
  /** Half-close: DATA with FIN. */
  end(): void;
}

/** Called per received DATA payload; a returned promise pauses reading until it settles. */
export type DataHandler = (data: Buffer) => void | Promise<void>;

/** A SPDY/3.1 connection over an upgraded HTTP/1.1 socket. */
export class SpdyClient {
  private nextId = 1;
  private firstHeaderBlock = true;
  private buffer: Buffer = Buffer.alloc(0);
  private chain: Promise<void> = Promise.resolve();
  private readonly handlers = new Map<number, { data: DataHandler; end: () => void }>();
  /** Resolves once the peer closed the connection and every frame before that was handled. */
  readonly closed: Promise<void>;

  private constructor(
    private readonly socket: Socket,
    head: Buffer,
  ) {
    this.closed = new Promise((resolve) => {
      const finish = () => {
        this.chain = this.chain.then(() => {
          for (const h of this.handlers.values()) h.end();
          this.handlers.clear();
          resolve();
        });
      };
      socket.once("end", finish);
      socket.once("close", finish);
      socket.on("error", () => socket.destroy());
    });
    socket.on("data", (chunk: Buffer) => this.receive(chunk));
    if (head.byteLength > 0) this.receive(head);
  }

  /**
   * Upgrade an HTTP request to `url` to SPDY/3.1, asking for `protocol`
   * (X-Stream-Protocol-Version). Rejects with the server's answer otherwise.
   */
  static dial(url: string, protocol: string): Promise<SpdyClient> {
    return new Promise((resolve, reject) => {
      const req = request(url, {
        method: "POST",
        headers: { Connection: "Upgrade", Upgrade: "SPDY/3.1", "X-Stream-Protocol-Version": protocol },
      });
      req.on("upgrade", (res, socket, head) => {
        const chosen = res.headers["x-stream-protocol-version"];
        if (chosen !== protocol) {
          socket.destroy();
          reject(new Error(`stream server chose protocol ${String(chosen)}, wanted ${protocol}`));
          return;
        }
        socket.setNoDelay(true);
        resolve(new SpdyClient(socket, head));
      });
      req.on("response", (res) => {
        const body: Buffer[] = [];
        res.on("data", (c: Buffer) => body.push(c));
        res.on("end", () =>
          reject(
            new Error(
              `stream server answered HTTP ${res.statusCode}: ${Buffer.concat(body).toString().slice(0, 200)}`,
            ),
          ),
        );
      });
      req.on("error", reject);
      req.end();
    });
  }

  /** Open a stream with `headers` (names are lowercased, as SPDY requires). */
  open(headers: Record<string, string>, onData: DataHandler, onEnd: () => void): SpdyStream {
    const id = this.nextId;
    this.nextId += 2;
    this.handlers.set(id, { data: onData, end: onEnd });
    const block = this.headerBlock(headers);
    const body = Buffer.alloc(10 + block.byteLength);
    body.writeUInt32BE(id, 0);
    body.writeUInt32BE(0, 4);
    block.copy(body, 10);
    this.socket.write(control(SYN_STREAM, 0, body));
    let ended = false;
    return {
      id,
      write: async (data) => {
        for (let at = 0; at < data.byteLength; at += MAX_DATA) {
          const ok = this.socket.write(dataFrame(id, 0, data.subarray(at, at + MAX_DATA)));
          if (!ok && !this.socket.destroyed) await new Promise((r) => this.socket.once("drain", r));
        }
      },
      end: () => {
        if (ended || this.socket.destroyed) return;
        ended = true;
        this.socket.write(dataFrame(id, FLAG_FIN, new Uint8Array(0)));
      },
    };
  }

  /** Drop the connection. */
  close(): void {
    this.socket.destroy();
  }

  /** A header block: count, then length-prefixed names and values, as zlib stored blocks. */
  private headerBlock(headers: Record<string, string>): Buffer {
    const parts: Buffer[] = [];
    const u32 = (n: number) => {
      const b = Buffer.alloc(4);
      b.writeUInt32BE(n);
      return b;
    };
    const entries = Object.entries(headers);
    parts.push(u32(entries.length));
    for (const [name, value] of entries) {
      const n = Buffer.from(name.toLowerCase());
      const v = Buffer.from(value);
      parts.push(u32(n.byteLength), n, u32(v.byteLength), v);
    }
    const raw = Buffer.concat(parts);
    // Stored (uncompressed) deflate block, not final: BFINAL=0 BTYPE=00, then LEN and its complement.
    const stored = Buffer.alloc(5);
    stored[0] = 0;
    stored.writeUInt16LE(raw.byteLength, 1);
    stored.writeUInt16LE(~raw.byteLength & 0xffff, 3);
    // The zlib header (deflate, 32K window, no dictionary) opens the connection's one stream.
    const head = this.firstHeaderBlock ? Buffer.from([0x78, 0x01]) : Buffer.alloc(0);
    this.firstHeaderBlock = false;
    // Then an empty stored block, as a zlib sync flush ends: inflaters (Go's flate) hand the data
    // over only when they reach it, and must not read past this frame to find the next block.
    return Buffer.concat([head, stored, raw, SYNC_FLUSH]);
  }

  private receive(chunk: Buffer): void {
    this.buffer = this.buffer.byteLength === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.byteLength < 8) return;
      const length = this.buffer.readUIntBE(5, 3);
      if (this.buffer.byteLength < 8 + length) return;
      const frame = this.buffer.subarray(0, 8 + length);
      this.buffer = this.buffer.subarray(8 + length);
      this.chain = this.chain.then(() => this.handle(frame));
      // Hold the socket while handlers are busy: back-pressure reaches the peer through TCP.
      this.socket.pause();
      const mark = this.chain;
      void mark.then(() => {
        if (this.chain === mark && !this.socket.destroyed) this.socket.resume();
      });
    }
  }

  private async handle(frame: Buffer): Promise<void> {
    const flags = frame[4];
    const payload = frame.subarray(8);
    if (!(frame[0] & 0x80)) {
      const id = frame.readUInt32BE(0) & 0x7fffffff;
      const h = this.handlers.get(id);
      if (!h) return;
      if (payload.byteLength > 0) await h.data(payload);
      if (flags & FLAG_FIN) this.finish(id);
      return;
    }
    const type = frame.readUInt16BE(2);
    if (type === PING) this.socket.write(frame);
    else if (type === SYN_REPLY || type === HEADERS) {
      if (flags & FLAG_FIN) this.finish(payload.readUInt32BE(0) & 0x7fffffff);
    } else if (type === RST_STREAM) this.finish(payload.readUInt32BE(0) & 0x7fffffff);
    else if (type === GOAWAY) this.socket.end();
  }

  private finish(id: number): void {
    const h = this.handlers.get(id);
    this.handlers.delete(id);
    h?.end();
  }
}

function control(type: number, flags: number, body: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + body.byteLength);
  out.writeUInt16BE(0x8000 | VERSION, 0);
  out.writeUInt16BE(type, 2);
  out.writeUInt32BE(((flags & 0xff) << 24) | body.byteLength, 4);
  out.set(body, 8);
  return out;
}

function dataFrame(id: number, flags: number, data: Uint8Array): Buffer {
  const out = Buffer.alloc(8 + data.byteLength);
  out.writeUInt32BE(id & 0x7fffffff, 0);
  out.writeUInt32BE(((flags & 0xff) << 24) | data.byteLength, 4);
  out.set(data, 8);
  return out;
}
