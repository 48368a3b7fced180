/**
 * Relays one TCP connection's bytes (a pod's side of a port-forward) to a
 * tunnel stream as messages of at most `max` bytes. A message waits for the
 * end of the I/O phase it started in, and what arrives while one is on its
 * way is held and goes out in the next: a fast download then moves in few
 * large messages (every message costs the agent a TLS write, the object an
 * event and kubectl a read), an idle one at once. The socket pauses while
 * `max` bytes wait.
 *
 * Reads land in one buffer per socket (Node's `onread`) and are copied at
 * once into the message being gathered, a buffer reused from `buffers`: by
 * default Node gives every read a fresh 64 KiB buffer, external memory that
 * V8 answers with full garbage collections (one per ~32 MB read; in the
 * agent's port-forward profile GC was a fifth of its busy time). The extra
 * copy costs far less than those collections.
 */
import type { OnReadOpts, Socket } from "node:net";
import type { FrameBuffers } from "../frame-buffers.ts";

/** Bytes per read from the socket (Node's own read size). */
const READ_SIZE = 64 * 1024;

/** A socket's pump: connect with its `onread`, then `attach` the socket. */
export interface SocketPump {
  onread: OnReadOpts;
  /** Start relaying; call before adding "end"/"close" listeners, so held bytes are queued before them. */
  attach(socket: Socket): void;
}

interface Held {
  buffer: Buffer;
  release: () => void;
  length: number;
}

/**
 * A pump handing messages to `emit` (which queues them in call order and
 * resolves once the message was taken: its buffer is then reused).
 */
export function socketPump(
  max: number,
  buffers: FrameBuffers,
  emit: (message: Buffer) => Promise<void>,
): SocketPump {
  const read = Buffer.allocUnsafeSlow(READ_SIZE);
  let socket: Socket | undefined;
  const held: Held[] = [];
  let size = 0;
  let sending = false;

  const hold = (bytes: Buffer) => {
    for (let at = 0; at < bytes.length; ) {
      let last = held[held.length - 1];
      if (!last || last.length === max) {
        last = { ...buffers.take(max), length: 0 };
        held.push(last);
      }
      const n = Math.min(bytes.length - at, max - last.length);
      bytes.copy(last.buffer, last.length, at, at + n);
      last.length += n;
      at += n;
    }
    size += bytes.length;
  };
  /** Queue everything held (emit queues in call order). */
  const take = (): Promise<void>[] => {
    size = 0;
    return held.splice(0).map((m) => emit(m.buffer.subarray(0, m.length)).finally(m.release));
  };
  const drain = async () => {
    sending = true;
    // The reads libuv makes in this poll phase come as separate callbacks: let them join this message.
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (size > 0) {
      const sends = take();
      // Gather the next message while this one goes.
      if (socket && !socket.destroyed) socket.resume();
      await Promise.all(sends);
    }
    sending = false;
  };
  const flush = () => {
    if (size > 0) void take();
  };
  return {
    onread: {
      buffer: read,
      callback: (n: number) => {
        hold(read.subarray(0, n));
        if (!sending) void drain();
        // false pauses the socket (resumed once what is held was taken).
        return size < max;
      },
    },
    attach(s) {
      socket = s;
      s.on("end", flush);
      s.on("close", flush);
      // Flowing, so that "end" is emitted (no "data" listener does it with onread).
      s.resume();
    },
  };
}
