import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import {
  decodeFrame,
  encodeFrame,
  readCredit,
  STREAM_WINDOW,
  StreamOp,
  type StreamOpen,
} from "../../durable-objects/tunnel/protocol.ts";
import type { Status } from "../client/status.ts";
import { podLogs } from "./logs.ts";

const pod = (node: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "default", uid: "uid-1" },
  spec: { nodeName: node, containers: [{ name: "main" }] },
});

/** What the fake agent can do on a logs stream. */
interface FakeStream {
  open: StreamOpen;
  /** DATA (waits for credit like the real agent); "" is the start marker. */
  data(text: string | Uint8Array): Promise<void>;
  end(): void;
  reset(status: Status): void;
}

/** Connect as the node agent would (tunnel v2 frames, honouring credit); the test plays the agent with `serve`. */
async function connectAgent(node: string, serve: (stream: FakeStream) => void) {
  const response = await SELF.fetch(`https://edgeplane.test/edgeplane/v1/tunnel/${node}`, {
    headers: { Upgrade: "websocket", Authorization: "Bearer test-admin-token" },
  });
  expect(response.status).toBe(101);
  const ws = response.webSocket!;
  ws.accept();
  const credit = new Map<number, number>();
  const waiters: (() => void)[] = [];
  ws.addEventListener("message", async (event) => {
    if (typeof event.data === "string") {
      const open = JSON.parse(event.data) as StreamOpen;
      credit.set(open.stream, STREAM_WINDOW);
      let seq = 0;
      serve({
        open,
        data: async (text) => {
          const bytes = typeof text === "string" ? new TextEncoder().encode(text) : text;
          while ((credit.get(open.stream) ?? 0) < bytes.byteLength)
            await new Promise<void>((r) => waiters.push(r));
          credit.set(open.stream, (credit.get(open.stream) ?? 0) - bytes.byteLength);
          ws.send(encodeFrame(StreamOp.DATA, open.stream, bytes, seq++));
        },
        end: () => ws.send(encodeFrame(StreamOp.END, open.stream, undefined, seq++)),
        reset: (status) =>
          ws.send(
            encodeFrame(StreamOp.RESET, open.stream, new TextEncoder().encode(JSON.stringify(status)), seq++),
          ),
      });
      return;
    }
    const data = event.data instanceof Blob ? await event.data.arrayBuffer() : (event.data as ArrayBuffer);
    const frame = decodeFrame(data);
    if (frame?.op === StreamOp.CREDIT) {
      credit.set(frame.stream, (credit.get(frame.stream) ?? 0) + readCredit(frame.payload));
      for (const w of waiters.splice(0)) w();
    }
  });
  return ws;
}

describe("tunnel", () => {
  it("refuses connections without a valid token or without an upgrade", async () => {
    const anonymous = await SELF.fetch("https://edgeplane.test/edgeplane/v1/tunnel/n1", {
      headers: { Upgrade: "websocket" },
    });
    expect(anonymous.status).toBe(401);
    expect(await anonymous.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    const plain = await SELF.fetch("https://edgeplane.test/edgeplane/v1/tunnel/n1", {
      headers: { Authorization: "Bearer test-admin-token" },
    });
    expect(plain.status).toBe(400);
    const bad = await SELF.fetch("https://edgeplane.test/edgeplane/v1/tunnel/Bad_Name", {
      headers: { Upgrade: "websocket", Authorization: "Bearer test-admin-token" },
    });
    expect(bad.status).toBe(400);
  });

  it("answers 503 at once for a node whose agent is not connected", async () => {
    const response = await podLogs({
      env,
      namespace: "default",
      name: "p",
      pod: pod("nobody"),
      query: new URLSearchParams(),
    });
    expect(response.status).toBe(503);
    const status = (await response.json()) as { reason: string; message: string };
    expect(status.reason).toBe("ServiceUnavailable");
    expect(status.message).toContain('node "nobody" is not connected');
  });

  it("relays a logs request to the agent and streams its answer", async () => {
    const seen: StreamOpen[] = [];
    const ws = await connectAgent("n-logs", async (stream) => {
      seen.push(stream.open);
      await stream.data("");
      await stream.data("line 1\n");
      await stream.data("line 2\n");
      stream.end();
    });
    const response = await podLogs({
      env,
      namespace: "default",
      name: "p",
      pod: pod("n-logs"),
      query: new URLSearchParams("tailLines=2&timestamps=true&ignored=x"),
    });
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toContain("text/plain");
    expect(await response.text()).toBe("line 1\nline 2\n");
    expect(seen[0]).toMatchObject({
      type: "open",
      kind: "logs",
      namespace: "default",
      name: "p",
      uid: "uid-1",
      container: "main",
      query: expect.arrayContaining([
        ["tailLines", "2"],
        ["timestamps", "true"],
      ]),
    });
    ws.close();
  });

  it("holds at most one window of a log for a slow reader, however long the log", async () => {
    const chunk = new Uint8Array(64 * 1024).fill(97);
    const total = 40;
    const ws = await connectAgent("n-slow", async (stream) => {
      await stream.data("");
      for (let i = 0; i < total; i++) await stream.data(chunk);
      stream.end();
    });
    const response = await podLogs({
      env,
      namespace: "default",
      name: "p",
      pod: pod("n-slow"),
      query: new URLSearchParams("follow=true"),
    });
    expect(response.status).toBe(200);
    const stub = env.TUNNEL.get(env.TUNNEL.idFromName("n-slow"));
    const reader = response.body!.getReader();
    let read = 0;
    let peak = 0;
    for (;;) {
      // The reader is slow: between reads it asks the object what it holds.
      const { bufferedLogBytes } = (await (await stub.fetch("https://tunnel.internal/status")).json()) as {
        bufferedLogBytes: number;
      };
      peak = Math.max(peak, bufferedLogBytes);
      expect(bufferedLogBytes).toBeLessThanOrEqual(STREAM_WINDOW);
      const { done, value } = await reader.read();
      if (done) break;
      read += value.byteLength;
    }
    expect(read).toBe(total * chunk.byteLength);
    expect(peak).toBeGreaterThan(0);
    ws.close();
  });

  it("turns an agent's error into the Status response", async () => {
    const ws = await connectAgent("n-err", (stream) => {
      stream.reset({
        kind: "Status",
        apiVersion: "v1",
        metadata: {},
        status: "Failure",
        reason: "BadRequest",
        message: 'previous terminated container "main" in pod "p" not found',
        code: 400,
      });
    });
    const response = await podLogs({
      env,
      namespace: "default",
      name: "p",
      pod: pod("n-err"),
      query: new URLSearchParams("previous=true"),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({
      reason: "BadRequest",
      message: expect.stringContaining("previous"),
    });
    ws.close();
  });
});
