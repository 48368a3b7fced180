/**
 * The ingress front door in workerd: real API objects, the real TunnelObject,
 * and fake agents on the tunnel answering "http" streams, so what the agent
 * receives (which pod, which port, which headers) is checked byte for byte.
 */
import { env, SELF } from "cloudflare:test";
import { beforeAll, describe, expect, it } from "vitest";
import {
  decodeFrame,
  encodeFrame,
  type StreamFrame,
  StreamOp,
  type StreamOpen,
} from "../../durable-objects/tunnel/protocol.ts";
import type { Env } from "../env.ts";
import { handleIngress } from "./index.ts";
import { SnapshotCache } from "./routes.ts";
import { type HttpRequestHead, numbered, Reorder, WS_MORE, WS_TEXT } from "./wire.ts";

const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };
const api = async (path: string, body: object) => {
  const response = await SELF.fetch(`https://edgeplane.test${path}`, {
    method: "POST",
    headers: ADMIN,
    body: JSON.stringify(body),
  });
  expect(response.status, await response.clone().text()).toBe(201);
};

/** A fake node agent: its tunnel socket and the frames it receives. */
async function connectAgent(node: string) {
  const response = await SELF.fetch(`https://edgeplane.test/edgeplane/v1/tunnel/${node}`, {
    headers: { Upgrade: "websocket", Authorization: "Bearer test-admin-token" },
  });
  expect(response.status).toBe(101);
  const ws = response.webSocket!;
  ws.accept();
  const queue: (string | StreamFrame)[] = [];
  const waiters: (() => void)[] = [];
  // Binary messages may arrive as Blobs here: convert them in arrival order.
  let chain = Promise.resolve();
  ws.addEventListener("message", (e) => {
    const data = e.data as string | ArrayBuffer | Blob;
    chain = chain.then(async () => {
      queue.push(
        typeof data === "string"
          ? data
          : decodeFrame(data instanceof Blob ? await data.arrayBuffer() : data)!,
      );
      for (const w of waiters.splice(0)) w();
    });
  });
  const next = async () => {
    while (queue.length === 0) await new Promise<void>((r) => waiters.push(r));
    return queue.shift()!;
  };
  // Stream opens, and per stream the Worker's messages put back in order (their numbers taken off).
  const opens: string[] = [];
  const pending = new Map<number, Uint8Array[]>();
  const reorders = new Map<number, Reorder>();
  const pump = async () => {
    const m = await next();
    if (typeof m === "string") opens.push(m);
    else if (m.op === StreamOp.DATA) {
      const reorder = reorders.get(m.stream) ?? new Reorder();
      reorders.set(m.stream, reorder);
      pending.set(m.stream, [...(pending.get(m.stream) ?? []), ...reorder.push(m.payload)]);
    }
  };
  const nextOpen = async (): Promise<StreamOpen> => {
    while (opens.length === 0) await pump();
    return JSON.parse(opens.shift()!) as StreamOpen;
  };
  const payload = async (stream: number): Promise<Uint8Array> => {
    while (!pending.get(stream)?.length) await pump();
    return pending.get(stream)!.shift()!;
  };
  const enc = new TextEncoder();
  /** Send the agent's `k`th message of `stream` (numbered as wire.ts says; the tunnel's own seq = k). */
  const reply = (stream: number, k: number, bytes: Uint8Array) =>
    ws.send(encodeFrame(StreamOp.DATA, stream, numbered(k, bytes), k));
  /** The next http stream's open and its request head. */
  const accept = async () => {
    const open = await nextOpen();
    const head = JSON.parse(new TextDecoder().decode(await payload(open.stream))) as HttpRequestHead;
    return { open, head };
  };
  /** The next non-empty message of `stream`. */
  const data = async (stream: number) => {
    for (;;) {
      const m = await payload(stream);
      if (m.byteLength > 0) return m;
    }
  };
  return {
    ws,
    accept,
    data,
    reply,
    /** Serve one http stream: returns what it got; answers `status` and `body` with a hop-by-hop header thrown in. */
    async serve(status: number, body: string) {
      const { open, head } = await accept();
      const parts: Uint8Array[] = [];
      for (let m = await payload(open.stream); m.byteLength > 0; m = await payload(open.stream))
        parts.push(m);
      const requestBody = new TextDecoder().decode(Uint8Array.from(parts.flatMap((p) => [...p])));
      const answer = {
        status,
        headers: [
          ["content-type", "text/plain"],
          ["x-pod", open.name],
          ["keep-alive", "timeout=5"],
        ],
      };
      reply(open.stream, 0, enc.encode(JSON.stringify(answer)));
      reply(open.stream, 1, enc.encode(body));
      ws.send(encodeFrame(StreamOp.END, open.stream, undefined, 2));
      return { open, head, requestBody };
    },
  };
}

const endpoint = (pod: string, node: string, ip: string) => ({
  addresses: [ip],
  conditions: { ready: true },
  nodeName: node,
  targetRef: { kind: "Pod", namespace: "default", name: pod, uid: `uid-${pod}` },
});

const fresh = () => new SnapshotCache(0);
const get = (url: string, init: RequestInit = {}) => new Request(url, init);

describe("ingress front door", () => {
  beforeAll(async () => {
    // Services without selectors: their EndpointSlices are ours to write.
    await api("/api/v1/namespaces/default/services", {
      metadata: { name: "web" },
      spec: { ports: [{ name: "http", port: 80, targetPort: 8080 }] },
    });
    await api("/apis/discovery.k8s.io/v1/namespaces/default/endpointslices", {
      metadata: { name: "web-1", labels: { "kubernetes.io/service-name": "web" } },
      addressType: "IPv4",
      ports: [{ name: "http", port: 8080, protocol: "TCP" }],
      endpoints: [endpoint("web-a", "n-ing-a", "10.244.1.5"), endpoint("web-b", "n-ing-b", "10.244.2.5")],
    });
    await api("/api/v1/namespaces/default/services", {
      metadata: { name: "empty" },
      spec: { ports: [{ port: 80 }] },
    });
    await api("/api/v1/namespaces", { metadata: { name: "other" } });
    const rule = (host: string, service: string, port: object) => ({
      host,
      http: { paths: [{ path: "/", pathType: "Prefix", backend: { service: { name: service, port } } }] },
    });
    await api("/apis/networking.k8s.io/v1/namespaces/default/ingresses", {
      metadata: { name: "web" },
      spec: {
        rules: [rule("web.test", "web", { name: "http" }), rule("empty.test", "empty", { number: 80 })],
      },
    });
    // Another namespace's Ingress naming "web": only its own namespace's Service counts.
    await api("/apis/networking.k8s.io/v1/namespaces/other/ingresses", {
      metadata: { name: "steal" },
      spec: { rules: [rule("steal.test", "web", { number: 80 })] },
    });
    // Another class's Ingress is not ours.
    await api("/apis/networking.k8s.io/v1/ingressclasses", {
      metadata: { name: "nginx" },
      spec: { controller: "k8s.io/ingress-nginx" },
    });
    await api("/apis/networking.k8s.io/v1/namespaces/default/ingresses", {
      metadata: { name: "nginx" },
      spec: { ingressClassName: "nginx", rules: [rule("nginx.test", "web", { number: 80 })] },
    });
  });

  it("carries a request to the endpoint's pod and port through its node, with forwarding headers and no hop-by-hop ones", async () => {
    const agent = await connectAgent("n-ing-a");
    const agentB = await connectAgent("n-ing-b");
    const request = get("https://web.test/app/x?q=1", {
      method: "POST",
      headers: {
        Host: "web.test",
        Connection: "keep-alive, x-secret-hop",
        "X-Secret-Hop": "1",
        "X-Forwarded-For": "6.6.6.6",
        "CF-Connecting-IP": "203.0.113.7",
        "X-App": "yes",
      },
      body: "hello pod",
    });
    const responding = handleIngress(request, env as Env, fresh());
    const served = await Promise.race([agent.serve(201, "made"), agentB.serve(201, "made")]);
    const response = await responding;
    expect(response.status).toBe(201);
    expect(await response.text()).toBe("made");
    expect(response.headers.get("x-pod")).toBe(served.open.name);
    expect(response.headers.get("keep-alive")).toBeNull();
    expect(served.open).toMatchObject({ kind: "http", namespace: "default", query: [["port", "8080"]] });
    expect(served.open.uid).toBe(`uid-${served.open.name}`);
    expect(served.head).toMatchObject({ method: "POST", path: "/app/x?q=1" });
    const headers = Object.fromEntries(served.head.headers);
    expect(headers).toMatchObject({
      host: "web.test",
      "x-app": "yes",
      "x-forwarded-for": "203.0.113.7",
      "x-forwarded-proto": "https",
      "x-forwarded-host": "web.test",
    });
    expect(headers).not.toHaveProperty("connection");
    expect(headers).not.toHaveProperty("x-secret-hop");
    expect(headers).not.toHaveProperty("cf-connecting-ip");
    expect(served.requestBody).toBe("hello pod");
    agent.ws.close();
    agentB.ws.close();
  });

  it("spreads requests over the endpoints and retries a GET on another when one's node is not connected", async () => {
    // n-ing-b's agent left in the test before: wait until its tunnel knows.
    const b = (env as Env).TUNNEL.get((env as Env).TUNNEL.idFromName("n-ing-b"));
    while (
      ((await (await b.fetch("https://tunnel.internal/status")).json()) as { connected: boolean }).connected
    )
      await new Promise((r) => setTimeout(r, 20));
    const agent = await connectAgent("n-ing-a");
    const pods: string[] = [];
    for (let i = 0; i < 4; i++) {
      const responding = handleIngress(get("https://web.test/"), env as Env, fresh());
      const served = await agent.serve(200, "ok");
      const response = await responding;
      expect(response.status).toBe(200);
      expect(await response.text()).toBe("ok");
      pods.push(served.open.name);
    }
    // n-ing-b has no agent: every request ends on web-a, half of them after the retry.
    expect(new Set(pods)).toEqual(new Set(["web-a"]));
    agent.ws.close();
  });

  it("passes a WebSocket upgrade through: 101 once the pod accepted, then messages both ways, text stays text", async () => {
    const agent = await connectAgent("n-ing-a");
    const responding = handleIngress(
      get("https://web.test/socket", { headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": "chat" } }),
      env as Env,
      fresh(),
    );
    const { open, head } = await agent.accept();
    expect(head).toMatchObject({ method: "GET", path: "/socket", upgrade: "websocket" });
    const enc = new TextEncoder();
    const answer = { status: 101, headers: [["sec-websocket-protocol", "chat"]] };
    agent.reply(open.stream, 0, enc.encode(JSON.stringify(answer)));
    const response = await responding;
    expect(response.status).toBe(101);
    expect(response.headers.get("Sec-WebSocket-Protocol")).toBe("chat");
    const client = response.webSocket!;
    client.accept();
    const got: unknown[] = [];
    const closed = new Promise<number>((r) => client.addEventListener("close", (e) => r(e.code)));
    const received = new Promise<void>((r) =>
      client.addEventListener("message", (e) => {
        got.push(e.data);
        if (got.length === 2) r();
      }),
    );
    client.send("hi");
    expect([...(await agent.data(open.stream))]).toEqual([WS_TEXT, ...enc.encode("hi")]);
    // Pod → client: a text message, then a binary one split in two parts.
    agent.reply(open.stream, 1, Uint8Array.from([WS_TEXT, ...enc.encode("HI")]));
    agent.reply(open.stream, 2, Uint8Array.from([WS_MORE, 1, 2]));
    agent.reply(open.stream, 3, Uint8Array.from([0, 3]));
    await received;
    expect(got[0]).toBe("HI");
    const binary = got[1] instanceof Blob ? await got[1].arrayBuffer() : (got[1] as ArrayBuffer);
    expect([...new Uint8Array(binary)]).toEqual([1, 2, 3]);
    agent.ws.send(encodeFrame(StreamOp.END, open.stream, undefined, 4));
    expect(await closed).toBe(1000);
    agent.ws.close();
  });

  it("answers 404 for an unknown host or another class's Ingress, 503 without endpoints or across namespaces, 413 past the body limit", async () => {
    const text = async (r: Promise<Response>) => {
      const response = await r;
      return [response.status, (await response.text()).trim()];
    };
    expect(await text(handleIngress(get("https://nope.test/"), env as Env, fresh()))).toEqual([
      404,
      "no Ingress serves this host and path",
    ]);
    expect((await handleIngress(get("https://nginx.test/"), env as Env, fresh())).status).toBe(404);
    expect(await text(handleIngress(get("https://empty.test/"), env as Env, fresh()))).toEqual([
      503,
      "no ready endpoints for the backend of Ingress default/web",
    ]);
    expect(await text(handleIngress(get("https://steal.test/"), env as Env, fresh()))).toEqual([
      503,
      'service "other/web" not found',
    ]);
    const big = get("https://web.test/", {
      method: "POST",
      body: "x".repeat(100),
      headers: { "Content-Length": "100" },
    });
    expect(
      (await handleIngress(big, { ...(env as Env), INGRESS_MAX_BODY_BYTES: "10" }, fresh())).status,
    ).toBe(413);
  });

  it("is what the Worker serves for hosts under INGRESS_DOMAINS, while the API keeps its host", async () => {
    const { isIngressHost } = await import("./index.ts");
    const edge = { INGRESS_DOMAINS: "apps.example.com" };
    expect(isIngressHost(edge, "web.apps.example.com")).toBe(true);
    expect(isIngressHost(edge, "WEB.apps.example.com:443")).toBe(true);
    expect(isIngressHost(edge, "api.example.com")).toBe(false);
    expect(isIngressHost({}, "web.apps.example.com")).toBe(false);
  });
});
