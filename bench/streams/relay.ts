/**
 * The ceiling under port-forward: how fast workerd alone relays one
 * WebSocket's binary messages to another on this machine, with TLS on both
 * legs as in the real path. A Durable Object accepts both sockets
 * (hibernatable, as the TunnelObject does) and sends each message on; a
 * sender process (the agent's role) and a receiver process (kubectl's) are
 * `ws` clients. No tunnel framing, SPDY, pod or kubectl: what is left is
 * workerd's TLS, WebSocket and event costs. Prints figures; not a test.
 *
 *   node --import tsx bench/streams/relay.ts [--mib 400]
 */
import { fork } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import { Miniflare } from "miniflare";
import WebSocket from "ws";
import { MAX_FRAME_PAYLOAD } from "../../durable-objects/tunnel/protocol.ts";

const WORKER = `
import { DurableObject } from "cloudflare:workers";
export class Relay extends DurableObject {
  async fetch(request) {
    const side = new URL(request.url).pathname.slice(1);
    const pair = new WebSocketPair();
    this.ctx.acceptWebSocket(pair[1], [side]);
    return new Response(null, { status: 101, webSocket: pair[0] });
  }
  webSocketMessage(ws, message) {
    const to = this.ctx.getTags(ws)[0] === "from" ? "to" : "from";
    this.ctx.getWebSockets(to)[0]?.send(message);
  }
  webSocketClose(ws) { ws.close(1000, ""); }
}
export default { fetch: (request, env) => env.RELAY.get(env.RELAY.idFromName("relay")).fetch(request) };
`;

/** A ws client as the agent's: no permessage-deflate, zero mask (tunnel.ts). */
function open(url: string): Promise<WebSocket> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, {
      rejectUnauthorized: false,
      perMessageDeflate: false,
      generateMask: (mask) => mask.fill(0),
    });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

/** Child: receive `bytes` and report the seconds from the first message to the last. */
async function receiver(url: string, bytes: number): Promise<void> {
  const ws = await open(url);
  process.send?.("ready");
  let got = 0;
  let started = 0;
  ws.on("message", (data: Buffer) => {
    started ||= performance.now();
    got += data.length;
    if (got >= bytes) {
      process.send?.({ seconds: (performance.now() - started) / 1000 });
      ws.close();
    }
  });
}

/** Child: send `bytes` in tunnel-sized messages, keeping at most 4 MiB queued (a credit window). */
async function sender(url: string, bytes: number): Promise<void> {
  const ws = await open(url);
  process.send?.("ready");
  const message = Buffer.alloc(MAX_FRAME_PAYLOAD, 7);
  let sent = 0;
  process.once("message", () => {
    const pump = () => {
      while (sent < bytes && ws.bufferedAmount < 4 * 1024 * 1024) {
        ws.send(message);
        sent += message.length;
      }
      // ws has no drain event of its own: look again shortly (spinning would take the CPU workerd needs).
      if (sent < bytes) setTimeout(pump, 1);
      else process.disconnect?.();
    };
    pump();
  });
}

/** workerd's WebSocket → WebSocket relay over TLS, in MB/s (10^6 bytes per second). */
export async function runRelayBench(mib = 400): Promise<number> {
  const bytes = mib * 1024 * 1024;
  const mf = new Miniflare({
    modules: true,
    script: WORKER,
    durableObjects: { RELAY: "Relay" },
    compatibilityDate: "2025-01-01",
    host: "127.0.0.1",
    port: 0,
    https: true,
  });
  const base = (await mf.ready)
    .toString()
    .replace(/^https/, "wss")
    .replace(/\/$/, "");
  const self = fileURLToPath(import.meta.url);
  const child = (role: string, side: string) =>
    new Promise<ReturnType<typeof fork>>((resolve) => {
      const c = fork(self, ["--role", role, "--url", `${base}/${side}`, "--bytes", String(bytes)], {
        execArgv: ["--import", "tsx"],
      });
      c.once("message", () => resolve(c));
    });
  try {
    const to = await child("receiver", "to");
    const from = await child("sender", "from");
    const done = new Promise<{ seconds: number }>((resolve) => to.once("message", resolve as never));
    from.send("go");
    const { seconds } = await done;
    from.kill();
    to.kill();
    const mbs = bytes / 1e6 / seconds;
    console.log(
      `streams/relay: workerd WebSocket→WebSocket relay, TLS both legs, ${mib} MiB in ${MAX_FRAME_PAYLOAD / 1024} KiB messages: ` +
        `${mbs.toFixed(1)} MB/s (load ${loadavg()[0].toFixed(2)})`,
    );
    return mbs;
  } finally {
    await mf.dispose();
  }
}

const { values } = parseArgs({
  options: {
    mib: { type: "string" },
    role: { type: "string" },
    url: { type: "string" },
    bytes: { type: "string" },
  },
  strict: false,
});
if (values.role === "receiver") await receiver(String(values.url), Number(values.bytes));
else if (values.role === "sender") await sender(String(values.url), Number(values.bytes));
else if (import.meta.url === `file://${process.argv[1]}`) await runRelayBench(Number(values.mib ?? 400));
