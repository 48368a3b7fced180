/**
 * The agent's tunnel stream handlers for exec and attach: find the pod's
 * container, then bridge to its runtime. Container pods go through CRI
 * Exec/Attach and containerd's streaming server; WASM pods have no exec (a
 * clear Failure Status) and no attach yet.
 */
import { ApiError } from "../../../workers/client/status.ts";
import type { PodContext } from "../pod/context.ts";
import type { CriRuntime } from "../runtime/cri/index.ts";
import type { Runtime } from "../runtime/types.ts";
import type { AgentStream, StreamHandler } from "../tunnel.ts";
import { finish, serveRemoteCommand } from "./remotecommand.ts";

/**
 * Whether a runtime is the CRI one (it has a CRI client that can open a streaming session). Not
 * instanceof: the CRI runtime (gRPC, protos) is loaded only when the agent serves containers, and a
 * value import here would pull it into every agent (the WASM-only bundle leaves it out).
 */
function isCri(runtime: Runtime): runtime is CriRuntime {
  return typeof (runtime as Partial<CriRuntime>).client?.streamUrl === "function";
}

/** Finds a pod's state by uid (the agent's PodWorkers). */
export type PodLookup = (uid: string) => Readonly<PodContext> | undefined;

async function serve(stream: AgentStream, lookup: PodLookup, node: string): Promise<void> {
  const { open } = stream;
  const ctx = lookup(open.uid);
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
  if (!isCri(runtime))
    return finish(
      stream,
      new ApiError(
        "BadRequest",
        `pod ${open.name} runs on the ${runtime.handler} runtime, which has no ${open.kind}: it runs one WebAssembly module per container and no other processes`,
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
export function remoteCommandHandlers(
  lookup: PodLookup,
  node: string,
): { exec: StreamHandler; attach: StreamHandler } {
  const handler: StreamHandler = (stream) => serve(stream, lookup, node);
  return { exec: handler, attach: handler };
}
