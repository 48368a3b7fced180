import { env, SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { TunnelReply, TunnelRequest } from "../../durable-objects/tunnel/protocol.ts";
import { podLogs } from "./logs.ts";

const pod = (node: string) => ({
  apiVersion: "v1",
  kind: "Pod",
  metadata: { name: "p", namespace: "default", uid: "uid-1" },
  spec: { nodeName: node, containers: [{ name: "main" }] },
});

/** Connect as the node agent would; the test plays the agent with `serve`. */
async function connectAgent(
  node: string,
  serve: (request: TunnelRequest, reply: (r: TunnelReply) => void) => void,
) {
  const response = await SELF.fetch(`https://edgeplane.test/edgeplane/v1/tunnel/${node}`, {
    headers: { Upgrade: "websocket", Authorization: "Bearer test-admin-token" },
  });
  expect(response.status).toBe(101);
  const ws = response.webSocket!;
  ws.accept();
  ws.addEventListener("message", (event) => {
    const request = JSON.parse(event.data as string) as TunnelRequest;
    // Number each stream's replies as the agent does (a reply that carries its own seq keeps it).
    let seq = 0;
    serve(request, (reply) => ws.send(JSON.stringify({ seq: seq++, ...reply })));
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
    const seen: TunnelRequest[] = [];
    const ws = await connectAgent("n-logs", (request, reply) => {
      seen.push(request);
      if (request.type !== "logs") return;
      reply({ type: "start", id: request.id });
      reply({ type: "data", id: request.id, data: "line 1\n" });
      reply({ type: "data", id: request.id, data: "line 2\n" });
      reply({ type: "end", id: request.id });
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
      type: "logs",
      namespace: "default",
      name: "p",
      uid: "uid-1",
      container: "main",
      query: { tailLines: "2", timestamps: "true" },
    });
    ws.close();
  });

  it("puts replies that arrive out of order back in the agent's order", async () => {
    const ws = await connectAgent("n-order", (request, reply) => {
      if (request.type !== "logs") return;
      reply({ type: "start", id: request.id, seq: 0 });
      reply({ type: "data", id: request.id, data: "a\n", seq: 1 });
      reply({ type: "end", id: request.id, seq: 4 });
      reply({ type: "data", id: request.id, data: "c\n", seq: 3 });
      reply({ type: "data", id: request.id, data: "b\n", seq: 2 });
    });
    const response = await podLogs({
      env,
      namespace: "default",
      name: "p",
      pod: pod("n-order"),
      query: new URLSearchParams(),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toBe("a\nb\nc\n");
    ws.close();
  });

  it("turns an agent's error into the Status response", async () => {
    const ws = await connectAgent("n-err", (request, reply) => {
      if (request.type !== "logs") return;
      reply({
        type: "error",
        id: request.id,
        status: {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          reason: "BadRequest",
          message: 'previous terminated container "main" in pod "p" not found',
          code: 400,
        },
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
