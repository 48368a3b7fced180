/**
 * The local front end holds client connections as Cloudflare's edge does:
 * a POST on a connection left idle past workerd's 5 s idle close is answered
 * through the front end, and dies directly against workerd (the race kubectl
 * drain used to lose, docs/apiserver.md "Keep-alive, locally"). Both
 * connections idle side by side; workerd closing its own is the clock, so no
 * sleep and no timing assertion.
 */
import { once } from "node:events";
import { connect as netConnect, type Socket } from "node:net";
import { connect as tlsConnect } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;
beforeAll(async () => {
  cp = await startControlPlane();
});
afterAll(async () => {
  await cp?.stop();
});

/** A raw HTTP/1.1 connection: requests written by hand, answers read whole (Content-Length or chunked). */
function conversation(socket: Socket) {
  let buffered = "";
  const waiters = new Set<() => void>();
  socket.on("data", (data) => {
    buffered += data;
    for (const w of waiters) w();
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  const ended = new Promise<void>((resolve) => socket.once("end", () => resolve()));
  socket.on("error", () => {});
  socket.on("close", () => {
    for (const w of waiters) w();
  });
  const complete = () => {
    const head = buffered.indexOf("\r\n\r\n");
    if (head < 0) return undefined;
    const length = /content-length: (\d+)/i.exec(buffered.slice(0, head))?.[1];
    const end = length
      ? head + 4 + Number(length)
      : /transfer-encoding: chunked/i.test(buffered.slice(0, head)) &&
          buffered.indexOf("\r\n0\r\n\r\n", head) >= 0
        ? buffered.indexOf("\r\n0\r\n\r\n", head) + 7
        : -1;
    if (end < 0 || buffered.length < end) return undefined;
    const answer = buffered.slice(0, end);
    buffered = buffered.slice(end);
    return answer;
  };
  return {
    ended,
    /**
     * Send one request; resolves with the whole answer, or "" when the connection closed without
     * one. `last`: end our side after it, as a client does after its final request (a server still
     * answers a request it took before closing).
     */
    ask(method: string, path: string, body?: object, last = false): Promise<string> {
      const text = body ? JSON.stringify(body) : "";
      socket.write(
        [
          `${method} ${path} HTTP/1.1`,
          "Host: 127.0.0.1",
          `Authorization: Bearer ${cp.token}`,
          "Content-Type: application/json",
          `Content-Length: ${Buffer.byteLength(text)}`,
          "",
          text,
        ].join("\r\n"),
      );
      if (last) socket.end();
      return new Promise((resolve) => {
        const check = () => {
          const answer = complete();
          if (answer !== undefined || socket.destroyed) {
            waiters.delete(check);
            resolve(answer ?? "");
          }
        };
        waiters.add(check);
        check();
      });
    },
    closed,
  };
}

const configMap = (name: string) => ({ apiVersion: "v1", kind: "ConfigMap", metadata: { name } });

describe("keep-alive through the local front end", () => {
  it("answers a POST on a connection idle past workerd's 5 s close, which workerd itself drops", async () => {
    const workerd = new URL(cp.workerdUrl);
    const front = new URL(cp.url);
    const direct = netConnect({ host: workerd.hostname, port: Number(workerd.port), allowHalfOpen: true });
    const held = tlsConnect({ host: front.hostname, port: Number(front.port), rejectUnauthorized: false });
    await Promise.all([once(direct, "connect"), once(held, "secureConnect")]);
    const viaWorkerd = conversation(direct);
    const viaFront = conversation(held);
    const path = "/api/v1/namespaces/default/configmaps";
    expect(await viaWorkerd.ask("POST", path, configMap("direct-1"))).toMatch(/^HTTP\/1\.1 201/);
    expect(await viaFront.ask("POST", path, configMap("front-1"))).toMatch(/^HTTP\/1\.1 201/);

    // Both idle; workerd closes its connection after 5 s (kj's HttpServer, not configurable).
    await Promise.race([
      viaWorkerd.ended,
      new Promise((_, reject) =>
        setTimeout(() => reject(new Error("workerd never closed the idle connection")), 30_000),
      ),
    ]);

    // The same POST on each: the front end's connection is held and answered; workerd's is gone,
    // and the request written on it never reaches the Worker.
    expect(await viaFront.ask("POST", path, configMap("front-2"))).toMatch(/^HTTP\/1\.1 201/);
    expect(await viaWorkerd.ask("POST", path, configMap("direct-2"), true)).toBe("");
    await viaWorkerd.closed;
    expect((await cp.fetch(`${path}/front-2`)).status).toBe(200);
    expect((await cp.fetch(`${path}/direct-2`)).status).toBe(404);
    held.end();
  });
});
