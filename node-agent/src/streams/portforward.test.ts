import { once } from "node:events";
import {
  connect,
  createServer,
  type OnReadOpts,
  type Server,
  type Socket,
  type TcpNetConnectOpts,
} from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import type { StreamOpen } from "../../../durable-objects/tunnel/protocol.ts";
import type { AgentStream } from "../tunnel.ts";
import { portForwardHandler, SPDY_PORTFORWARD_PROTOCOL } from "./portforward.ts";
import {
  controlFrame,
  dataFrame,
  FLAG_FIN,
  FrameParser,
  FrameType,
  HeaderCodec,
  SPDY3_DICTIONARY,
  type SpdyFrame,
  streamIdOf,
} from "./spdy-codec.ts";

/** The agent's end of a tunnel stream, in memory: what the handler sends is parsed as SPDY frames. */
function memoryStream(open: Partial<StreamOpen>) {
  const inbox: (Uint8Array | undefined)[] = [];
  let wake: (() => void) | undefined;
  const parser = new FrameParser();
  const frames: SpdyFrame[] = [];
  const seen: (() => void)[] = [];
  const controller = new AbortController();
  const stream: AgentStream = {
    open: {
      type: "open",
      stream: 1,
      kind: "portforward",
      namespace: "default",
      name: "p",
      uid: "u1",
      container: "",
      query: [],
      protocol: SPDY_PORTFORWARD_PROTOCOL,
      ...open,
    },
    async send(...message) {
      // One message, whatever parts it was handed in.
      frames.push(...parser.push(Buffer.concat(message)));
      for (const w of seen.splice(0)) w();
    },
    async read() {
      while (inbox.length === 0) await new Promise<void>((r) => (wake = r));
      return inbox.shift();
    },
    end() {},
    signal: controller.signal,
  };
  return {
    stream,
    frames,
    /** Client bytes, delivered as they would arrive in WebSocket messages. */
    push(bytes: Uint8Array | undefined) {
      inbox.push(bytes);
      wake?.();
    },
    /** Wait until a sent frame matches (each wait is bounded by the test's own timeout). */
    async until(match: (f: SpdyFrame) => boolean): Promise<SpdyFrame> {
      for (;;) {
        const found = frames.find(match);
        if (found) return found;
        await new Promise<void>((r) => seen.push(r));
      }
    },
  };
}

/** A client's SYN_STREAM for a port-forward stream. */
async function synStream(codec: HeaderCodec, id: number, type: string, port: number, requestId: string) {
  const block = await codec.encode(
    new Map([
      ["streamtype", [type]],
      ["port", [String(port)]],
      ["requestid", [requestId]],
    ]),
  );
  const payload = new Uint8Array(10 + block.byteLength);
  new DataView(payload.buffer).setUint32(0, id);
  payload.set(block, 10);
  return controlFrame(FrameType.SYN_STREAM, 0, payload);
}

const servers: Server[] = [];
afterEach(() => {
  for (const s of servers.splice(0)) s.close();
});

/** A real TCP server on loopback that answers each line upper-cased, then closes. */
async function upperServer(): Promise<number> {
  const server = createServer((socket) => {
    socket.on("data", (d) => socket.end(d.toString().toUpperCase()));
  });
  servers.push(server);
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return (server.address() as { port: number }).port;
}

const isData = (id: number, fin?: boolean) => (f: SpdyFrame) =>
  !f.control && f.stream === id && (fin === undefined || Boolean(f.flags & FLAG_FIN) === fin);

describe("SPDY/3.1 port-forward on the agent", () => {
  it("has the 1423-byte SPDY/3 dictionary and parses frames split across and packed into messages", () => {
    expect(SPDY3_DICTIONARY.byteLength).toBe(1423);
    const bytes = new Uint8Array([
      ...dataFrame(3, 0, new Uint8Array([1, 2, 3])),
      ...dataFrame(5, FLAG_FIN, new Uint8Array(0)),
    ]);
    const parser = new FrameParser();
    const frames = [...parser.push(bytes.subarray(0, 5)), ...parser.push(bytes.subarray(5))];
    expect(frames).toHaveLength(2);
    expect(frames[0]).toMatchObject({ control: false, stream: 3, flags: 0 });
    expect([...(frames[0] as { data: Uint8Array }).data]).toEqual([1, 2, 3]);
    expect(frames[1]).toMatchObject({ control: false, stream: 5, flags: FLAG_FIN });
  });

  it("replies to each stream, relays a connection both ways, echoes PING, and ends on the server's close", async () => {
    const port = await upperServer();
    const m = memoryStream({});
    const done = portForwardHandler({ podIP: () => "127.0.0.1" })(m.stream);
    const client = new HeaderCodec();
    // The client's header blocks share one zlib context, so later SYN_STREAMs depend on earlier ones.
    m.push(await synStream(client, 1, "error", port, "0"));
    m.push(await synStream(client, 3, "data", port, "0"));
    m.push(controlFrame(FrameType.PING, 0, new Uint8Array([0, 0, 0, 1])));
    m.push(dataFrame(3, 0, new TextEncoder().encode("hello\n")));
    const replies = await Promise.all(
      [1, 3].map((id) =>
        m.until((f) => f.control && f.type === FrameType.SYN_REPLY && streamIdOf(f.payload) === id),
      ),
    );
    const server = new HeaderCodec();
    for (const r of replies)
      expect((await server.decode((r as { payload: Uint8Array }).payload.subarray(4))).size).toBe(0);
    await m.until((f) => f.control && f.type === FrameType.PING);
    await m.until(isData(3, true));
    await m.until(isData(1, true));
    const text = Buffer.concat(
      m.frames.filter(isData(3)).map((f) => (f as { data: Uint8Array }).data),
    ).toString();
    expect(text).toBe("HELLO\n");
    // Nothing was written on the error stream.
    expect(m.frames.filter(isData(1)).every((f) => (f as { data: Uint8Array }).data.byteLength === 0)).toBe(
      true,
    );
    // The finished connection is forgotten: more data on its stream is refused, not kept.
    m.push(dataFrame(3, 0, new TextEncoder().encode("late")));
    await m.until((f) => f.control && f.type === FrameType.RST_STREAM && streamIdOf(f.payload) === 3);
    m.push(undefined);
    await done;
  });

  it("reports a refused connection on the error stream in kube's words", async () => {
    const server = createServer();
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    server.close();
    await once(server, "close");
    const m = memoryStream({});
    const done = portForwardHandler({ podIP: () => "127.0.0.1" })(m.stream);
    const client = new HeaderCodec();
    m.push(await synStream(client, 1, "error", port, "7"));
    m.push(await synStream(client, 3, "data", port, "7"));
    await m.until(isData(1, true));
    const message = Buffer.concat(
      m.frames.filter(isData(1)).map((f) => (f as { data: Uint8Array }).data),
    ).toString();
    expect(message).toMatch(
      new RegExp(`^error forwarding port ${port} to pod default/p, uid u1: .*ECONNREFUSED`),
    );
    m.push(undefined);
    await done;
  });

  it("relays a large download intact while the tunnel makes each message wait (buffers reused only once sent)", async () => {
    // 3 MiB of a pattern that differs at every offset a reused buffer could shift it to.
    const body = Buffer.alloc(3 * 1024 * 1024);
    for (let i = 0; i < body.length; i += 4) body.writeUInt32BE(i, i);
    const server = createServer((socket) => socket.end(body));
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    const m = memoryStream({});
    const send = m.stream.send;
    // Like a tunnel waiting for credit: the message is copied only later.
    m.stream.send = async (...message) => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return send(...message);
    };
    const done = portForwardHandler({ podIP: () => "127.0.0.1" })(m.stream);
    const client = new HeaderCodec();
    m.push(await synStream(client, 1, "error", port, "0"));
    m.push(await synStream(client, 3, "data", port, "0"));
    await m.until(isData(3, true));
    const got = Buffer.concat(m.frames.filter(isData(3)).map((f) => (f as { data: Uint8Array }).data));
    expect(got.length).toBe(body.length);
    expect(got.equals(body)).toBe(true);
    m.push(undefined);
    await done;
  });

  it("sends what the pod wrote while a message was on its way as one message, and its FIN after it", async () => {
    // The pod writes "first", then (once the agent read it) 200 small pieces and closes.
    const pieces = Array.from({ length: 200 }, (_, i) => `piece ${i};`);
    let agentRead!: () => void;
    const firstRead = new Promise<void>((resolve) => {
      agentRead = resolve;
    });
    const server = createServer(async (socket) => {
      socket.write("first;");
      await firstRead;
      for (const piece of pieces) socket.write(piece);
      socket.end();
    });
    servers.push(server);
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    const port = (server.address() as { port: number }).port;
    // The tunnel is slow: nothing leaves the agent until its socket to the pod has ended.
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const m = memoryStream({});
    const send = m.stream.send;
    m.stream.send = async (...message) => {
      await gate;
      return send(...message);
    };
    const dial = (options: TcpNetConnectOpts): Socket => {
      const onread = options.onread as OnReadOpts;
      const socket = connect({
        ...options,
        onread: {
          ...onread,
          callback: (n, buffer) => {
            agentRead();
            return onread.callback(n, buffer);
          },
        },
      });
      socket.once("end", () => release());
      return socket;
    };
    const done = portForwardHandler({ podIP: () => "127.0.0.1", connect: dial })(m.stream);
    const client = new HeaderCodec();
    m.push(await synStream(client, 1, "error", port, "0"));
    m.push(await synStream(client, 3, "data", port, "0"));
    await m.until(isData(3, true));
    const data = m.frames
      .filter(isData(3))
      .map((f) => Buffer.from((f as { data: Uint8Array }).data).toString());
    // "first;", everything held behind it in one message, then the FIN (empty) last.
    expect(data).toEqual(["first;", pieces.join(""), ""]);
    m.push(undefined);
    await done;
  });
});
