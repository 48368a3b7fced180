/**
 * Watch over WebSocket, as kube-apiserver serves it to browsers and web
 * consoles: the same watch as the streamed response, one JSON WatchEvent per
 * text message. Built on the streamed body so limits, timeouts, selectors and
 * the slot release stay in one place (registry/watch.ts).
 */
import { isBearerProtocol } from "../tokens.ts";

/** The part of workerd's server-side WebSocket used here. */
interface ServerSocket {
  accept(): void;
  send(message: string): void;
  close(code?: number, reason?: string): void;
  addEventListener(type: "close" | "error", listener: () => void): void;
}

// workerd's global, declared here because the Node-side typecheck also sees this file (through imports).
declare const WebSocketPair: new () => { 0: unknown; 1: ServerSocket };

/** True when the request asks to upgrade to a WebSocket. */
export function wantsWebSocket(request: Request): boolean {
  return (request.headers.get("Upgrade") ?? "").toLowerCase() === "websocket";
}

/**
 * The subprotocol to answer with: the first one offered that is not the
 * bearer-token carrier (browsers fail a handshake that offered protocols and
 * got none back; echoing the token would put it in a response header).
 */
function chosenProtocol(request: Request): string | undefined {
  const offered = (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .filter((p) => p !== "" && !isBearerProtocol(p));
  return offered[0];
}

/** Turn a streamed watch response (newline-delimited events) into a 101 WebSocket upgrade. */
export function watchOverWebSocket(request: Request, streamed: Response): Response {
  const body = streamed.body;
  if (!body) return streamed;
  const pair = new WebSocketPair();
  const server = pair[1];
  server.accept();
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  // The client closing (or vanishing) cancels the stream, which ends the watch and frees its slot.
  const stop = () => {
    reader.cancel().catch(() => {});
  };
  server.addEventListener("close", stop);
  server.addEventListener("error", stop);
  void pump(reader, server);
  const headers = new Headers();
  const protocol = chosenProtocol(request);
  if (protocol) headers.set("Sec-WebSocket-Protocol", protocol);
  // `webSocket` is workerd's ResponseInit extension (the Node-side typecheck sees this file through imports).
  return new Response(null, { status: 101, webSocket: pair[0], headers } as ResponseInit);
}

/** Send each complete line as one message (bare keepalive newlines are dropped); close 1000 when the watch ends. */
async function pump(reader: ReadableStreamDefaultReader<string>, ws: ServerSocket): Promise<void> {
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value;
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl);
        buffer = buffer.slice(nl + 1);
        if (line.trim() !== "") ws.send(line);
        nl = buffer.indexOf("\n");
      }
    }
    ws.close(1000, "watch ended");
  } catch {
    // The socket is already gone (client closed): the stream was cancelled, nothing left to send.
    try {
      ws.close(1011, "watch failed");
    } catch {}
  }
}
