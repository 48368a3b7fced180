/**
 * exec/attach on the agent: speaks the client's WebSocket protocol
 * (v5.channel.k8s.io or v4.channel.k8s.io: one channel byte, then payload;
 * 0 stdin, 1 stdout, 2 stderr, 3 error (a metav1.Status), 4 resize, 255
 * close, v5 only) over a tunnel stream, and bridges it to a CRI streaming
 * server session (SPDY, v4.channel.k8s.io: one SPDY stream per channel), as
 * kube-apiserver's stream translator does towards a kubelet.
 */
import { ApiError, type Status } from "../../../workers/client/status.ts";
import type { AgentStream } from "../tunnel.ts";
import { SpdyClient } from "./spdy.ts";

/** The channels of the remotecommand WebSocket protocols. */
export const Channel = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

/** What the client asked for (the exec/attach query). */
export interface RemoteCommandOptions {
  /** exec's argv; undefined for attach. */
  command?: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
}

/** Opens the runtime session: a streaming-server URL for the container, or throws ApiError. */
export type SessionUrl = (options: RemoteCommandOptions) => Promise<string>;

const TRUE = new Set(["true", "1", "t", "True", "TRUE"]);

/** Parse exec/attach options from the stream's query pairs. */
export function parseOptions(query: [string, string][], exec: boolean): RemoteCommandOptions {
  const all = (k: string) => query.filter(([key]) => key === k).map(([, v]) => v);
  const flag = (k: string) => all(k).some((v) => TRUE.has(v));
  const tty = flag("tty");
  return {
    command: exec ? all("command") : undefined,
    stdin: flag("stdin"),
    stdout: flag("stdout"),
    // A TTY merges stderr into stdout (kubelet refuses both).
    stderr: flag("stderr") && !tty,
    tty,
  };
}

/** A Success or Failure Status as the error channel carries it. */
function successStatus(): Status {
  return { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" } as Status;
}

/** The error channel's text as a Status: JSON Status as is, anything else a Failure with that message. */
export function errorChannelStatus(text: string): Status {
  if (text.trim() === "") return successStatus();
  try {
    const parsed = JSON.parse(text) as Status;
    if (parsed && typeof parsed === "object" && typeof parsed.status === "string") return parsed;
  } catch {
    // plain text from an older protocol
  }
  return new ApiError("InternalError", text).toStatus();
}

/** Send `data` on `channel`, split so each message fits a tunnel frame. */
async function sendChannel(stream: AgentStream, channel: number, data: Uint8Array): Promise<void> {
  const max = 32 * 1024;
  for (let at = 0; at < data.byteLength; at += max) {
    const piece = data.subarray(at, at + max);
    const message = new Uint8Array(piece.byteLength + 1);
    message[0] = channel;
    message.set(piece, 1);
    await stream.send(message);
  }
}

/** Write the final Status on the error channel and end the stream. */
export async function finish(stream: AgentStream, status: Status): Promise<void> {
  await sendChannel(stream, Channel.error, new TextEncoder().encode(JSON.stringify(status)));
  stream.end();
}

/**
 * Serve one exec/attach stream against a CRI streaming server: `sessionUrl`
 * asks the runtime for the session (CRI Exec/Attach), then bytes flow both
 * ways until the process ends (its Status goes to the client) or the client
 * leaves (the session is dropped).
 */
export async function serveRemoteCommand(stream: AgentStream, sessionUrl: SessionUrl): Promise<void> {
  const exec = stream.open.kind === "exec";
  const options = parseOptions(stream.open.query, exec);
  const v5 = stream.open.protocol === "v5.channel.k8s.io";
  if (exec && (options.command?.length ?? 0) === 0)
    return finish(stream, new ApiError("BadRequest", "you must specify at least 1 command").toStatus());
  if (!options.stdin && !options.stdout && !options.stderr)
    return finish(
      stream,
      new ApiError("BadRequest", "you must specify at least 1 of stdin, stdout, stderr").toStatus(),
    );
  let spdy: SpdyClient;
  try {
    spdy = await SpdyClient.dial(await sessionUrl(options), "v4.channel.k8s.io");
  } catch (error) {
    const status =
      error instanceof ApiError
        ? error.toStatus()
        : new ApiError("InternalError", (error as Error).message).toStatus();
    return finish(stream, status);
  }
  const onAbort = () => spdy.close();
  stream.signal.addEventListener("abort", onAbort);
  const errorText: Buffer[] = [];
  const none = () => {};
  // The error stream first, as client-go's v4 client does.
  spdy.open({ streamType: "error" }, (d) => void errorText.push(Buffer.from(d)), none);
  const stdin = options.stdin ? spdy.open({ streamType: "stdin" }, none, none) : undefined;
  if (options.stdout)
    spdy.open({ streamType: "stdout" }, (d) => sendChannel(stream, Channel.stdout, d), none);
  if (options.stderr)
    spdy.open({ streamType: "stderr" }, (d) => sendChannel(stream, Channel.stderr, d), none);
  const resize = options.tty ? spdy.open({ streamType: "resize" }, none, none) : undefined;
  // Tell the client the session is up: an empty message on the lowest channel it reads.
  await stream.send(
    new Uint8Array([options.stdout ? Channel.stdout : options.stderr ? Channel.stderr : Channel.error]),
  );

  // Client → container, until the client ends or the session does.
  const pump = (async () => {
    for (;;) {
      const message = await stream.read();
      if (!message) return;
      const channel = message[0];
      const payload = message.subarray(1);
      if (channel === Channel.stdin && payload.byteLength > 0) await stdin?.write(payload);
      else if (channel === Channel.resize) await resize?.write(payload);
      else if (v5 && channel === Channel.close && payload[0] === Channel.stdin) stdin?.end();
    }
  })();
  await spdy.closed;
  stream.signal.removeEventListener("abort", onAbort);
  if (stream.signal.aborted) return;
  void pump;
  await finish(stream, errorChannelStatus(Buffer.concat(errorText).toString("utf8")));
}
