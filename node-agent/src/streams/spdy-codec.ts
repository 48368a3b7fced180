/**
 * SPDY/3.1 framing, the server half that kubectl's port-forward needs
 * (kubectl 1.31+ tunnels one SPDY connection inside a WebSocket). Like Go's
 * spdystream, which kubectl uses, there is no flow control: WINDOW_UPDATE and
 * SETTINGS are parsed and ignored (spdystream never sends them and never
 * honours ours), so back-pressure comes from the transport underneath.
 * Header blocks are zlib streams primed with the SPDY/3 dictionary, one
 * compression context per direction for the connection's whole life.
 */
import { constants, createDeflate, createInflate, type Deflate, type Inflate } from "node:zlib";

/** Control frame types (SPDY/3 §2.6). */
export const FrameType = {
  SYN_STREAM: 1,
  SYN_REPLY: 2,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  HEADERS: 8,
  WINDOW_UPDATE: 9,
} as const;

/** FLAG_FIN on data and control frames. */
export const FLAG_FIN = 0x01;

/** RST_STREAM status codes used here. */
export const RstStatus = { PROTOCOL_ERROR: 1, INVALID_STREAM: 2, REFUSED_STREAM: 3, CANCEL: 5 } as const;

/** Largest frame payload accepted (24-bit length field; anything near it is abuse here). */
const MAX_PAYLOAD = 1 << 24;

/** A parsed frame; control frames keep their raw payload for the typed readers below. */
export type SpdyFrame =
  | { control: false; stream: number; flags: number; data: Uint8Array }
  | { control: true; type: number; flags: number; payload: Uint8Array };

/**
 * The SPDY/3 header dictionary (spec draft 3 §2.6.10.1): length-prefixed
 * header names and common values, then a tail of status lines, dates and
 * media types. Built from its parts; 1423 bytes.
 */
export const SPDY3_DICTIONARY: Uint8Array = (() => {
  const words = [
    "options",
    "head",
    "post",
    "put",
    "delete",
    "trace",
    "accept",
    "accept-charset",
    "accept-encoding",
    "accept-language",
    "accept-ranges",
    "age",
    "allow",
    "authorization",
    "cache-control",
    "connection",
    "content-base",
    "content-encoding",
    "content-language",
    "content-length",
    "content-location",
    "content-md5",
    "content-range",
    "content-type",
    "date",
    "etag",
    "expect",
    "expires",
    "from",
    "host",
    "if-match",
    "if-modified-since",
    "if-none-match",
    "if-range",
    "if-unmodified-since",
    "last-modified",
    "location",
    "max-forwards",
    "pragma",
    "proxy-authenticate",
    "proxy-authorization",
    "range",
    "referer",
    "retry-after",
    "server",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "user-agent",
    "vary",
    "via",
    "warning",
    "www-authenticate",
    "method",
    "get",
    "status",
    "200 OK",
    "version",
    "HTTP/1.1",
    "url",
    "public",
    "set-cookie",
    "keep-alive",
    "origin",
  ];
  const tail =
    "100101201202205206300302303304305306307402405406407408409410411412413414415416417502504505" +
    "203 Non-Authoritative Information204 No Content301 Moved Permanently400 Bad Request401 Unauthorized" +
    "403 Forbidden404 Not Found500 Internal Server Error501 Not Implemented503 Service Unavailable" +
    "Jan Feb Mar Apr May Jun Jul Aug Sept Oct Nov Dec 00:00:00 Mon, Tue, Wed, Thu, Fri, Sat, Sun, GMT" +
    "chunked,text/html,image/png,image/jpg,image/gif,application/xml,application/xhtml+xml," +
    "text/plain,text/javascript,publicprivatemax-age=gzip,deflate,sdchcharset=utf-8" +
    "charset=iso-8859-1,utf-,*,enq=0.";
  const parts: Buffer[] = [];
  for (const word of words) {
    const len = Buffer.alloc(4);
    len.writeUInt32BE(word.length);
    parts.push(len, Buffer.from(word, "latin1"));
  }
  parts.push(Buffer.from(tail, "latin1"));
  return new Uint8Array(Buffer.concat(parts));
})();

/** Incremental frame parser: feed bytes as they arrive (frames may span or share messages). */
export class FrameParser {
  private buffer: Buffer = Buffer.alloc(0);

  /** Append bytes; returns every frame now complete. Throws on a malformed frame. */
  push(bytes: Uint8Array): SpdyFrame[] {
    this.buffer = this.buffer.length === 0 ? Buffer.from(bytes) : Buffer.concat([this.buffer, bytes]);
    const frames: SpdyFrame[] = [];
    while (this.buffer.length >= 8) {
      const length = this.buffer.readUIntBE(5, 3);
      if (length >= MAX_PAYLOAD) throw new Error("SPDY frame too large");
      if (this.buffer.length < 8 + length) break;
      const flags = this.buffer[4];
      const body = this.buffer.subarray(8, 8 + length);
      if (this.buffer[0] & 0x80) {
        const version = this.buffer.readUInt16BE(0) & 0x7fff;
        if (version !== 3) throw new Error(`unsupported SPDY version ${version}`);
        frames.push({ control: true, type: this.buffer.readUInt16BE(2), flags, payload: body });
      } else {
        frames.push({ control: false, stream: this.buffer.readUInt32BE(0) & 0x7fffffff, flags, data: body });
      }
      this.buffer = this.buffer.subarray(8 + length);
    }
    return frames;
  }
}

/** One control frame. */
export function controlFrame(type: number, flags: number, payload: Uint8Array): Uint8Array {
  const out = Buffer.alloc(8 + payload.byteLength);
  out.writeUInt16BE(0x8003, 0);
  out.writeUInt16BE(type, 2);
  out[4] = flags;
  out.writeUIntBE(payload.byteLength, 5, 3);
  out.set(payload, 8);
  return out;
}

/** One data frame. */
export function dataFrame(stream: number, flags: number, data: Uint8Array): Uint8Array {
  return Buffer.concat([dataFrameHeader(stream, flags, data.byteLength), data]);
}

/** The 8 bytes before a data frame's `length` bytes of data (sent as their own part, so the data is not copied here). */
export function dataFrameHeader(stream: number, flags: number, length: number): Uint8Array {
  const out = Buffer.allocUnsafe(8);
  out.writeUInt32BE(stream & 0x7fffffff, 0);
  out[4] = flags;
  out.writeUIntBE(length, 5, 3);
  return out;
}

/** RST_STREAM for `stream`. */
export function rstStream(stream: number, status: number): Uint8Array {
  const payload = Buffer.alloc(8);
  payload.writeUInt32BE(stream & 0x7fffffff, 0);
  payload.writeUInt32BE(status, 4);
  return controlFrame(FrameType.RST_STREAM, 0, payload);
}

/** The stream id at the start of SYN_STREAM, SYN_REPLY, RST_STREAM, HEADERS and WINDOW_UPDATE payloads. */
export function streamIdOf(payload: Uint8Array): number {
  if (payload.byteLength < 4) throw new Error("SPDY control frame too short");
  return Buffer.from(payload.buffer, payload.byteOffset, 4).readUInt32BE(0) & 0x7fffffff;
}

/** Header names (lower case) to their values (several values of one name joined by NUL on the wire). */
export type SpdyHeaders = Map<string, string[]>;

/** Serialise a header block before compression. */
export function encodeHeaderBlock(headers: SpdyHeaders): Uint8Array {
  const parts: Buffer[] = [];
  const u32 = (n: number) => {
    const b = Buffer.alloc(4);
    b.writeUInt32BE(n);
    return b;
  };
  parts.push(u32(headers.size));
  for (const [name, values] of headers) {
    const n = Buffer.from(name.toLowerCase(), "utf8");
    const v = Buffer.from(values.join("\0"), "utf8");
    parts.push(u32(n.length), n, u32(v.length), v);
  }
  return Buffer.concat(parts);
}

/** Parse a decompressed header block. Throws on a truncated one. */
export function decodeHeaderBlock(block: Uint8Array): SpdyHeaders {
  const buf = Buffer.from(block.buffer, block.byteOffset, block.byteLength);
  let at = 0;
  const u32 = () => {
    if (at + 4 > buf.length) throw new Error("truncated SPDY header block");
    const n = buf.readUInt32BE(at);
    at += 4;
    return n;
  };
  const str = () => {
    const len = u32();
    if (at + len > buf.length) throw new Error("truncated SPDY header block");
    const s = buf.toString("utf8", at, at + len);
    at += len;
    return s;
  };
  const count = u32();
  const headers: SpdyHeaders = new Map();
  for (let i = 0; i < count; i++) {
    const name = str().toLowerCase();
    headers.set(name, [...(headers.get(name) ?? []), ...str().split("\0")]);
  }
  return headers;
}

/** Run a zlib stream over one chunk and a sync flush, collecting what it produced. */
function runZlib(stream: Inflate | Deflate, chunk: Uint8Array): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = [];
    const onData = (b: Buffer) => out.push(b);
    const onError = (e: Error) => {
      stream.off("data", onData);
      reject(e);
    };
    stream.on("data", onData);
    stream.once("error", onError);
    stream.write(chunk);
    stream.flush(constants.Z_SYNC_FLUSH, () => {
      stream.off("data", onData);
      stream.off("error", onError);
      resolve(Buffer.concat(out));
    });
  });
}

/**
 * The connection's two header compression contexts. Calls must be made in
 * frame order per direction (the zlib state carries over between blocks);
 * each method queues behind the previous call of its direction.
 */
export class HeaderCodec {
  private readonly inflate = createInflate({ dictionary: SPDY3_DICTIONARY });
  private readonly deflate = createDeflate({ dictionary: SPDY3_DICTIONARY });
  private inflating: Promise<unknown> = Promise.resolve();
  private deflating: Promise<unknown> = Promise.resolve();

  /** Decompress and parse one received header block. */
  decode(compressed: Uint8Array): Promise<SpdyHeaders> {
    const result = this.inflating.then(() => runZlib(this.inflate, compressed)).then(decodeHeaderBlock);
    this.inflating = result.catch(() => {});
    return result;
  }

  /** Serialise and compress one header block to send. */
  encode(headers: SpdyHeaders): Promise<Uint8Array> {
    const result = this.deflating.then(() => runZlib(this.deflate, encodeHeaderBlock(headers)));
    this.deflating = result.catch(() => {});
    return result;
  }

  /** Free the zlib contexts. */
  close(): void {
    this.inflate.destroy();
    this.deflate.destroy();
  }
}
