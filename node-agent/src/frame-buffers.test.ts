import { describe, expect, it } from "vitest";
import { FrameBuffers } from "./frame-buffers.ts";

describe("FrameBuffers", () => {
  it("hands a released large buffer out again, and a small frame never takes one", () => {
    const pool = new FrameBuffers(256 * 1024, 2);
    const first = pool.take(200_000);
    expect(first.buffer.byteLength).toBe(200_000);
    first.buffer[0] = 42;
    first.release();
    first.release(); // twice is once: the list never holds one buffer twice
    expect(pool.idle).toBe(1);
    const again = pool.take(100_000);
    expect(again.buffer.byteLength).toBe(100_000);
    expect(again.buffer.buffer).toBe(first.buffer.buffer);
    expect(again.buffer[0]).toBe(42);
    expect(pool.idle).toBe(0);
    const small = pool.take(100);
    small.release();
    expect(pool.idle).toBe(0);
  });

  it("keeps at most `keep` idle buffers, and never shares one between two frames in use", () => {
    const pool = new FrameBuffers(64 * 1024, 2);
    const taken = [pool.take(50_000), pool.take(50_000), pool.take(50_000)];
    expect(new Set(taken.map((t) => t.buffer.buffer)).size).toBe(3);
    for (const t of taken) t.release();
    expect(pool.idle).toBe(2);
  });
});
