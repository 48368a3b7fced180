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

it("a full disk fails writes with a Status, keeps reads and every acknowledged object, and recovers when space returns", async () => {
  const c = cp as ControlPlane;
  const acked: string[] = [];
  for (let i = 0; i < 20; i++) {
    const res = await createConfigMap(`before-${i}`);
    expect(res.status, await res.text()).toBe(201);
    acked.push(`before-${i}`);
  }
  const filler = await fill();

  // Every write fails at once with a Status that says why (SQLite's "database or disk is full"). Before the
  // informer fix the first one did, and then workerd answered nothing more: these requests hung (timeout).
  const failures: { status: number; body: string }[] = [];
  for (let i = 0; i < 10; i++) {
    const res = await createConfigMap(`during-${i}`);
    const body = await res.text();
    if (res.status === 201) acked.push(`during-${i}`);
    else failures.push({ status: res.status, body });
  }
  console.log(
    `faults/disk: ${failures.length} of 10 writes refused on a full disk; first: ${failures[0]?.status} ${failures[0]?.body}`,
  );
  expect(failures.length).toBeGreaterThan(0);
  for (const f of failures) {
    expect(f.status).toBe(503);
    expect(JSON.parse(f.body)).toMatchObject({ kind: "Status", code: 503, reason: "ServiceUnavailable" });
    expect(f.body).toMatch(/disk is full/);
  }
  // kubectl says the same; reads keep working.
  const k = await c.kubectl(["create", "configmap", "by-kubectl", "--from-literal=a=b"]);
  expect(k.code).not.toBe(0);
  expect(k.stderr).toMatch(/disk is full/);
  // Reads of what is stored keep working. (kubectl get also needs a shard never written before, the CRDs' for
  // its discovery; creating that shard's tables on a full disk fails with a 500 InternalError Status: see the note.)
  const list = await c.fetch("/api/v1/namespaces/default/configmaps");
  const items = ((await list.json()) as { items: { metadata: { name: string } }[] }).items.map(
    (i) => i.metadata.name,
  );
  expect(list.status).toBe(200);
  expect(items).toContain("before-19");

  // Space is back: writes work again at once (no restart), and every acknowledged object is there, whole.
  await unlink(filler);
  const after = await createConfigMap("after");
  expect(after.status, await after.text()).toBe(201);
  acked.push("after");
  let found = 0;
  for (const name of acked) {
    const got = await c.fetch(`/api/v1/namespaces/default/configmaps/${name}`);
    const cm = (await got.json()) as { data?: { v?: string; pad?: string } };
    if (got.status === 200 && cm.data?.v === name && cm.data?.pad?.length === 2000) found++;
  }
  console.log(`faults/disk: ${acked.length} writes acknowledged, ${found} found whole after space returned`);
  expect(found).toBe(acked.length);
  // The refused writes did not land.
  for (const f of failures.keys()) {
    const got = await c.fetch(`/api/v1/namespaces/default/configmaps/during-${f}`);
    await got.arrayBuffer();
    if (!acked.includes(`during-${f}`)) expect(got.status).toBe(404);
  }
}, 120_000);

it("under npm start: a full disk refuses writes clearly and recovers; a hung workerd (SIGSTOP) is killed by the watchdog and restarted", async () => {
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
    for (const name of ["refused-1", "refused-2"]) {
      const refused = await kubectl(["create", "configmap", name, "--from-literal=v=x"]);
      expect(refused.code).not.toBe(0);
      expect(refused.stderr).toMatch(/disk is full/);
    }
    await unlink(filler);
    const created = await kubectl(["create", "configmap", "after-disk", "--from-literal=v=y"]);
    expect(created.code, created.stderr).toBe(0);
    acked.push("after-disk");

    // A workerd that hangs without exiting: the watchdog kills it, the supervisor restarts it.
    const workerd = launched.tree().find((p) => /workerd\S* serve/.test(p.command));
    if (!workerd) throw new Error(`no workerd under npm start\n${launched.output()}`);
    process.kill(workerd.pid, "SIGSTOP");
    await launched.waitFor(
      new RegExp(`workerd \\(pid ${workerd.pid}\\) answered nothing for 3 s; killing it so it restarts`),
      60_000,
    );
    await launched.waitFor(/workerd restarted \(pid \d+\)/, 60_000);
    const afterHang = await kubectl(["create", "configmap", "after-hang", "--from-literal=v=z"]);
    expect(afterHang.code, afterHang.stderr).toBe(0);
    acked.push("after-hang");

    const names = (await kubectl(["get", "configmaps", "-o", "name"])).stdout;
    const found = acked.filter((n) => names.includes(`configmap/${n}\n`)).length;
    console.log(
      `faults/disk (npm start): ${acked.length} writes acknowledged, ${found} found after a full disk and a hung workerd`,
    );
    expect(found).toBe(acked.length);
    expect(names).not.toMatch(/configmap\/refused/);
    await launched.interrupt("SIGINT", 60_000);
    launched = undefined;
  } finally {
    spawnSync("umount", ["-l", state]);
  }
}, 240_000);
