import { describe, expect, it } from "vitest";
import { TEST_TOKEN, testServer } from "./testing/fixture.ts";
import { createAuthenticator } from "./tokens.ts";

/** A server authenticating as the Worker does (tokens.ts), not the fixture's header check. */
const server = () => testServer({ authenticate: createAuthenticator({ adminToken: TEST_TOKEN }) });

const CMS = "/api/v1/namespaces/default/configmaps";

/** The subprotocol a browser uses to carry its token (base64url, no padding). */
function bearerProtocol(token: string): string {
  return `base64url.bearer.authorization.k8s.io.${btoa(token).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "")}`;
}

/** Upgrade a watch to a WebSocket and queue its messages; next() waits on the next message or the close. */
async function openWatchSocket(server: ReturnType<typeof testServer>, protocols: string[]) {
  const response = await server.app.request(`http://test${CMS}?watch=true`, {
    headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": protocols.join(", ") },
  });
  expect(response.status).toBe(101);
  const ws = response.webSocket!;
  ws.accept();
  const queue: (string | null)[] = [];
  let wake: (() => void) | undefined;
  ws.addEventListener("message", (e) => {
    queue.push(e.data as string);
    wake?.();
  });
  ws.addEventListener("close", () => {
    queue.push(null);
    wake?.();
  });
  // biome-ignore lint/suspicious/noExplicitAny: event objects are read loosely in assertions
  const next = async (): Promise<any> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    const raw = queue.shift();
    return raw === null ? null : JSON.parse(raw as string);
  };
  return { response, ws, next };
}

describe("watch over WebSocket", () => {
  it("authenticates by the bearer subprotocol and sends one JSON event per message", async () => {
    const s = server();
    await s.call("POST", CMS, { metadata: { name: "one" }, data: { a: "1" } });
    const w = await openWatchSocket(s, [bearerProtocol(TEST_TOKEN), "base64.binary.k8s.io"]);
    // The token never comes back in a header: the other offered protocol is chosen.
    expect(w.response.headers.get("Sec-WebSocket-Protocol")).toBe("base64.binary.k8s.io");
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "one" } } });
    await s.call("POST", CMS, { metadata: { name: "two" }, data: { a: "2" } });
    await s.call("DELETE", `${CMS}/one`);
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "two" } } });
    expect(await w.next()).toMatchObject({ type: "DELETED", object: { metadata: { name: "one" } } });
    w.ws.close(1000, "done");
  });

  it("ends the socket cleanly when the watch times out", async () => {
    const s = server();
    const response = await s.app.request(`http://test${CMS}?watch=true&timeoutSeconds=1`, {
      headers: { Upgrade: "websocket", Authorization: `Bearer ${TEST_TOKEN}` },
    });
    expect(response.status).toBe(101);
    const ws = response.webSocket!;
    const closed = new Promise<number>((r) => ws.addEventListener("close", (e) => r(e.code)));
    ws.accept();
    expect(await closed).toBe(1000);
  });

  it("rejects a wrong or malformed subprotocol token with a 401 Status, and ignores it without an upgrade", async () => {
    const s = server();
    for (const protocol of [bearerProtocol("wrong-token"), "base64url.bearer.authorization.k8s.io.!!!"]) {
      const denied = await s.app.request(`http://test${CMS}?watch=true`, {
        headers: { Upgrade: "websocket", "Sec-WebSocket-Protocol": protocol },
      });
      expect(denied.status).toBe(401);
      expect(await denied.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    }
    const plain = await s.app.request(`http://test${CMS}`, {
      headers: { "Sec-WebSocket-Protocol": bearerProtocol(TEST_TOKEN) },
    });
    expect(plain.status).toBe(401);
  });
});
