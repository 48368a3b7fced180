/**
 * Watch delivery latency under concurrent writers: writers put values that
 * carry their send time; one watcher of the prefix records, per event, how
 * long after the put was sent it arrived. Same client code for etcd (v3 JSON
 * gateway /v3/watch stream) and the store (fixture /watch NDJSON stream,
 * which the Worker feeds from the store's WebSocket watch).
 */
import { request } from "undici";
import { type LoadSamples, type RequestFor, runLoadSamples } from "./load.ts";

/** Where to watch and how to write, for one target. */
export interface WatchTarget {
  /** Opens the watch stream; resolves once it is established. `seenAt` = when the server side got the event, if known. */
  open(signal: AbortSignal, onValue: (value: string, seenAt?: number) => void): Promise<void>;
  /** A put request writing `value` under the watched prefix. */
  put(client: number, i: number, value: string): ReturnType<RequestFor>;
  url: string;
}

const now = () => performance.timeOrigin + performance.now();

/** Reads a newline-delimited stream, calling `line` for each complete line. */
export async function readLines(
  body: AsyncIterable<Buffer | Uint8Array>,
  line: (text: string) => void,
): Promise<void> {
  const dec = new TextDecoder();
  let buf = "";
  for await (const chunk of body) {
    buf += dec.decode(chunk, { stream: true });
    let nl = buf.indexOf("\n");
    while (nl >= 0) {
      const text = buf.slice(0, nl).trim();
      buf = buf.slice(nl + 1);
      if (text) line(text);
      nl = buf.indexOf("\n");
    }
  }
}

/** Delivery latencies (ms): at the watcher, and where the server side reports it, at the server. */
export interface WatchSamples {
  seen: LoadSamples;
  server: LoadSamples;
}

/** Runs `writers` put loops for `seconds` while watching; returns delivery latencies (ms). */
export async function watchLatency(
  target: WatchTarget,
  writers: number,
  seconds: number,
): Promise<WatchSamples> {
  const latencies: number[] = [];
  const server: number[] = [];
  const ctl = new AbortController();
  const pad = "p".repeat(200);
  try {
    await target.open(ctl.signal, (value, seenAt) => {
      const sent = Number(value.split(" ")[0]);
      if (!Number.isFinite(sent)) return;
      latencies.push(now() - sent);
      if (seenAt !== undefined) server.push(seenAt - sent);
    });
    // The untimed warm-up put of each connection (i < 0) carries no timestamp, so it is not counted.
    const puts = await runLoadSamples(target.url, writers, seconds, (c, i) =>
      target.put(c, i, i < 0 ? `warm ${pad}` : `${now()} ${pad}`),
    );
    // Let the watcher drain what was written (bounded).
    const want = puts.latencies.length;
    const deadline = Date.now() + 10_000;
    while (latencies.length < want && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    return {
      seen: { latencies, seconds: puts.seconds, errors: want - latencies.length },
      server: { latencies: server, seconds: puts.seconds, errors: 0 },
    };
  } finally {
    ctl.abort();
  }
}

/** Opens an NDJSON/JSON-lines stream with `init`, resolving when `ready(line)` first holds. */
export async function openStream(
  url: string,
  init: { method: "GET" | "POST"; body?: string },
  signal: AbortSignal,
  onLine: (line: string) => void,
  ready: (line: string) => boolean,
): Promise<void> {
  const res = await request(url, { ...init, signal });
  let resolveReady: () => void = () => {};
  const opened = new Promise<void>((r) => {
    resolveReady = r;
  });
  let isOpen = false;
  readLines(res.body, (line) => {
    if (!isOpen && ready(line)) {
      isOpen = true;
      resolveReady();
      return;
    }
    onLine(line);
  }).catch(() => {});
  await opened;
}
