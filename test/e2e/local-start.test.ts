/**
 * The README's first command, run as a user runs it: `npm start` (with a
 * temp state dir and a free port), waiting for its ready line, then real
 * kubectl against it over HTTPS with the generated CA and token; Ctrl-C
 * (SIGINT to the process group) must stop everything it started; a second
 * start must find every object again.
 */
import { execFile } from "node:child_process";
import { mkdtemp, readdir, readFile, rm } from "node:fs/promises";
import { createServer, type Server } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Agent, fetch } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { privateNetwork } from "../../node-agent/src/testing/agent-process.ts";
import { findAgentEntry } from "../../scripts/local/agents.ts";
import { type Launched, launchNpmStart, repoPath } from "../../scripts/local/launch.ts";
import { type ProcessInfo, processesMentioning, survivors } from "../../scripts/local/process-tree.ts";
import { ensureComponents } from "../../wasm/build-components.mjs";

// Pod IPs are real: this cluster's pods get a bridge and /24 no parallel test file or leftover pod holds.
const network = privateNetwork();
const NETWORK_ENV = { EDGEPLANE_POD_NETWORK: network.podCidr, EDGEPLANE_CNI_BRIDGE: network.bridge };

let stateDir: string;
let running: Launched | undefined;

function kubectl(args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> {
  const kubeconfig = join(stateDir, "kubeconfig");
  const full = ["--kubeconfig", kubeconfig, "--cache-dir", join(stateDir, "kube-cache"), ...args];
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

/** Poll `check` until it returns true (bounded): a condition, never a fixed sleep. */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Start npm start and wait for its ready line; returns the server URL. */
async function start(args: string[] = []): Promise<{ url: string; registry: string; launched: Launched }> {
  const launched = launchNpmStart(
    [
      "--state-dir",
      stateDir,
      "--port",
      "0",
      "--registry-port",
      "0",
      "--ingress-port",
      "0",
      "--skip-setup",
      ...args,
    ],
    NETWORK_ENV,
  );
  running = launched;
  const m = await launched.waitFor(
    /edgeplane: ready at (https:\/\/127\.0\.0\.1:\d+) .*registry (127\.0\.0\.1:\d+)/,
  );
  return { url: m[1], registry: m[2], launched };
}

/** SIGINT like Ctrl-C; expect a clean exit and none of its processes left. */
async function stop(launched: Launched): Promise<void> {
  const before: ProcessInfo[] = launched.tree();
  expect(before.some((p) => p.command.includes("workerd"))).toBe(true);
  // Tokens are passed in files, never on command lines (visible to every user in ps).
  const pki = join(stateDir, "pki");
  for (const file of (await readdir(pki)).filter((f) => f === "admin-token" || f.endsWith(".token"))) {
    const token = (await readFile(join(pki, file), "utf8")).trim();
    expect(before.filter((p) => p.command.includes(token)).map((p) => p.command)).toEqual([]);
  }
  const code = await launched.interrupt("SIGINT");
  running = undefined;
  expect(launched.output()).toMatch(/edgeplane: stopped/);
  expect([0, "SIGINT"]).toContain(code);
  expect(survivors(before).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
  // Pods' processes are not the launcher's descendants (they outlive agents by design): none may be left.
  expect(processesMentioning(stateDir).map((p) => `${p.pid} ${p.command}`)).toEqual([]);
}

/** examples/*.yaml as a user applies them, with the registry host of this run's (free) registry port. */
async function examplesFor(registryHost: string): Promise<string> {
  const dir = repoPath("examples");
  const files = (await readdir(dir)).filter((f) => f.endsWith(".yaml")).sort();
  const docs = await Promise.all(files.map((f) => readFile(join(dir, f), "utf8")));
  // The HTTP component listens on the node's port: a free one here, so parallel runs cannot collide.
  return docs
    .map((d) =>
      d
        .replaceAll("127.0.0.1:6500/", `${registryHost}/`)
        .replaceAll("containerPort: 8080", `containerPort: ${httpPort}`),
    )
    .join("\n---\n");
}

let httpPort: number;

beforeAll(async () => {
  stateDir = await mkdtemp(join(tmpdir(), "edgeplane-local-start-"));
  // The HTTP example's component is built (slowly, once) into wasm/build/, which npm start pushes.
  // Another test file may be building it at the same moment (the builder shares a scratch dir):
  // one retry finds the finished file.
  await ensureComponents().catch(() => ensureComponents());
  const probe: Server = createServer();
  await new Promise<void>((res) => probe.listen(0, "127.0.0.1", res));
  httpPort = (probe.address() as { port: number }).port;
  await new Promise((res) => probe.close(res));
}, 600_000);

afterAll(async () => {
  if (running) await running.interrupt("SIGKILL", 10_000).catch(() => {});
  await rm(stateDir, { recursive: true, force: true });
});

describe("npm start", () => {
  const agentEntry = findAgentEntry(repoPath());

  it("starts a local cluster kubectl can use over HTTPS, stops cleanly on Ctrl-C, and keeps state", async () => {
    const first = await start(["--nodes", "1"]);
    expect(first.launched.output()).toMatch(/made a local CA, server certificate and admin token/);
    expect(first.launched.output()).toMatch(/pushed samples\/hello:v1/);

    // The kubeconfig carries the server, the CA and the token: kubectl verifies TLS with it.
    const kubeconfig = await readFile(join(stateDir, "kubeconfig"), "utf8");
    expect(kubeconfig).toContain(first.url);
    expect(kubeconfig).toContain("certificate-authority-data");
    expect(await kubectlOk(["version"])).toMatch(/Server Version: v1\.\d+/);
    expect(await kubectlOk(["get", "ns"])).toMatch(/kube-system\s+Active/);
    await kubectlOk(["create", "configmap", "kept-across-restarts", "--from-literal=answer=42"]);

    // The built-in registry holds the samples; it refuses requests without a token.
    expect(JSON.parse(await kubectlOk(["get", "--raw", "/v2/samples/hello/tags/list"]))).toEqual({
      name: "samples/hello",
      tags: ["v1"],
    });
    const ca = await readFile(join(stateDir, "pki", "ca.crt"), "utf8");
    const dispatcher = new Agent({ connect: { ca } });
    const anon = await fetch(`${first.url}/v2/`, { dispatcher });
    expect(anon.status).toBe(401);
    await anon.arrayBuffer();
    await dispatcher.close();

    expect(agentEntry).toBeDefined();
    await until("node-1 Ready", async () => {
      const jsonpath = "jsonpath={.status.conditions[?(@.type=='Ready')].status}";
      return (await kubectl(["get", "node", "node-1", "-o", jsonpath])).stdout.trim() === "True";
    });
    expect(await kubectlOk(["get", "node", "node-1", "--show-labels"])).toContain(
      "edgeplane.dev/runtime-wasm=true",
    );

    // The examples, applied with real kubectl: the long-running sample rolls out, the Job completes.
    await kubectlOk(["apply", "-f", "-"], await examplesFor(first.registry));
    await kubectlOk(["rollout", "status", "deployment/ticker", "--timeout=120s"]);
    await kubectlOk(["wait", "--for=condition=complete", "job/hello", "--timeout=120s"]);
    expect(await kubectlOk(["logs", "job/hello"])).toContain("hello from edgeplane wasm");
    expect(await kubectlOk(["logs", "deployment/ticker", "--tail=1"])).toMatch(/tick \d+/);
    // The HTTP component answers at the address its Service's endpoints give.
    await kubectlOk(["rollout", "status", "deployment/http-hello", "--timeout=120s"]);
    let endpoint = "";
    await until("http-hello endpoints", async () => {
      const jsonpath = "jsonpath={.subsets[0].addresses[0].ip}:{.subsets[0].ports[0].port}";
      endpoint = (await kubectl(["get", "endpoints", "http-hello", "-o", jsonpath])).stdout.trim();
      return /^\d+\.\d+\.\d+\.\d+:\d+$/.test(endpoint);
    });
    expect(endpoint.endsWith(`:${httpPort}`)).toBe(true);
    let answer = "";
    await until("http-hello answering", async () => {
      try {
        const res = await fetch(`http://${endpoint}/from-the-test`);
        answer = await res.text();
        return res.status === 200;
      } catch {
        return false;
      }
    });
    expect(answer).toBe("hello from a wasi:http component, path /from-the-test\n");
    // The example's Ingress, through the ingress port the banner prints, verified with the cluster CA.
    const ingressPort = /Ingress: https:\/\/127\.0\.0\.1:(\d+)/.exec(first.launched.output())?.[1];
    expect(ingressPort).toBeDefined();
    const viaIngress = (host: string, path: string) =>
      new Promise<string>((res, rej) =>
        execFile(
          "curl",
          [
            "-sS",
            "--cacert",
            join(stateDir, "pki", "ca.crt"),
            "--resolve",
            `${host}:${ingressPort}:127.0.0.1`,
            "-w",
            "%{http_code}",
            `https://${host}:${ingressPort}${path}`,
          ],
          (error, stdout) => (error ? rej(error) : res(stdout)),
        ),
      );
    expect(await viaIngress("hello.local", "/via-ingress")).toBe(
      "hello from a wasi:http component, path /via-ingress\n200",
    );
    // Only Ingresses are served there: not the API, whatever the path.
    expect(await viaIngress("localhost", "/version")).toMatch(/404$/);

    const phases = await kubectlOk([
      "get",
      "pods",
      "-l",
      "app=ticker",
      "-o",
      "jsonpath={.items[*].status.phase}",
    ]);
    expect(phases.split(" ")).toEqual(["Running", "Running"]);
    await stop(first.launched);

    const second = await start(["--nodes", "0"]);
    expect(second.launched.output()).not.toMatch(/made a local CA/);
    expect(second.launched.output()).not.toMatch(/pushed samples/);
    expect(
      await kubectlOk(["get", "configmap", "kept-across-restarts", "-o", "jsonpath={.data.answer}"]),
    ).toBe("42");
    expect(JSON.parse(await kubectlOk(["get", "--raw", "/v2/samples/hello/tags/list"])).tags).toEqual(["v1"]);
    expect(await kubectlOk(["get", "deployment/ticker", "-o", "jsonpath={.spec.replicas}"])).toBe("2");
    expect(await kubectlOk(["get", "cronjob/hello-every-minute", "-o", "jsonpath={.spec.schedule}"])).toBe(
      "* * * * *",
    );
    expect(await kubectlOk(["get", "runtimeclass/wasm", "-o", "jsonpath={.handler}"])).toBe("wasm");
    await stop(second.launched);
  }, 300_000);

  it("says clearly when its port is taken, and leaves nothing running", async () => {
    const blocker: Server = createServer();
    await new Promise<void>((res) => blocker.listen(0, "127.0.0.1", res));
    const port = (blocker.address() as { port: number }).port;
    try {
      const launched = launchNpmStart(
        ["--state-dir", join(stateDir, "port-taken"), "--port", String(port), "--skip-setup", "--nodes", "0"],
        NETWORK_ENV,
      );
      running = launched;
      await launched.waitFor(new RegExp(`port ${port} on 127\\.0\\.0\\.1 is already in use`), 60_000);
      const before = launched.tree();
      expect(await launched.exit).toBe(1);
      running = undefined;
      expect(survivors(before)).toEqual([]);
    } finally {
      await new Promise((res) => blocker.close(res));
    }
  }, 120_000);
});
