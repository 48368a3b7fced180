/**
 * Serves `kubectl logs` from the per-container CRI log files the runtimes
 * write (<podDir>/logs/<container>/<restartCount>.log, rotated to .log.1):
 * tailLines, sinceSeconds/sinceTime, timestamps, limitBytes, previous and
 * follow (until the container stops or the reader goes away).
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { join } from "node:path";
import { queryBoolValue } from "../../workers/apiserver/query.ts";
import { ApiError } from "../../workers/client/status.ts";
import type { Clock } from "./clock.ts";

/** The query of GET pods/NAME/log. */
export interface LogQuery {
  follow?: boolean;
  previous?: boolean;
  timestamps?: boolean;
  tailLines?: number;
  sinceSeconds?: number;
  sinceTime?: string;
  limitBytes?: number;
}

/** Parse the log query from URL search params (as kubectl sends them). */
export function parseLogQuery(params: URLSearchParams | Record<string, string | undefined>): LogQuery {
  const get = (k: string) => (params instanceof URLSearchParams ? (params.get(k) ?? undefined) : params[k]);
  const num = (k: string) => {
    const v = get(k);
    return v === undefined || v === "" ? undefined : Number(v);
  };
  // PodLogOptions bools decode as every kube bool query parameter does (query.ts): True, 1, t all mean true.
  const flag = (k: string) => {
    const v = get(k);
    return v !== undefined && queryBoolValue(v);
  };
  return {
    follow: flag("follow"),
    previous: flag("previous"),
    timestamps: flag("timestamps"),
    tailLines: num("tailLines"),
    sinceSeconds: num("sinceSeconds"),
    sinceTime: get("sinceTime"),
    limitBytes: num("limitBytes"),
  };
}

/** The log files (oldest first) of the current or previous instance of a container. */
export function logFiles(podDir: string, container: string, pod: string, previous: boolean): string[] {
  const dir = join(podDir, "logs", container);
  const attempts = existsSync(dir)
    ? [
        ...new Set(
          readdirSync(dir)
            .map((f) => /^(\d+)\.log/.exec(f)?.[1])
            .filter((x): x is string => x !== undefined),
        ),
      ]
        .map(Number)
        .sort((a, b) => a - b)
    : [];
  const pick = previous ? attempts[attempts.length - 2] : attempts[attempts.length - 1];
  if (pick === undefined) {
    if (previous)
      throw new ApiError(
        "BadRequest",
        `previous terminated container "${container}" in pod "${pod}" not found`,
      );
    throw new ApiError(
      "BadRequest",
      `container "${container}" in pod "${pod}" is waiting to start: ContainerCreating`,
    );
  }
  const base = join(dir, `${pick}.log`);
  return [`${base}.1`, base].filter((f) => existsSync(f));
}

interface Line {
  time: string;
  text: string;
}

/** Parse CRI lines, joining partial ("P") records into whole lines. */
function parse(content: string, carry: { partial: string }): Line[] {
  const out: Line[] = [];
  for (const raw of content.split("\n")) {
    if (!raw) continue;
    const a = raw.indexOf(" ");
    const b = raw.indexOf(" ", a + 1);
    const c = raw.indexOf(" ", b + 1);
    if (a < 0 || b < 0) continue;
    const time = raw.slice(0, a);
    const tag = c < 0 ? raw.slice(b + 1) : raw.slice(b + 1, c);
    const text = c < 0 ? "" : raw.slice(c + 1);
    if (tag === "P") {
      carry.partial += text;
      continue;
    }
    out.push({ time, text: carry.partial + text });
    carry.partial = "";
  }
  return out;
}

/** Stream a container's log: write() gets text chunks; resolves when done (or `signal` aborts). */
export async function streamLogs(options: {
  podDir: string;
  pod: string;
  container: string;
  query: LogQuery;
  write: (chunk: string) => void | Promise<void>;
  /** For follow: is the container still running (more may come)? */
  running: () => Promise<boolean>;
  clock: Clock;
  signal?: AbortSignal;
}): Promise<void> {
  const { query, clock } = options;
  const files = logFiles(options.podDir, options.container, options.pod, query.previous ?? false);
  const since = query.sinceTime
    ? Date.parse(query.sinceTime)
    : query.sinceSeconds !== undefined
      ? clock.now().getTime() - query.sinceSeconds * 1000
      : undefined;
  let budget = query.limitBytes ?? Number.POSITIVE_INFINITY;
  const carry = { partial: "" };
  const format = (l: Line) => (query.timestamps ? `${l.time} ${l.text}\n` : `${l.text}\n`);
  const keep = (l: Line) => since === undefined || Date.parse(l.time) >= since;
  const emit = async (lines: Line[]): Promise<boolean> => {
    for (const l of lines) {
      if (!keep(l)) continue;
      let text = format(l);
      if (Buffer.byteLength(text) > budget) text = Buffer.from(text).subarray(0, budget).toString("utf8");
      budget -= Buffer.byteLength(text);
      if (text) await options.write(text);
      if (budget <= 0) return false;
    }
    return true;
  };

  let lines: Line[] = [];
  // Follow continues exactly where this read ended (a later stat would skip lines written in between).
  let offset = 0;
  for (const f of files) {
    const bytes = readFileSync(f);
    offset = bytes.length;
    lines = lines.concat(parse(bytes.toString("utf8"), carry));
  }
  if (query.tailLines !== undefined) lines = query.tailLines <= 0 ? [] : lines.slice(-query.tailLines);
  if (!(await emit(lines))) return;
  if (!query.follow || query.previous) return;

  // Follow the current file from where we stopped; a rotation (file shrank) restarts at 0.
  const current = files[files.length - 1];
  let pending = "";
  for (;;) {
    if (options.signal?.aborted) return;
    const size = existsSync(current) ? statSync(current).size : 0;
    if (size < offset) offset = 0;
    if (size > offset) {
      const fd = openSync(current, "r");
      const buffer = Buffer.alloc(size - offset);
      readSync(fd, buffer, 0, buffer.length, offset);
      closeSync(fd);
      offset = size;
      const text = pending + buffer.toString("utf8");
      const cut = text.lastIndexOf("\n");
      pending = text.slice(cut + 1);
      if (!(await emit(parse(text.slice(0, cut + 1), carry)))) return;
      continue;
    }
    if (!(await options.running())) {
      // One last look: the runner may have flushed between our read and its exit.
      if (existsSync(current) && statSync(current).size > offset) continue;
      return;
    }
    await clock.sleep(100, options.signal);
  }
}
