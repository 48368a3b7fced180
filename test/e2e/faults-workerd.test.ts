/**
 * Faults in the control plane's process: `npm start` as a user runs it (one
 * WASM node, temp state dir, free ports), then workerd SIGKILLed under it.
 * The launcher must say what died, restart it on the same state, port and
 * certificates, the agent must reconnect and running pods must not be
 * restarted; a rollout interrupted by the kill must complete with exactly
 * the desired pods.
 */
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateNetwork } from "../../node-agent/src/testing/agent-process.ts";
import { type Launched, launchNpmStart } from "../../scripts/local/launch.ts";
import { processesMentioning, survivors } from "../../scripts/local/process-tree.ts";
import { checkHistory, type HistoryEntry } from "../lib/lincheck.ts";

const network = privateNetwork();
const NETWORK_ENV = { EDGEPLANE_POD_NETWORK: network.podCidr, EDGEPLANE_CNI_BRIDGE: network.bridge };

let stateDir: string;
let launched: Launched;
let registry: string;
let server: string;
/** Kills done so far; the supervisor's "restarted" lines catch up with it. */
let kills = 0;

/** Run real kubectl with the launcher's kubeconfig. */
function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const full = [
    "--kubeconfig",
    join(stateDir, "kubeconfig"),
    "--cache-dir",
    join(stateDir, "kube-cache"),
    ...args,
  ];
  return new Promise((res) => {
    const child = execFile("kubectl", full, { timeout: 120_000 }, (error, stdout, stderr) =>
      res({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? "");
  });
}

async function kubectlOk(args: string[], input?: string): Promise<string> {
  const r = await kubectl(args, input);
  if (r.code !== 0) throw new Error(`kubectl ${args.join(" ")} failed: ${r.stderr}`);
  return r.stdout;
}

/** A long-running kubectl (logs -f, port-forward) whose output and exit are watched. */
interface Running {
  child: ChildProcess;
  out(): string;
  exit: Promise<number | string>;
}

function kubectlRunning(args: string[]): Running {
  const full = [
    "--kubeconfig",
    join(stateDir, "kubeconfig"),
    "--cache-dir",
    join(stateDir, "kube-cache"),
    ...args,
  ];
  const child = spawn("kubectl", full, { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  child.stdout?.on("data", (c) => (text += String(c)));
  child.stderr?.on("data", (c) => (text += String(c)));
  const exit = new Promise<number | string>((res) =>
    child.once("exit", (code, signal) => res(code ?? signal ?? -1)),
  );
  return { child, out: () => text, exit };
}

/** Poll `check` until it returns true (bounded): a condition, never a fixed sleep. */
async function until(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}\n${launched.output().slice(-3000)}`);
}

/** Resolves once the supervisor has restarted workerd after every kill so far. */
function serving(): Promise<void> {
  return until("workerd restarted", () => count(/workerd restarted \(pid \d+\)/) >= kills, 60_000);
}

function count(pattern: RegExp): number {
  return launched.output().match(new RegExp(pattern, "g"))?.length ?? 0;
}

/** SIGKILL the launcher's workerd and wait until the supervisor says it serves again. */
async function killWorkerd(): Promise<number> {
  const workerd = launched.tree().find((p) => /workerd\S* serve/.test(p.command));
  if (!workerd) throw new Error(`no workerd under npm start\n${launched.output()}`);
  kills++;
  process.kill(workerd.pid, "SIGKILL");
  await serving();
  return workerd.pid;
}

function wasmPods(name: string, replicas: number, label = name): string {
  return JSON.stringify({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: label } },
      template: {
        metadata: { labels: { app: label } },
        spec: {
          runtimeClassName: "wasm",
          terminationGracePeriodSeconds: 1,
          containers: [
            {
              name: "ticker",
              image: `${registry}/samples/ticker:v1`,
              resources: { limits: { memory: "32Mi", cpu: "10m" } },
            },
          ],
        },
      },
    },
  });
}

interface PodView {
  metadata: { name: string; uid: string; deletionTimestamp?: string; ownerReferences?: { name: string }[] };
  spec: { nodeName?: string };
  status: {
    phase?: string;
    containerStatuses?: { restartCount: number; state?: { running?: { startedAt: string } } }[];
  };
}

async function pods(selector: string): Promise<PodView[]> {
  return (JSON.parse(await kubectlOk(["get", "pods", "-l", selector, "-o", "json"])) as { items: PodView[] })
    .items;
}

/** The pods the node runs processes for: the --hostname of each WASM sandbox (bwrap) under the nodes' dir. */
function sandboxedPods(): string[] {
  const names = processesMentioning(join(stateDir, "nodes")).flatMap(
    (p) => / --hostname (\S+)/.exec(p.command)?.[1] ?? [],
  );
  return [...new Set(names)].sort();
}

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "edgeplane-faults-workerd-"));
  launched = launchNpmStart(
    [
      "--state-dir",
      stateDir,
      "--port",
      "0",
      "--registry-port",
      "0",
      "--skip-setup",
      "--nodes",
      "1",
      "--runtimes",
      "wasm",
    ],
    NETWORK_ENV,
  );
  const m = await launched.waitFor(
    /edgeplane: ready at (https:\/\/127\.0\.0\.1:\d+) .*registry (127\.0\.0\.1:\d+)/,
  );
  server = m[1];
  registry = m[2];
  await launched.waitFor(/node node-1 is Ready/);
  await kubectlOk(
    ["apply", "-f", "-"],
    JSON.stringify({
      apiVersion: "node.k8s.io/v1",
      kind: "RuntimeClass",
      metadata: { name: "wasm" },
      handler: "wasm",
      scheduling: { nodeSelector: { "edgeplane.dev/runtime-wasm": "true" } },
    }),
  );
}, 240_000);

afterAll(async () => {
  if (launched) await launched.interrupt("SIGINT", 60_000).catch(() => launched.interrupt("SIGKILL", 10_000));
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

describe("workerd killed under npm start", () => {
  it("is restarted on the same port and certificates; the agent reconnects and running pods are untouched", async () => {
    await kubectlOk(["apply", "-f", "-"], wasmPods("steady", 2));
    await kubectlOk(["rollout", "status", "deployment/steady", "--timeout=120s"]);
    const before = await pods("app=steady");
    const processes = processesMentioning(join(stateDir, "nodes"));
    expect(processes.length).toBeGreaterThan(0);

    const killed = await killWorkerd();
    expect(launched.output()).toMatch(
      new RegExp(
        `workerd exited unexpectedly \\(pid ${killed}\\); restarting it on the same state directory, port and certificates in 0\\.5 s`,
      ),
    );
    // The same kubeconfig (server, CA, token) works again.
    expect(await kubectlOk(["get", "ns", "default", "-o", "name"])).toBe("namespace/default\n");

    // The agent reconnected: a pod created after the restart runs on node-1.
    await kubectlOk(["apply", "-f", "-"], wasmPods("after-restart", 1));
    await kubectlOk(["rollout", "status", "deployment/after-restart", "--timeout=120s"]);
    await until("node-1 Ready after the restart", async () => {
      const jsonpath = "jsonpath={.status.conditions[?(@.type=='Ready')].status}";
      return (await kubectl(["get", "node", "node-1", "-o", jsonpath])).stdout.trim() === "True";
    });

    // Running pods were not restarted: same pods, same start time, no restarts, same processes.
    const after = await pods("app=steady");
    const view = (ps: PodView[]) =>
      ps
        .map((p) => ({
          uid: p.metadata.uid,
          phase: p.status.phase,
          startedAt: p.status.containerStatuses?.[0]?.state?.running?.startedAt,
          restarts: p.status.containerStatuses?.[0]?.restartCount,
        }))
        .sort((a, b) => a.uid.localeCompare(b.uid));
    expect(view(after)).toEqual(view(before));
    expect(view(after).every((p) => p.phase === "Running" && p.restarts === 0)).toBe(true);
    expect(survivors(processes).map((p) => p.pid)).toEqual(processes.map((p) => p.pid));
  }, 240_000);

  it("a 20-replica rollout interrupted by the kill completes with exactly the desired pods", async () => {
    await kubectlOk(["apply", "-f", "-"], wasmPods("rollout", 20));
    // Kill once some, not all, pods exist: the controllers and the scheduler are mid-way.
    await until("the rollout under way", async () => (await pods("app=rollout")).length >= 5, 60_000);
    await killWorkerd();
    await kubectlOk(["rollout", "status", "deployment/rollout", "--timeout=180s"]);
    // Settled: exactly 20 pods, all Running on the node, one ReplicaSet owning them all, none being deleted.
    let found: PodView[] = [];
    await until("exactly 20 running pods", async () => {
      found = await pods("app=rollout");
      return (
        found.length === 20 &&
        found.every((p) => p.status.phase === "Running" && !p.metadata.deletionTimestamp)
      );
    });
    expect(new Set(found.map((p) => p.metadata.name)).size).toBe(20);
    expect(new Set(found.map((p) => p.metadata.ownerReferences?.[0]?.name)).size).toBe(1);
    expect(found.every((p) => p.spec.nodeName === "node-1")).toBe(true);
    // No orphans: the node's sandboxes are exactly the cluster's pods (bwrap names each after its pod).
    let names: string[] = [];
    await until("one sandbox per pod on the node", async () => {
      names = (await pods("app")).filter((p) => !p.metadata.deletionTimestamp).map((p) => p.metadata.name);
      return JSON.stringify(sandboxedPods()) === JSON.stringify(names.sort());
    });
    console.log(`faults/rollout: 20 replicas desired, ${found.length} pods found after the workerd kill`);
  }, 300_000);

  it("concurrent reads and compare-and-set writes of 20 clients across two kills are linearizable; a resumed watch misses, repeats and reorders nothing", async () => {
    const KEYS = 4;
    const CLIENTS = 20;
    const token = (await readFile(join(stateDir, "pki", "admin-token"), "utf8")).trim();
    const dispatcher = new Agent({
      connect: { ca: await readFile(join(stateDir, "pki", "ca.crt"), "utf8") },
    });
    const api = (path: string, init: { method?: string; body?: string; signal?: AbortSignal } = {}) =>
      fetch(`${server}/api/v1/namespaces/default/configmaps${path}`, {
        ...init,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        dispatcher,
      });
    const t0 = performance.now();
    const now = () => performance.now() - t0;
    const history: HistoryEntry[] = [];
    const written = new Map<string, Set<string>>(); // key -> every value a client tried to write
    const acked = new Map<string, string[]>(); // key -> updates acknowledged by a 200 (after the watch's list)
    for (let k = 0; k < KEYS; k++) {
      const key = `lin-${k}`;
      const call = now();
      const created = await api("", {
        method: "POST",
        body: JSON.stringify({ metadata: { name: key, labels: { lin: "1" } }, data: { v: "init" } }),
      });
      expect(created.status, await created.text()).toBe(201);
      history.push({ key, op: { kind: "write", value: "init" }, call, ret: now() });
      written.set(key, new Set(["init"]));
      acked.set(key, []);
    }

    // The watch: list, then watch from the list's resourceVersion, resuming from the last one seen after each drop.
    type Cm = { metadata: { name: string; resourceVersion: string }; data?: { v?: string } };
    const events: { type: string; name: string; rv: number; v?: string }[] = [];
    let watchRv = "";
    let resumes = 0;
    const stopWatch = new AbortController();
    const list = (await (await api("?labelSelector=lin%3D1")).json()) as {
      metadata: { resourceVersion: string };
    };
    watchRv = list.metadata.resourceVersion;
    const watching = (async () => {
      while (!stopWatch.signal.aborted) {
        try {
          const res = await api(`?labelSelector=lin%3D1&watch=1&resourceVersion=${watchRv}`, {
            signal: stopWatch.signal,
          });
          expect(res.status).toBe(200);
          let buffer = "";
          for await (const chunk of res.body as AsyncIterable<Uint8Array>) {
            buffer += Buffer.from(chunk).toString();
            for (let nl = buffer.indexOf("\n"); nl >= 0; nl = buffer.indexOf("\n")) {
              const line = buffer.slice(0, nl);
              buffer = buffer.slice(nl + 1);
              if (!line.trim()) continue;
              const event = JSON.parse(line) as { type: string; object: Cm };
              expect(event.type).not.toBe("ERROR");
              watchRv = event.object.metadata.resourceVersion;
              if (event.type === "BOOKMARK") continue;
              events.push({
                type: event.type,
                name: event.object.metadata.name,
                rv: Number(watchRv),
                v: event.object.data?.v,
              });
            }
          }
        } catch (error) {
          if (stopWatch.signal.aborted) return;
          if (
            !/fetch failed|terminated|other side closed|ECONNRE|socket/i.test(
              String((error as Error).message) + String((error as { cause?: Error }).cause?.message),
            )
          )
            throw error;
        }
        if (stopWatch.signal.aborted) return;
        resumes++;
        await serving();
      }
    })();

    let stop = false;
    let done = 0;
    const client = async (c: number) => {
      const key = `lin-${c % KEYS}`;
      for (let i = 0; !stop; i++) {
        let call = now();
        let current: Cm;
        try {
          const res = await api(`/${key}`);
          if (res.status !== 200) throw new Error(`GET ${res.status}: ${await res.text()}`);
          current = (await res.json()) as Cm;
        } catch (error) {
          // No answer: a read that returned nothing constrains nothing. Wait for the restart, then go on.
          if (
            !/fetch failed|terminated|other side closed|ECONNRE|socket|GET 5\d\d/i.test(
              `${(error as Error).message}`,
            )
          )
            throw error;
          await serving();
          continue;
        }
        const seen = current.data?.v;
        history.push({ key, op: { kind: "read", value: seen }, call, ret: now(), client: c });
        const value = `c${c}-${i}`;
        written.get(key)?.add(value);
        const body = JSON.stringify({ ...current, data: { v: value } });
        call = now();
        const entry: HistoryEntry = {
          key,
          op: { kind: "cas", expected: seen, value, ok: false },
          call,
          client: c,
        };
        history.push(entry);
        try {
          const res = await api(`/${key}`, { method: "PUT", body });
          const text = await res.text();
          if (res.status === 200 || res.status === 409) {
            entry.ret = now();
            entry.op = { kind: "cas", expected: seen, value, ok: res.status === 200 };
            if (res.status === 200) acked.get(key)?.push(value);
            done++;
          } else if (res.status < 500) throw new Error(`PUT ${res.status}: ${text}`);
          // A 5xx (the Worker lost its Durable Object mid-request) leaves the outcome unknown: ret stays undefined.
        } catch (error) {
          if (
            !/fetch failed|terminated|other side closed|ECONNRE|socket/i.test(`${(error as Error).message}`)
          )
            throw error;
          await serving();
        }
      }
    };
    const clients = Array.from({ length: CLIENTS }, (_, c) => client(c));
    const progress = (n: number) => until(`${n} answered writes`, () => done >= n, 60_000);
    await progress(150);
    await killWorkerd();
    await progress(done + 150);
    await killWorkerd();
    await progress(done + 150);
    stop = true;
    await Promise.all(clients);

    // The final list is the truth the watch must have reached.
    const final = (await (await api("?labelSelector=lin%3D1")).json()) as { items: Cm[] };
    await until("the watch caught up with the final list", () =>
      final.items.every((cm) => events.some((e) => e.rv === Number(cm.metadata.resourceVersion))),
    );
    stopWatch.abort();
    await watching;
    await dispatcher.close();

    const result = checkHistory(history);
    expect(result.keys.filter((k) => !k.ok)).toEqual([]);
    // The watch: resourceVersions strictly rise (no duplicate, no reordering) ...
    for (let i = 1; i < events.length; i++) expect(events[i].rv).toBeGreaterThan(events[i - 1].rv);
    for (const cm of final.items) {
      const key = cm.metadata.name;
      const mine = events.filter((e) => e.name === key);
      // ... every acknowledged write is there exactly once, nothing no client wrote is ...
      const values = mine.map((e) => e.v);
      for (const v of acked.get(key) ?? []) expect(values.filter((x) => x === v)).toHaveLength(1);
      for (const v of values) expect(written.get(key)?.has(v as string)).toBe(true);
      // ... and the last event is the final state.
      expect(mine.at(-1)?.v).toBe(cm.data?.v);
      expect(mine.at(-1)?.rv).toBe(Number(cm.metadata.resourceVersion));
    }
    expect(resumes).toBeGreaterThanOrEqual(2);
    const answered = history.filter((e) => e.op.kind === "cas" && e.ret !== undefined);
    const ackedWrites = [...acked.values()].reduce((n, l) => n + l.length, 0);
    const foundWrites = events.filter((e) => e.type === "MODIFIED").length;
    console.log(
      `faults/linearizability: ${history.length} operations by ${CLIENTS} clients on ${KEYS} keys across 2 workerd kills; ` +
        `${answered.length} CAS answered (${ackedWrites} acknowledged, ${answered.length - ackedWrites} conflicts), ` +
        `${history.filter((e) => e.ret === undefined).length} without an answer; 0 linearizability violations; ` +
        `watch resumed ${resumes} times, ${foundWrites} updates seen, every acknowledged one exactly once`,
    );
  }, 240_000);

  it("a tunnel dropped under kubectl logs -f and port-forward ends them with an error; the agent reconnects and new ones work", async () => {
    const port = 18000 + Math.floor(Math.random() * 2000);
    const pod = (name: string, image: string, extra: object = {}) =>
      JSON.stringify({
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name },
        spec: {
          runtimeClassName: "wasm",
          terminationGracePeriodSeconds: 1,
          containers: [{ name: "main", image: `${registry}/samples/${image}`, ...extra }],
        },
      });
    await kubectlOk(["apply", "-f", "-"], pod("talker", "ticker:v1"));
    await kubectlOk(
      ["apply", "-f", "-"],
      pod("web", "http-hello:v1", {
        ports: [{ containerPort: port }],
        readinessProbe: { httpGet: { path: "/healthz", port }, periodSeconds: 1 },
      }),
    );
    await kubectlOk(["wait", "--for=condition=Ready", "pod/talker", "pod/web", "--timeout=120s"]);

    const open = async () => {
      const logs = kubectlRunning(["logs", "-f", "talker"]);
      const forward = kubectlRunning(["port-forward", "pod/web", `:${port}`]);
      await until("logs -f streaming", () => /tick \d+/.test(logs.out()), 60_000).catch(async (error) => {
        const agentLog = await readFile(join(stateDir, "logs", "node-1.log"), "utf8");
        throw new Error(`${error.message}\nkubectl logs -f: ${logs.out()}\nnode-1: ${agentLog.slice(-4000)}`);
      });
      await until(
        "port-forward listening",
        () => /Forwarding from 127\.0\.0\.1:\d+/.test(forward.out()),
        60_000,
      );
      const local = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(forward.out())?.[1];
      // The component may still be compiling when the pod turns Ready: wait until it answers.
      let answer = "";
      await until(
        "an answer through port-forward",
        async () => {
          try {
            const res = await fetch(`http://127.0.0.1:${local}/through-the-tunnel`, {
              signal: AbortSignal.timeout(10_000),
            });
            answer = await res.text();
            return true;
          } catch {
            return false;
          }
        },
        60_000,
      );
      expect(answer).toBe("hello from a wasi:http component, path /through-the-tunnel\n");
      return { logs, forward, local };
    };
    const first = await open();
    await killWorkerd();
    // Neither hangs: both end, with an error that says what happened.
    const [logsExit, forwardExit] = await Promise.all([first.logs.exit, first.forward.exit]);
    console.log(
      `faults/tunnel: logs -f exited ${logsExit}: ${first.logs
        .out()
        .split("\n")
        .filter((l) => !/^tick/.test(l))
        .join(" | ")}`,
    );
    console.log(
      `faults/tunnel: port-forward exited ${forwardExit}: ${first.forward.out().replace(/\n/g, " | ")}`,
    );
    expect(forwardExit).not.toBe(0);
    expect(first.forward.out()).toMatch(/error|lost connection/i);
    expect(logsExit).not.toBe(0);
    expect(first.logs.out()).toMatch(/error/i);

    // Until the agent's tunnel is back, kubectl says so clearly (503 "node-1 is not connected"); then new ones work.
    await until("the agent's tunnel back", async () => {
      const r = await kubectl(["logs", "talker", "--tail=1"]);
      if (r.code !== 0)
        expect(r.stderr).toMatch(/ServiceUnavailable.*node "node-1" is not connected|connection refused/);
      return r.code === 0;
    });
    const second = await open();
    second.logs.child.kill("SIGTERM");
    second.forward.child.kill("SIGTERM");
    await Promise.all([second.logs.exit, second.forward.exit]);
    await kubectlOk(["delete", "pod", "talker", "web", "--wait=false"]);
  }, 240_000);
});
