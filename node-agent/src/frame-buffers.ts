/**
 * Reused buffers for the tunnel's large frames. A port-forward moves 256 KiB
 * frames at ~100 MB/s: a fresh Buffer for each (outside Node's small-buffer
 * slab) is external memory, and V8 answers external memory growth with full
 * garbage collections; in a port-forward profile of the agent, GC was 1.5 s
 * of ~8 s busy. A frame's buffer comes back when `ws` reports it written (the
 * send callback: TLS has copied it by then), and is handed out again.
 */

/** Frames shorter than this take a plain Buffer (Node's slab serves them; a pooled one would waste its size). */
const POOLED_FROM = 16 * 1024;

/** A free list of equal, large buffers. */
export class FrameBuffers {
  private readonly free: Buffer[] = [];

  /**
   * @param size every pooled buffer's size (the largest frame)
   * @param keep at most this many idle buffers are kept (the rest go to GC): a bound on idle memory
   */
  constructor(
    private readonly size: number,
    private readonly keep: number,
  ) {}

  /**
   * A buffer of exactly `length` bytes (unfilled) and the function that gives
   * it back; call that only once nothing reads the buffer any more.
   */
  take(length: number): { buffer: Buffer; release: () => void } {
    if (length < POOLED_FROM || length > this.size)
      return { buffer: Buffer.allocUnsafe(length), release: () => {} };
    const whole = this.free.pop() ?? Buffer.allocUnsafeSlow(this.size);
    let released = false;
    return {
      buffer: whole.subarray(0, length),
      release: () => {
        if (released || this.free.length >= this.keep) return;
        released = true;
        this.free.push(whole);
      },
    };
  }

  /** Idle buffers held (for tests). */
  get idle(): number {
    return this.free.length;
  }
}
