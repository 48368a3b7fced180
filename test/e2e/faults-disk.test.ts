/**
 * The control plane's state directory runs out of space: a 24 MiB tmpfs holds
 * the Durable Objects' SQLite files, a test file fills it. A write must fail
 * with a Kubernetes Status (not hang, not a bare 500), the refused write must
 * not land, and nothing acknowledged may be lost or corrupted once space
 * returns. Needs root (mount).
 */
import { spawnSync } from "node:child_process";
import { mkdtemp, open, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let dir: string;
let mounted = false;
let cp: ControlPlane | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeplane-faults-disk-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", dir]);
  if (r.status !== 0) throw new Error(`cannot mount a tmpfs (run as root): ${r.stderr}`);
  mounted = true;
  cp = await startControlPlane({ persistDir: join(dir, "state") });
}, 120_000);

afterAll(async () => {
  await cp?.stop();
  if (mounted) spawnSync("umount", ["-l", dir]);
  await rm(dir, { recursive: true, force: true });
});

/** Fill the file system with one file until it refuses more; returns its path. */
async function fill(): Promise<string> {
  const path = join(dir, "filler");
  const file = await open(path, "w");
  const chunk = Buffer.alloc(1024 * 1024, 1);
  try {
    for (;;) await file.write(chunk);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  }
  // The last partial megabyte too: nothing may be left.
  const small = Buffer.alloc(4096, 1);
  try {
    for (;;) await file.write(small);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
  } finally {
    await file.close();
  }
  return path;
}

async function createConfigMap(name: string): Promise<Response> {
  return (cp as ControlPlane).fetch("/api/v1/namespaces/default/configmaps", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ metadata: { name }, data: { v: name, pad: "x".repeat(2000) } }),
    signal: AbortSignal.timeout(10_000),
  });
}

it("a full disk fails a write with a Status; after space returns and workerd restarts, every acknowledged object is whole and writes work", async () => {
  const acked: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await createConfigMap(`before-${i}`);
    expect(res.status, await res.text()).toBe(201);
    acked.push(`before-${i}`);
  }
  const filler = await fill();

  // The write fails at once with a Status that says why (SQLite's "database or disk is full").
  const res = await createConfigMap("during");
  const body = await res.text();
  console.log(`faults/disk: write on a full disk: ${res.status} ${body}`);
  expect(res.status).toBe(503);
  const status = JSON.parse(body) as { kind: string; code: number; reason: string; message: string };
  expect(status).toMatchObject({ kind: "Status", code: 503, reason: "ServiceUnavailable" });
  expect(status.message).toMatch(/disk is full/);

  // KNOWN GAP (docs/local.md, "Faults"): after that failure the shard's Durable Object answers nothing more,
  // reads included, until workerd restarts, even once space is back. Under `npm start` nothing restarts it
  // (the supervisor restarts workerd when it exits, not when it hangs). Here: space back, then a restart.
  await unlink(filler);
  await (cp as ControlPlane).stop();
  cp = await startControlPlane({ persistDir: join(dir, "state") });

  const after = await createConfigMap("after");
  expect(after.status, await after.text()).toBe(201);
  acked.push("after");
  let found = 0;
  for (const name of acked) {
    const got = await cp.fetch(`/api/v1/namespaces/default/configmaps/${name}`);
    const cm = (await got.json()) as { data?: { v?: string; pad?: string } };
    if (got.status === 200 && cm.data?.v === name && cm.data?.pad?.length === 2000) found++;
  }
  console.log(`faults/disk: ${acked.length} writes acknowledged, ${found} found whole after space returned`);
  expect(found).toBe(acked.length);
  // The refused write did not land.
  const during = await cp.fetch("/api/v1/namespaces/default/configmaps/during");
  expect(during.status).toBe(404);
  await during.arrayBuffer();
}, 120_000);
