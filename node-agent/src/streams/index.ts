/**
 * The agent's tunnel stream handlers for exec and attach: find the pod's
 * container, then bridge to its runtime. Container pods go through CRI
 * Exec/Attach and containerd's streaming server; WASM pods have no exec (a
 * clear Failure Status), and attach follows the running module's output
 * (read-only: no stdin for WASM modules yet).
 */
import { ApiError } from "../../../workers/client/status.ts";
import type { Clock } from "../clock.ts";
import { streamLogs } from "../logs.ts";
import type { PodContext } from "../pod/context.ts";
import type { CriClient } from "../runtime/cri/client.ts";
import type { Runtime } from "../runtime/types.ts";
import type { AgentStream, StreamHandler } from "../tunnel.ts";
import { Channel, finish, parseOptions, serveRemoteCommand } from "./remotecommand.ts";

/**
 * A runtime with a CRI streaming server (CriRuntime). Checked by shape: a
 * value import of the CRI module would pull it into the WASM-only agent bundle.
 */
type StreamingRuntime = Runtime & { client: Pick<CriClient, "streamUrl"> };

function isStreaming(runtime: Runtime): runtime is StreamingRuntime {
  const client = (runtime as Partial<StreamingRuntime>).client;
  return typeof client?.streamUrl === "function";
}

/** What the handlers need from the agent. */
export interface RemoteCommandDeps {
  /** Finds a pod's state by uid (the agent's PodWorkers). */
  lookup: (uid: string) => Readonly<PodContext> | undefined;
  /** The pod's directory (its container logs live under it). */
  podDir: (uid: string) => string;
  node: string;
  clock: Clock;
}

/** attach to a WASM module: its output from now on, until it stops or the client leaves. */
async function attachWasm(
  stream: AgentStream,
  deps: RemoteCommandDeps,
  running: () => boolean,
): Promise<void> {
  const { open } = stream;
  const options = parseOptions(open.query, false);
  await stream.send(new Uint8Array([options.stdout ? Channel.stdout : Channel.error]));
  const encoder = new TextEncoder();
  await streamLogs({
    podDir: deps.podDir(open.uid),
    pod: open.name,
    container: open.container,
    query: { follow: true, tailLines: 0 },
    write: (chunk) =>
      options.stdout ? stream.send(new Uint8Array([Channel.stdout, ...encoder.encode(chunk)])) : undefined,
    running: async () => running(),
    clock: deps.clock,
    signal: stream.signal,
  });
  if (!stream.signal.aborted)
    await finish(stream, { kind: "Status", apiVersion: "v1", metadata: {}, status: "Success" } as never);
}

async function serve(stream: AgentStream, deps: RemoteCommandDeps): Promise<void> {
  const { open } = stream;
  const node = deps.node;
  const ctx = deps.lookup(open.uid);
  const record = ctx && [...ctx.mains, ...ctx.inits].find((c) => c.spec.name === open.container);
  if (!ctx || !record)
    return finish(
      stream,
      new ApiError(
        "NotFound",
        `container "${open.container}" in pod "${open.name}" not found on node ${node}`,
      ).toStatus(),
    );
  const id = record.id;
  if (!id || !("running" in record.state))
    return finish(
      stream,
      new ApiError(
        "BadRequest",
        `container ${open.container} is not running: cannot ${open.kind} into pod ${open.name}`,
      ).toStatus(),
    );
  const runtime = ctx.runtime;
  if (!isStreaming(runtime) && open.kind === "attach")
    return attachWasm(stream, deps, () => "running" in record.state);
  if (!isStreaming(runtime))
    return finish(
      stream,
      new ApiError(
        "BadRequest",
        `pod ${open.name} runs on the ${runtime.handler} runtime, which has no exec: it runs one WebAssembly module per container and no other processes (kubectl attach shows its output)`,
      ).toStatus(),
    );
  return serveRemoteCommand(stream, (options) =>
    runtime.client.streamUrl(id, {
      cmd: options.command,
      tty: options.tty,
      stdin: options.stdin,
      stdout: options.stdout,
      stderr: options.stderr,
    }),
  );
}

/** The exec and attach handlers for the tunnel client. */
export function remoteCommandHandlers(deps: RemoteCommandDeps): {
  exec: StreamHandler;
  attach: StreamHandler;
} {
  const handler: StreamHandler = (stream) => serve(stream, deps);
  return { exec: handler, attach: handler };
}
