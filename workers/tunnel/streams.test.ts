import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  creditPayload,
  decodeFrame,
  encodeFrame,
  readCredit,
  type StreamFrame,
  StreamOp,
  type StreamOpen,
} from "../../durable-objects/tunnel/protocol.ts";
import { openStream, type StreamSpec } from "./streams.ts";

const spec: StreamSpec = {
  kind: "exec",
  namespace: "default",
  name: "p",
  uid: "uid-1",
  container: "main",
  query: [
    ["command", "sh"],
    ["command", "-c"],
  ],
  protocol: "v5.channel.k8s.io",
};

/** A message queue over a WebSocket, so a test can await the next text or binary message. */
function inbox(ws: WebSocket) {
  const queue: (string | ArrayBuffer | { close: number })[] = [];
  const waiters: (() => void)[] = [];
  const push = (m: string | ArrayBuffer | { close: number }) => {
    queue.push(m);
    for (const w of waiters.splice(0)) w();
  };
  // Binary messages may arrive as Blobs: convert in arrival order.
  let chain = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as string | ArrayBuffer | Blob;
    chain = chain.then(async () => push(data instanceof Blob ? await data.arrayBuffer() : data));
  });
  ws.addEventListener("close", (e) => {
    chain = chain.then(() => push({ close: e.code }));
  });
  return async function next(): Promise<string | ArrayBuffer | { close: number }> {
    while (queue.length === 0) await new Promise<void>((r) => waiters.push(r));
    return queue.shift()!;
  };
}

async function connectAgent(node: string) {
  const response = await SELF.fetch(`https://edgeplane.test/edgeplane/v1/tunnel/${node}`, {
    headers: { Upgrade: "websocket", Authorization: "Bearer test-admin-token" },
  });
  expect(response.status).toBe(101);
  const ws = response.webSocket!;
  ws.accept();
  return { ws, next: inbox(ws) };
}

async function nextFrame(next: () => Promise<unknown>): Promise<StreamFrame> {
  const m = await next();
  expect(m).toBeInstanceOf(ArrayBuffer);
  return decodeFrame(m as ArrayBuffer)!;
}

const upgrade = () => new Request("https://x/", { headers: { Upgrade: "websocket" } });

describe("tunnel v2 streams", () => {
  it("answers 503 when the node's agent is not connected", async () => {
    const response = await openStream(env, "n-absent", spec, upgrade());
    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ reason: "ServiceUnavailable" });
  });

  it("relays messages both ways, refills the agent's window by what it relayed, and ends and resets streams", async () => {
    const agent = await connectAgent("n-streams");
    const response = await openStream(env, "n-streams", spec, upgrade());
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("v5.channel.k8s.io");
    const client = response.webSocket!;
    client.accept();
    const clientNext = inbox(client);

    const open = JSON.parse((await agent.next()) as string) as StreamOpen;
    expect(open).toMatchObject({ type: "open", ...spec });
    const id = open.stream;

    // Agent → client: one DATA frame is one client message; the object returns that many bytes of credit.
    agent.ws.send(encodeFrame(StreamOp.DATA, id, new Uint8Array([1, 104, 105]), 0));
    expect(new Uint8Array((await clientNext()) as ArrayBuffer)).toEqual(new Uint8Array([1, 104, 105]));
    const credit = await nextFrame(agent.next);
    expect([credit.op, credit.stream, readCredit(credit.payload)]).toEqual([StreamOp.CREDIT, id, 3]);

    // Client → agent: its messages arrive as DATA, in order (the v5 close signal is just a message).
    client.send(new Uint8Array([0, 120]));
    const first = await nextFrame(agent.next);
    client.send(new Uint8Array([255, 0]));
    const second = await nextFrame(agent.next);
    expect([first.op, first.stream, [...first.payload]]).toEqual([StreamOp.DATA, id, [0, 120]]);
    expect([...second.payload]).toEqual([255, 0]);

    // Agent END closes the client normally.
    agent.ws.send(encodeFrame(StreamOp.END, id, undefined, 1));
    expect(await clientNext()).toEqual({ close: 1000 });

    // Frames for a stream the object does not know are answered with RESET.
    agent.ws.send(encodeFrame(StreamOp.DATA, 12345, new Uint8Array([1])));
    // (The ended stream's own RESET, sent when its client socket closed, may come first.)
    let reset = await nextFrame(agent.next);
    if (reset.stream === id) reset = await nextFrame(agent.next);
    expect([reset.op, reset.stream]).toEqual([StreamOp.RESET, 12345]);
    agent.ws.close();
  });

  it("resets the agent's side when the client leaves, and closes clients when the agent goes", async () => {
    const agent = await connectAgent("n-leave");
    const a = (await openStream(env, "n-leave", spec, upgrade())).webSocket!;
    a.accept();
    const openA = JSON.parse((await agent.next()) as string) as StreamOpen;
    a.close(1000, "bye");
    const reset = await nextFrame(agent.next);
    expect([reset.op, reset.stream]).toEqual([StreamOp.RESET, openA.stream]);

    const b = (await openStream(env, "n-leave", spec, upgrade())).webSocket!;
    b.accept();
    const bNext = inbox(b);
    await agent.next();
    agent.ws.close(1000);
    expect(await bNext()).toEqual({ close: 1011 });
  });

  it("never holds more than the agent's credit: credit is only returned for bytes handed on", async () => {
    const agent = await connectAgent("n-credit");
    const client = (await openStream(env, "n-credit", spec, upgrade())).webSocket!;
    client.accept();
    const clientNext = inbox(client);
    const { stream } = JSON.parse((await agent.next()) as string) as StreamOpen;
    let credited = 0;
    let received = 0;
    const chunk = new Uint8Array(32 * 1024).fill(7);
    for (let i = 0; i < 16; i++) agent.ws.send(encodeFrame(StreamOp.DATA, stream, chunk, i));
    for (let i = 0; i < 16; i++) {
      received += ((await clientNext()) as ArrayBuffer).byteLength;
      const c = await nextFrame(agent.next);
      credited += readCredit(c.payload);
      // Every credited byte has reached the client already.
      expect(credited).toBeLessThanOrEqual(received);
    }
    expect(credited).toBe(16 * chunk.byteLength);
    expect(creditPayload(5)).toEqual(new Uint8Array([0, 0, 0, 5]));
    agent.ws.close();
  });

  it("relays the agent's frames in the agent's order, whatever order they arrive in", async () => {
    const agent = await connectAgent("n-order");
    const client = (await openStream(env, "n-order", spec, upgrade())).webSocket!;
    client.accept();
    const clientNext = inbox(client);
    const { stream } = JSON.parse((await agent.next()) as string) as StreamOpen;
    agent.ws.send(encodeFrame(StreamOp.END, stream, undefined, 3));
    agent.ws.send(encodeFrame(StreamOp.DATA, stream, new Uint8Array([1, 99]), 2));
    agent.ws.send(encodeFrame(StreamOp.DATA, stream, new Uint8Array([1, 97]), 0));
    agent.ws.send(encodeFrame(StreamOp.DATA, stream, new Uint8Array([1, 98]), 1));
    const got: number[] = [];
    for (let m = await clientNext(); !("close" in (m as object)); m = await clientNext())
      got.push(new Uint8Array(m as ArrayBuffer)[1]);
    expect(String.fromCharCode(...got)).toBe("abc");
    agent.ws.close();
  });
});
