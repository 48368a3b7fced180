/**
 * Hostile-storage checks against the real local control plane (Miniflare/
 * workerd, SQLite Durable Objects persisted on disk) and real kubectl:
 * a client cannot hold unbounded watches, a watch cannot live for ever,
 * a Secret never reaches the disk in plaintext, and Events expire.
 * Small limits are configured through the harness env so the test runs in
 * seconds; every wait is on the condition itself (a stream's end, an event).
 */
import { randomBytes } from "node:crypto";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const MAX_WATCHES = 4;
const MIN_REQUEST_TIMEOUT = 3;
const EVENT_TTL = 3;
const KEEPALIVE = 1;

let cp: ControlPlane;
let persist: string;

beforeAll(async () => {
  persist = await mkdtemp(join(tmpdir(), "edgeplane-hostile-storage-"));
  cp = await startControlPlane({
    persistDir: persist,
    env: {
      MAX_WATCHES_PER_USER: String(MAX_WATCHES),
      MIN_REQUEST_TIMEOUT_SECONDS: String(MIN_REQUEST_TIMEOUT),
      EVENT_TTL_SECONDS: String(EVENT_TTL),
      WATCH_KEEPALIVE_SECONDS: String(KEEPALIVE),
    },
  });
});

afterAll(async () => {
  await cp?.stop();
  if (persist) await rm(persist, { recursive: true, force: true });
});

/** An open watch: its response and a way to drop the connection. */
async function openWatch(path: string) {
  const abort = new AbortController();
  const response = await cp.fetch(path, { signal: abort.signal });
  return { response, close: () => abort.abort() };
}

/**
 * Open a watch, retrying at once while the answer is 429 (as a client
 * honouring Retry-After would, minus the wait); how many tries it took.
 */
async function openWatchRetrying(path: string) {
  for (let attempts = 1; ; attempts++) {
    const w = await openWatch(path);
    if (w.response.status !== 429) return { ...w, attempts };
    await w.response.text();
  }
}

/** Resolve with `promise`, or reject after `ms` (a bound on a wait, not a timed assertion). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout>;
  const bound = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, bound]).finally(() => clearTimeout(timer));
}

/**
 * Watch `path` from `resourceVersion` until an event satisfies `done`,
 * re-watching from the last resourceVersion when the server ends the stream.
 */
async function watchUntil(
  path: string,
  resourceVersion: string,
  done: (event: {
    type: string;
    object: { metadata?: { name?: string; resourceVersion?: string } };
  }) => boolean,
): Promise<void> {
  let rv = resourceVersion;
  for (;;) {
    const { response } = await openWatchRetrying(`${path}?watch=true&resourceVersion=${rv}`);
    expect(response.status).toBe(200);
    const text = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = "";
    for (;;) {
      const { value, done: ended } = await text.read();
      if (ended) break;
      buffer += value;
      let nl = buffer.indexOf("\n");
      while (nl >= 0) {
        const line = buffer.slice(0, nl).trim();
        buffer = buffer.slice(nl + 1);
        nl = buffer.indexOf("\n");
        // Blank lines are the server's keepalives; JSON watch decoders skip them.
        if (!line) continue;
        const event = JSON.parse(line);
        if (done(event)) {
          await text.cancel();
          return;
        }
        rv = event.object?.metadata?.resourceVersion ?? rv;
      }
    }
  }
}

/** Every file under `dir`, recursively. */
async function files(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await files(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out;
}

describe("watch limits", () => {
  it(`a watch asking for timeoutSeconds=999999 is ended by the server after 1-2× min-request-timeout (${MIN_REQUEST_TIMEOUT} s)`, async () => {
    const started = Date.now();
    const { response } = await openWatch(
      "/api/v1/namespaces/default/secrets?watch=true&timeoutSeconds=999999",
    );
    expect(response.status).toBe(200);
    // The stream just ends (no ERROR event; keepalive newlines only): reading it to the end completes.
    const body = await within(response.text(), 30_000, "the capped watch's end");
    expect(body.trim()).toBe("");
    console.log(
      `watch timeout: timeoutSeconds=999999 ended after ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
  });

  it(`past ${MAX_WATCHES} open watches an identity gets 429 TooManyRequests with Retry-After; closing one frees a slot`, async () => {
    const path = "/api/v1/namespaces/default/configmaps?watch=true";
    const open = [];
    for (let i = 0; i < MAX_WATCHES; i++) {
      const w = await openWatch(path);
      expect(w.response.status).toBe(200);
      open.push(w);
    }
    const refused = await cp.fetch(path);
    expect(refused.status).toBe(429);
    expect(refused.headers.get("retry-after")).toBe("1");
    const status = (await refused.json()) as { message: string };
    expect(status).toMatchObject({
      kind: "Status",
      status: "Failure",
      reason: "TooManyRequests",
      code: 429,
      details: { retryAfterSeconds: 1 },
    });
    console.log(`watch cap: watch #${MAX_WATCHES + 1} → HTTP 429, Retry-After: 1, "${status.message}"`);

    open.pop()!.close();
    // The server notices the dropped connection at its next write to it (a keepalive newline after ${KEEPALIVE} s quiet).
    const closedAt = Date.now();
    const reopened = await within(openWatchRetrying(path), 15_000, "a slot freed by a closed watch");
    expect(reopened.response.status).toBe(200);
    console.log(
      `watch cap: a closed watch's slot was free again after ${Date.now() - closedAt} ms (${reopened.attempts} attempts)`,
    );
    open.push(reopened);
    for (const w of open) w.close();
  });
});

describe("Secrets at rest", () => {
  it("a Secret created with kubectl is nowhere in plaintext in the files workerd persisted", async () => {
    const value = `s3cret-${randomBytes(12).toString("hex")}`;
    const control = `visible-${randomBytes(12).toString("hex")}`;
    const made = await cp.kubectl([
      "create",
      "secret",
      "generic",
      "at-rest",
      `--from-literal=password=${value}`,
    ]);
    expect(made.stderr).toBe("");
    // Control: a ConfigMap is stored as is, so the scan really sees what was written.
    await cp.kubectl(["create", "configmap", "at-rest-control", `--from-literal=v=${control}`]);
    const read = await cp.kubectl(["get", "secret", "at-rest", "-o", "jsonpath={.data.password}"]);
    expect(Buffer.from(read.stdout, "base64").toString()).toBe(value);

    // Everything workerd persisted: Durable Objects (SQLite files and WAL), R2, KV, cache.
    const paths = await files(persist);
    const contents = await Promise.all(paths.map((p) => readFile(p)));
    const anywhere = (needle: string) => contents.some((c) => c.includes(needle));
    expect(anywhere(control)).toBe(true);
    expect(anywhere("k8s:enc:aesgcm:v1:e2e:")).toBe(true);
    expect(anywhere(value)).toBe(false);
    expect(anywhere(Buffer.from(value).toString("base64"))).toBe(false);
  });
});

describe("Event TTL", () => {
  it(`an Event disappears after EVENT_TTL_SECONDS (${EVENT_TTL} s) through its store lease`, async () => {
    const event = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: "short-lived", namespace: "default" },
      involvedObject: { kind: "Pod", name: "p", namespace: "default" },
      reason: "Tested",
      message: "expires soon",
      type: "Normal",
    };
    const made = await cp.kubectl(["create", "-f", "-", "-o", "json"], { input: JSON.stringify(event) });
    expect(made.code).toBe(0);
    const rv = JSON.parse(made.stdout).metadata.resourceVersion;
    const started = Date.now();
    await within(
      watchUntil(
        "/api/v1/namespaces/default/events",
        rv,
        (e) => e.type === "DELETED" && e.object.metadata?.name === "short-lived",
      ),
      60_000,
      "the Event's deletion",
    );
    console.log(`event TTL: deleted ${((Date.now() - started) / 1000).toFixed(1)} s after creation`);
    const gone = await cp.kubectl(["get", "event", "short-lived"]);
    expect(gone.stderr).toContain("NotFound");
  });
});

describe("encryption key rotation", () => {
  it("`kubectl get secrets -A -o json | kubectl replace -f -` rewrites every Secret with the new first key, so the old key can go", async () => {
    const dir = await mkdtemp(join(tmpdir(), "edgeplane-rotation-"));
    const old = `old:${randomBytes(32).toString("base64")}`;
    const next = `new:${randomBytes(32).toString("base64")}`;
    const value = `rotated-${randomBytes(8).toString("hex")}`;
    /** Run `body` against a control plane on `dir` with these keys, then stop it. */
    const withKeys = async <T>(keys: string, body: (plane: ControlPlane) => Promise<T>): Promise<T> => {
      const plane = await startControlPlane({ persistDir: dir, env: { ENCRYPTION_KEYS: keys } });
      try {
        return await body(plane);
      } finally {
        await plane.stop();
      }
    };
    try {
      await withKeys(old, async (plane) => {
        expect(
          (await plane.kubectl(["create", "secret", "generic", "rot", `--from-literal=k=${value}`])).code,
        ).toBe(0);
      });
      await withKeys(`${next},${old}`, async (plane) => {
        const all = await plane.kubectl(["get", "secrets", "-A", "-o", "json"]);
        expect(all.code).toBe(0);
        const replaced = await plane.kubectl(["replace", "-f", "-"], { input: all.stdout });
        expect(replaced.stdout).toContain("secret/rot replaced");
      });
      await withKeys(next, async (plane) => {
        const read = await plane.kubectl(["get", "secret", "rot", "-o", "jsonpath={.data.k}"]);
        expect(read.stderr).toBe("");
        expect(Buffer.from(read.stdout, "base64").toString()).toBe(value);
      });
      // Without the replace, the old key could not have been dropped: a cluster with only the new key
      // cannot read a value still under the old one (a 500 InternalError naming the key, not the value).
      await withKeys(old, async (plane) => {
        expect(
          (await plane.kubectl(["create", "secret", "generic", "late", "--from-literal=k=x"])).code,
        ).toBe(0);
      });
      await withKeys(next, async (plane) => {
        const read = await plane.kubectl(["get", "secret", "late"]);
        expect(read.code).not.toBe(0);
        expect(read.stderr).toContain('encrypted with key "old"');
        expect(read.stderr).not.toContain(old.split(":")[1]);
      });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
