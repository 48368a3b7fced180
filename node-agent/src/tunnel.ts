/**
 * The agent's end of the tunnel: one outbound WebSocket to its node's
 * TunnelObject, authenticated with the agent's bearer token and the same TLS
 * trust as its API calls, reconnecting with back-off (0.5 s doubling to 30 s).
 * Serves the object's requests (logs) and cancels them when asked.
 */
import WebSocket from "ws";
import type { LogsRequest, TunnelReply, TunnelRequest } from "../../durable-objects/tunnel/protocol.ts";
import { tunnelPath } from "../../durable-objects/tunnel/protocol.ts";
import { ApiError } from "../../workers/client/status.ts";
import type { Clock } from "./clock.ts";

/** Serves one logs request: call send() with text chunks; resolve when done. Throw ApiError for a Status. */
export type LogsHandler = (
  request: LogsRequest,
  send: (chunk: string) => void,
  signal: AbortSignal,
) => Promise<void>;

/** Tunnel client options. */
export interface TunnelOptions {
  server: string;
  node: string;
  token: string;
  /** CA PEM (undefined = system roots). */
  ca?: string;
  clock: Clock;
  logs: LogsHandler;
  log?: (message: string) => void;
}

/** Keeps the tunnel up until stop(). */
export class TunnelClient {
  private socket?: WebSocket;
  private readonly stopper = new AbortController();
  private readonly active = new Map<string, AbortController>();
  private connectedWaiters: (() => void)[] = [];
  /** True while the WebSocket is open. */
  connected = false;

  constructor(private readonly options: TunnelOptions) {}

  /** Start connecting (returns at once). */
  start(): void {
    void this.loop();
  }

  /** Resolves once connected. */
  whenConnected(): Promise<void> {
    if (this.connected) return Promise.resolve();
    return new Promise((resolve) => this.connectedWaiters.push(resolve));
  }

  /** Close the tunnel and stop reconnecting. */
  stop(): void {
    this.stopper.abort();
    for (const c of this.active.values()) c.abort();
    this.socket?.close(1000, "agent stopping");
  }

  private async loop(): Promise<void> {
    let failures = 0;
    while (!this.stopper.signal.aborted) {
      const opened = await this.connectOnce();
      if (this.stopper.signal.aborted) return;
      failures = opened ? 0 : failures + 1;
      await this.options.clock.sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), this.stopper.signal);
    }
  }

  /** One connection's lifetime; true if it was ever open. */
  private connectOnce(): Promise<boolean> {
    const url = new URL(tunnelPath(this.options.node), this.options.server);
    url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
    return new Promise((resolve) => {
      let opened = false;
      const socket = new WebSocket(url, {
        headers: { Authorization: `Bearer ${this.options.token}` },
        ca: this.options.ca,
        rejectUnauthorized: true,
        handshakeTimeout: 15_000,
      });
      this.socket = socket;
      socket.on("open", () => {
        opened = true;
        this.connected = true;
        this.options.log?.(`tunnel connected to ${url.host}`);
        for (const w of this.connectedWaiters.splice(0)) w();
      });
      socket.on("message", (data) => this.onMessage(socket, data.toString()));
      socket.on("unexpected-response", (_req, res) => {
        this.options.log?.(`tunnel refused: HTTP ${res.statusCode}`);
        res.resume();
        socket.terminate();
      });
      socket.on("error", (error) => this.options.log?.(`tunnel: ${error.message}`));
      socket.on("close", () => {
        this.connected = false;
        for (const c of this.active.values()) c.abort();
        this.active.clear();
        resolve(opened);
      });
    });
  }

  private onMessage(socket: WebSocket, text: string): void {
    let request: TunnelRequest;
    try {
      request = JSON.parse(text);
    } catch {
      return;
    }
    if (request.type === "cancel") {
      this.active.get(request.id)?.abort();
      return;
    }
    if (request.type !== "logs") return;
    let seq = 0;
    const send = (reply: TunnelReply) => {
      if (socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify({ ...reply, seq: seq++ }));
    };
    const controller = new AbortController();
    this.active.set(request.id, controller);
    let started = false;
    const start = () => {
      if (!started) send({ type: "start", id: request.id });
      started = true;
    };
    this.options
      .logs(
        request,
        (chunk) => {
          start();
          send({ type: "data", id: request.id, data: chunk });
        },
        controller.signal,
      )
      .then(() => {
        start();
        send({ type: "end", id: request.id });
      })
      .catch((error) => {
        const status =
          error instanceof ApiError
            ? error.toStatus()
            : new ApiError("InternalError", (error as Error).message).toStatus();
        if (started) send({ type: "end", id: request.id });
        else send({ type: "error", id: request.id, status });
      })
      .finally(() => this.active.delete(request.id));
  }
}
