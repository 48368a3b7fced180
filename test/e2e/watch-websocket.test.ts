/**
 * Watch over WebSocket against the real Worker under workerd, the way a
 * browser watches: no Authorization header, the token in the
 * `base64url.bearer.authorization.k8s.io.<token>` subprotocol, one JSON
 * WatchEvent per message. Changes come from real kubectl.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import WebSocket from "ws";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
});

afterAll(async () => {
  await cp?.stop();
});

/** A WebSocket watch whose messages are queued; next() waits on the next one (bounded by the test's timeout). */
function openWatch(path: string, protocols: string[]) {
  const ws = new WebSocket(`${cp.url.replace(/^http/, "ws")}${path}`, protocols, {
    rejectUnauthorized: false,
  });
  const queue: string[] = [];
  let wake: (() => void) | undefined;
  ws.on("message", (data, binary) => {
    expect(binary).toBe(false);
    queue.push(String(data));
    wake?.();
  });
  const opened = new Promise<void>((resolve, reject) => {
    ws.once("open", resolve);
    ws.once("error", reject);
    ws.once("unexpected-response", (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
  });
  // biome-ignore lint/suspicious/noExplicitAny: events are read loosely in assertions
  const next = async (): Promise<any> => {
    while (queue.length === 0) await new Promise<void>((r) => (wake = r));
    return JSON.parse(queue.shift() as string);
  };
  return { ws, opened, next };
}

const bearer = () => `base64url.bearer.authorization.k8s.io.${Buffer.from(cp.token).toString("base64url")}`;

describe("watch over WebSocket", () => {
  it("streams one event per message to a client authenticated by subprotocol", async () => {
    const ns = "ws-watch";
    expect((await cp.kubectl(["create", "namespace", ns])).code).toBe(0);
    expect((await cp.kubectl(["-n", ns, "create", "configmap", "first", "--from-literal=a=1"])).code).toBe(0);
    // Not the root-CA publisher's kube-root-ca.crt, which every namespace gets.
    const w = openWatch(
      `/api/v1/namespaces/${ns}/configmaps?watch=true&fieldSelector=metadata.name!%3Dkube-root-ca.crt`,
      [bearer(), "base64.binary.k8s.io"],
    );
    await w.opened;
    expect(w.ws.protocol).toBe("base64.binary.k8s.io");
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "first" } } });
    expect((await cp.kubectl(["-n", ns, "create", "configmap", "second", "--from-literal=b=2"])).code).toBe(
      0,
    );
    expect(await w.next()).toMatchObject({ type: "ADDED", object: { metadata: { name: "second" } } });
    expect((await cp.kubectl(["-n", ns, "delete", "configmap", "first"])).code).toBe(0);
    expect(await w.next()).toMatchObject({ type: "DELETED", object: { metadata: { name: "first" } } });
    const closed = new Promise<number>((r) => w.ws.once("close", r));
    w.ws.close(1000);
    expect(await closed).toBe(1000);
  });

  it("refuses a wrong subprotocol token with 401", async () => {
    const w = openWatch("/api/v1/configmaps?watch=true", [
      `base64url.bearer.authorization.k8s.io.${Buffer.from("nope").toString("base64url")}`,
      "base64.binary.k8s.io",
    ]);
    await expect(w.opened).rejects.toThrow(/HTTP 401/);
  });
});
