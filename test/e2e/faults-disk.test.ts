/**
 * The control plane's state directory runs out of space: a 24 MiB tmpfs holds
 * the Durable Objects' SQLite files, a test file fills it. A write must fail
 * with a Kubernetes Status (not hang, not a bare 500), the refused write must
 * not land, and nothing acknowledged may be lost or corrupted once space
 * returns. Needs root (mount).
 */
import { execFile, spawnSync } from "node:child_process";
import { mkdir, mkdtemp, open, rm, unlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type Launched, launchNpmStart } from "../../scripts/local/launch.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let dir: string;
let mounted = false;
let cp: ControlPlane | undefined;
let launched: Launched | undefined;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "edgeplane-faults-disk-"));
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=24m,mode=0700", "tmpfs", dir]);
  if (r.status !== 0) throw new Error(`cannot mount a tmpfs (run as root): ${r.stderr}`);
  mounted = true;
  cp = await startControlPlane({ persistDir: join(dir, "state") });
}, 120_000);

afterAll(async () => {
  if (launched)
    await launched.interrupt("SIGINT", 60_000).catch(() => launched?.interrupt("SIGKILL", 10_000));
  await cp?.stop();
  if (mounted) spawnSync("umount", ["-l", dir]);
  await rm(dir, { recursive: true, force: true });
});

/** Fill the file system at `where` with one file until it refuses more; returns its path. */
async function fill(where = dir): Promise<string> {
  const path = join(where, "filler");
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

it("under npm start, the hang that follows is noticed: workerd is killed and restarted, and writes work once space is back", async () => {
  const state = join(dir, "npm-start");
  await mkdir(state);
  const r = spawnSync("mount", ["-t", "tmpfs", "-o", "size=64m,mode=0700", "tmpfs", state]);
  expect(r.status, String(r.stderr)).toBe(0);
  try {
    // Checks every second, three failures in a row mean hung (the default is 10 s and 3).
    launched = launchNpmStart(
      ["--state-dir", state, "--port", "0", "--registry-port", "0", "--skip-setup", "--nodes", "0"],
      { EDGEPLANE_WATCHDOG: "1000,3" },
    );
    await launched.waitFor(/edgeplane: ready at https:\/\/127\.0\.0\.1:\d+/);
    const kubectl = (args: string[]) =>
      new Promise<{ code: number; stdout: string; stderr: string }>((res) =>
        execFile(
          "kubectl",
          ["--kubeconfig", join(state, "kubeconfig"), ...args],
          { timeout: 60_000 },
          (e, stdout, stderr) => res({ code: e ? 1 : 0, stdout, stderr }),
        ),
      );
    const acked: string[] = [];
    for (let i = 0; i < 5; i++) {
      const c = await kubectl(["create", "configmap", `kept-${i}`, `--from-literal=v=${i}`]);
      expect(c.code, c.stderr).toBe(0);
      acked.push(`kept-${i}`);
    }
    const filler = await fill(state);
    const refused = await kubectl(["create", "configmap", "refused", "--from-literal=v=x"]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/disk is full/);
    await launched.waitFor(/workerd \(pid \d+\) answered nothing for 3 s; killing it so it restarts/, 60_000);
    await unlink(filler);
    await launched.waitFor(/workerd restarted \(pid \d+\)/, 120_000);
    const created = await kubectl(["create", "configmap", "after", "--from-literal=v=y"]);
    expect(created.code, created.stderr).toBe(0);
    acked.push("after");
    const names = (await kubectl(["get", "configmaps", "-o", "name"])).stdout;
    const found = acked.filter((n) => names.includes(`configmap/${n}\n`)).length;
    console.log(
      `faults/disk (npm start): ${acked.length} writes acknowledged, ${found} found after the watchdog's restart`,
    );
    expect(found).toBe(acked.length);
    expect(names).not.toContain("configmap/refused\n");
    await launched.interrupt("SIGINT", 60_000);
    launched = undefined;
  } finally {
    spawnSync("umount", ["-l", state]);
  }
}, 240_000);
