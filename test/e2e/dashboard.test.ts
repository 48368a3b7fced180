/**
 * The dashboard in a real browser: headless Debian Chromium (playwright-core)
 * against the local control plane (workerd via Miniflare, HTTPS with a
 * private CA), a real agent running WASM pods and real kubectl. One control
 * plane, agent and browser for the whole file. Screenshots land in
 * test/e2e/artifacts/dashboard/ (git-ignored).
 */
import { randomBytes } from "node:crypto";
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Browser, BrowserContext, Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  buildTestImages,
  type LocalRegistry,
  removeAgentPods,
  startLocalRegistry,
} from "../../node-agent/src/runtime/cri/testing.ts";
import { type AgentProcess, sample, spawnAgent } from "../../node-agent/src/testing/agent-process.ts";
import { startTestRegistry, type TestRegistry } from "../../node-agent/src/testing/oci-registry.ts";
import { buildDashboard } from "../../scripts/edgeplane/dashboard-build.ts";
import { ensurePki, ensureSigningKey } from "../../scripts/local/pki.ts";
import { type IsolatedBrowser, launchChromium } from "./dashboard-browser.ts";
import { type ControlPlane, ROOT, startControlPlane } from "./harness.ts";

// Browser globals for the callbacks that run inside the page (page.evaluate / waitForFunction), not in Node.
interface PageElement {
  textContent: string | null;
}
declare const document: {
  activeElement: (PageElement & { getAttribute(name: string): string | null }) | null;
  querySelector(selector: string): PageElement | null;
  querySelectorAll(selector: string): ArrayLike<PageElement> & Iterable<PageElement>;
  scrollingElement: { scrollTo(x: number, y: number): void } | null;
};
declare const sessionStorage: { length: number } & Record<string, string>;
declare const localStorage: { length: number };
declare const window: Record<string, unknown>;

// The terminal needs a container pod (WASM pods have no exec): containerd + runc, where the host has them.

const NODE = `dash-node-${randomBytes(2).toString("hex")}`;
const SHOTS = join(ROOT, "test/e2e/artifacts/dashboard");
const WAIT = 60_000;

describe("the dashboard in headless Chromium", () => {
  let cp: ControlPlane;
  let registry: TestRegistry;
  let images: LocalRegistry | undefined;
  let busybox = "";
  let agent: AgentProcess;
  let chrome: IsolatedBrowser;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let dir: string;
  let ticker: string;
  const cspViolations: string[] = [];

  async function kubectl(args: string[], input?: string): Promise<string> {
    const r = await cp.kubectl(args, { input });
    expect(r.code, r.stderr).toBe(0);
    return r.stdout;
  }

  async function shot(name: string): Promise<void> {
    await page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  }

  /** Rows of the page's table whose key (namespace/name) starts with `prefix`. */
  async function waitForRows(prefix: string, count: number): Promise<void> {
    await page.waitForFunction(
      ([p, n]) => document.querySelectorAll(`tr[data-key^="${p}"]`).length === n,
      [prefix, count] as const,
      { timeout: WAIT },
    );
  }

  async function signIn(token: string): Promise<void> {
    await page.goto(`${cp.url}/ui/`);
    await page.getByLabel("Bearer token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
  }

  beforeAll(async () => {
    mkdirSync(SHOTS, { recursive: true });
    dir = mkdtempSync(join(tmpdir(), "ep-dashboard-"));
    const pki = await ensurePki(join(dir, "pki"));
    const built = await buildDashboard(ROOT);
    console.log(`dashboard build: ${(built.gzipBytes / 1024).toFixed(1)} KiB gzipped`);
    [cp, registry, chrome] = await Promise.all([
      startControlPlane({
        tls: { certPath: pki.serverCert, keyPath: pki.serverKey },
        // ServiceAccount tokens for the view-only user.
        env: { SERVICE_ACCOUNT_SIGNING_KEY: await ensureSigningKey(join(dir, "pki", "sa.key")) },
      }),
      startTestRegistry(),
      launchChromium(),
    ]);
    browser = chrome.browser;
    await chrome.reach(cp.url);
    images = await startLocalRegistry(join(dir, "registry"));
    busybox = await images.push(join(await buildTestImages(), "oci"), "busybox", "edgeplane/busybox:1");
    await kubectl(
      ["apply", "-f", "-"],
      "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: runc\nhandler: runc\n",
    );
    ticker = registry.push("samples/ticker", "v1", [
      { mediaType: "application/wasm", bytes: new Uint8Array(readFileSync(sample("ticker"))) },
    ]).image;
    await kubectl(
      ["apply", "-f", "-"],
      "apiVersion: node.k8s.io/v1\nkind: RuntimeClass\nmetadata:\n  name: wasm\nhandler: wasm\n",
    );
    agent = spawnAgent(
      [
        "--server",
        cp.url,
        "--ca-file",
        pki.caCert,
        "--name",
        NODE,
        "--data-dir",
        join(dir, "agent"),
        "--node-ip",
        "127.0.0.1",
        "--runtimes",
        "wasm,cri",
        "--containerd",
        "managed",
      ],
      { token: cp.token },
    );
    await agent.waitFor(/tunnel connected/, 90_000);
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
    page = await context.newPage();
    page.on("console", (m) => {
      if (/Content Security Policy/i.test(m.text())) cspViolations.push(m.text());
    });
  }, 180_000);

  afterAll(async () => {
    await context?.close();
    await chrome?.close();
    if (cp && agent) {
      await cp.kubectl(["delete", "deployment", "--all", "--wait=false"]);
      await cp.kubectl(["delete", "pods", "--all", "--wait=true", "--timeout=60s"], { timeoutMs: 70_000 });
      await agent.stop();
    }
    if (dir) await removeAgentPods(join(dir, "agent"), NODE);
    await Promise.all([registry?.close(), images?.stop(), cp?.stop()]);
    if (dir) rmSync(dir, { recursive: true, force: true });
  }, 180_000);

  it("serves /ui with a strict CSP and says clearly when the token is wrong", async () => {
    const response = await page.goto(`${cp.url}/ui`);
    expect(response?.status()).toBe(200);
    const headers = response!.headers();
    expect(headers["content-security-policy"]).toMatch(/script-src 'self'/);
    expect(headers["content-security-policy"]).not.toMatch(/unsafe-inline/);
    expect(headers["x-frame-options"]).toBe("DENY");
    expect(headers["cache-control"]).toBe("no-store");
    // The first sign-in request dies in the network layer (as when Chrome aborts requests because the
    // host's interfaces changed): a review changes nothing, so the app sends it once more.
    const reviews = "**/apis/authentication.k8s.io/v1/selfsubjectreviews";
    let attempts = 0;
    await page.route(reviews, (route) => (++attempts === 1 ? route.abort("failed") : route.continue()));
    await signIn("not-a-valid-token");
    const alert = page.getByRole("alert");
    await alert.waitFor({ timeout: WAIT });
    expect(await alert.textContent()).toMatch(/rejected this token \(401 Unauthorized\)/);
    expect(attempts).toBe(2);
    await page.unroute(reviews);
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    await shot("1-wrong-token");
  }, 120_000);

  it("signs in with the admin token and shows the node Ready on the overview", async () => {
    await signIn(cp.token);
    await page.getByTestId("user").waitFor({ timeout: WAIT });
    const row = page.locator(`tr[data-key="${NODE}"]`);
    await row.getByText("Ready", { exact: true }).waitFor({ timeout: WAIT });
    expect(await page.getByTestId("nodes-ready").textContent()).toBe("1 / 1");
    // The token is in this tab's session storage and nowhere else: no cookie, no URL, no localStorage.
    expect(await page.evaluate(() => Object.values(sessionStorage))).toContain(cp.token);
    expect(await page.evaluate(() => localStorage.length)).toBe(0);
    expect(await context.cookies()).toEqual([]);
    expect(page.url()).not.toContain(cp.token);
    await page.evaluate(() => {
      window.notReloaded = true;
    });
    await shot("2-overview");
  }, 120_000);

  it("scales a Deployment and its pods appear and go as the watch reports them, without reloading", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ticker
spec:
  replicas: 1
  selector:
    matchLabels: { app: ticker }
  template:
    metadata:
      labels: { app: ticker }
    spec:
      runtimeClassName: wasm
      terminationGracePeriodSeconds: 2
      containers:
      - name: ticker
        image: ${ticker}
`,
    );
    await page.getByRole("link", { name: "Workloads", exact: true }).click();
    const row = page.locator('tr[data-key="default/ticker"]');
    await row.waitFor({ timeout: WAIT });
    await row.getByLabel("Replicas of ticker").fill("3");
    await row.getByRole("button", { name: "Scale ticker" }).click();
    await row.getByText("3/3", { exact: true }).waitFor({ timeout: WAIT });
    expect((await kubectl(["get", "deployment", "ticker", "-o", "jsonpath={.spec.replicas}"])).trim()).toBe(
      "3",
    );
    await shot("3-workloads-scaled");

    await page.getByRole("link", { name: "Pods", exact: true }).click();
    await waitForRows("default/ticker-", 3);
    // Scaled from outside: the open pods list follows the watch.
    await kubectl(["scale", "deployment", "ticker", "--replicas=4"]);
    await waitForRows("default/ticker-", 4);
    await page.waitForFunction(
      () =>
        [...document.querySelectorAll('tr[data-key^="default/ticker-"]')].filter((r) =>
          r.textContent?.includes("Running"),
        ).length === 4,
      undefined,
      { timeout: WAIT },
    );
    await shot("4-pods");
    await kubectl(["scale", "deployment", "ticker", "--replicas=2"]);
    await waitForRows("default/ticker-", 2);
    expect(await page.evaluate(() => window.notReloaded)).toBe(true);
  }, 120_000);

  it("follows a pod's logs", async () => {
    const first = page.locator('tr[data-key^="default/ticker-"]').first();
    await first.getByRole("link", { name: /^Logs of pod/ }).click();
    const log = page.getByTestId("log");
    await page.waitForFunction(
      () => /tick \d+\n/.test(document.querySelector("[data-testid=log]")?.textContent ?? ""),
      undefined,
      {
        timeout: WAIT,
      },
    );
    const before = ((await log.textContent()) ?? "").match(/tick (\d+)/g)?.length ?? 0;
    // Following: more ticks arrive on the open stream.
    await page.waitForFunction(
      (n) =>
        ((document.querySelector("[data-testid=log]")?.textContent ?? "").match(/tick (\d+)/g)?.length ?? 0) >
        n,
      before,
      { timeout: WAIT },
    );
    expect(await page.getByText("Following the log…").isVisible()).toBe(true);
    await shot("5-logs");
  }, 120_000);

  it("deletes a pod from the list and shows the server's field errors of an apply", async () => {
    await page.getByRole("link", { name: "Pods", exact: true }).click();
    await waitForRows("default/ticker-", 2);
    const victim = (await page.locator('tr[data-key^="default/ticker-"]').first().getAttribute("data-key"))!;
    const name = victim.split("/")[1];
    const row = page.locator(`tr[data-key="${victim}"]`);
    await row.getByRole("button", { name: `Delete pod ${name}` }).click();
    await row.getByRole("button", { name: `Confirm deleting pod ${name}` }).click();
    await row.waitFor({ state: "detached", timeout: WAIT });

    await page.getByRole("link", { name: "Apply YAML", exact: true }).click();
    await page.getByLabel(/Manifests/).fill(`apiVersion: v1
kind: ConfigMap
metadata:
  name: from-dashboard
data:
  greeting: hello
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: broken
spec:
  replicas: -1
  selector:
    matchLabels: { app: broken }
  template:
    metadata:
      labels: { app: other }
    spec:
      containers:
      - name: c
        image: ${ticker}
`);
    await page.getByRole("button", { name: "Apply" }).click();
    const results = page.getByRole("list", { name: "Apply results" });
    await results.getByText(/applied \(resourceVersion/).waitFor({ timeout: WAIT });
    await results.getByText("spec.replicas", { exact: true }).waitFor({ timeout: WAIT });
    expect(await results.textContent()).toMatch(/Deployment broken: .*\(422 Invalid\)/);
    expect(
      await kubectl([
        "get",
        "configmap",
        "from-dashboard",
        "-o",
        "jsonpath={.metadata.managedFields[0].manager}",
      ]),
    ).toBe("dashboard");
    await shot("6-apply");
  }, 120_000);

  it("shows Services with their endpoints, Secrets hidden until asked, Events and namespaces", async () => {
    await kubectl(["create", "service", "clusterip", "ticker", "--tcp=80:8080"]);
    await kubectl([
      "create",
      "secret",
      "generic",
      "dash-secret",
      "--from-literal=password=hunter2-dashboard",
    ]);
    await page.getByRole("link", { name: "Services", exact: true }).click();
    const service = page.locator('tr[data-key="default/ticker"]');
    await service.getByText(/10\.\d+\.\d+\.\d+:8080/).waitFor({ timeout: WAIT });
    await shot("7-services");

    await page.getByRole("link", { name: "Config & Secrets", exact: true }).click();
    await page.getByLabel("Secrets").check();
    const secret = page.locator('tr[data-key="default/dash-secret"]');
    await secret.waitFor({ timeout: WAIT });
    expect(await secret.textContent()).toContain("••••••");
    expect(await page.content()).not.toContain("hunter2-dashboard");
    await secret.getByRole("button", { name: "Show values of dash-secret" }).click();
    await secret.getByText("hunter2-dashboard").waitFor({ timeout: WAIT });
    await shot("8-secrets");

    await page.getByRole("link", { name: "Events", exact: true }).click();
    await page.getByRole("cell", { name: "Scheduled", exact: true }).first().waitFor({ timeout: WAIT });
    await shot("9-events");

    await page.getByRole("link", { name: "Namespaces", exact: true }).click();
    await page.getByRole("button", { name: "Show namespace kube-system" }).click();
    await page.getByRole("table", { name: /Pods in kube-system/ }).waitFor({ timeout: WAIT });
    await page.getByLabel("Namespace").selectOption("default");
    expect(cspViolations).toEqual([]);
  }, 120_000);

  it("resumes an ended watch from its resourceVersion and relists after 410 Gone", async () => {
    const path = "/api/v1/namespaces/default/configmaps";
    const requests: string[] = [];
    const onRequest = (r: { url(): string }) => {
      const url = new URL(r.url());
      if (url.pathname === path) requests.push(url.search);
    };
    await kubectl(["create", "configmap", "before-watch", "--from-literal=k=v"]);
    page.on("request", onRequest);
    let watches = 0;
    // Fault injection in the browser's network layer: the first watch ends at once (as a server timeout
    // does), the second answers with the 410 Expired ERROR event of a compacted history; the rest go through.
    await page.route(
      (url) => url.pathname === path && url.searchParams.get("watch") === "1",
      async (route) => {
        watches++;
        if (watches === 1) return route.fulfill({ status: 200, contentType: "application/json", body: "" });
        if (watches === 2)
          return route.fulfill({
            status: 200,
            contentType: "application/json",
            body: `${JSON.stringify({
              type: "ERROR",
              object: {
                kind: "Status",
                apiVersion: "v1",
                status: "Failure",
                reason: "Expired",
                code: 410,
                message: "too old resource version",
              },
            })}\n`,
          });
        return route.continue();
      },
    );
    try {
      await page.getByRole("link", { name: "Config & Secrets", exact: true }).click();
      await page.getByLabel("ConfigMaps").check();
      await page.locator('tr[data-key="default/before-watch"]').waitFor({ timeout: WAIT });
      await kubectl(["create", "configmap", "after-relist", "--from-literal=k=v"]);
      await page.locator('tr[data-key="default/after-relist"]').waitFor({ timeout: WAIT });
    } finally {
      await page.unrouteAll();
      page.off("request", onRequest);
    }
    const kinds = requests.map((q) =>
      new URLSearchParams(q).get("watch") ? `watch@${new URLSearchParams(q).get("resourceVersion")}` : "list",
    );
    // list, watch@rv, the same watch@rv again (resumed, no relist), then after the 410 a new list and its watch.
    expect(kinds.slice(0, 5).map((k) => k.replace(/@\d+$/, "@rv"))).toEqual([
      "list",
      "watch@rv",
      "watch@rv",
      "list",
      "watch@rv",
    ]);
    expect(kinds[1]).toBe(kinds[2]);
  }, 120_000);

  it("is usable from the keyboard: section links, then the workload kinds as tabs with arrow keys", async () => {
    const focused = () =>
      page.evaluate(() => ({
        text: document.activeElement?.textContent ?? "",
        role: document.activeElement?.getAttribute("role") ?? "",
        selected: document.activeElement?.getAttribute("aria-selected") ?? "",
      }));
    const tabTo = async (want: (f: Awaited<ReturnType<typeof focused>>) => boolean) => {
      for (let i = 0; i < 40; i++) {
        await page.keyboard.press("Tab");
        if (want(await focused())) return;
      }
      throw new Error(`Tab never reached the element (last focus: ${JSON.stringify(await focused())})`);
    };
    await tabTo((f) => f.text === "Workloads");
    await page.keyboard.press("Enter");
    await page.getByRole("heading", { name: "Workloads" }).waitFor({ timeout: WAIT });
    await tabTo((f) => f.role === "tab");
    expect(await focused()).toEqual({ text: "Deployments", role: "tab", selected: "true" });
    await page.keyboard.press("ArrowRight");
    await page.getByRole("table", { name: /StatefulSets/ }).waitFor({ timeout: WAIT });
    expect(await focused()).toEqual({ text: "StatefulSets", role: "tab", selected: "true" });
    await page.keyboard.press("ArrowLeft");
    await page.getByRole("table", { name: /Deployments/ }).waitFor({ timeout: WAIT });
    expect(await focused()).toEqual({ text: "Deployments", role: "tab", selected: "true" });
  }, 120_000);

  it("opens a terminal in a container (xterm.js over the v5 channel WebSocket)", async () => {
    await kubectl(
      ["apply", "-f", "-"],
      `apiVersion: v1
kind: Pod
metadata:
  name: box
spec:
  runtimeClassName: runc
  terminationGracePeriodSeconds: 1
  containers:
  - name: box
    image: ${busybox}
    command: ["sleep", "3600"]
`,
    );
    await kubectl(["wait", "--for=condition=Ready", "pod/box", "--timeout=90s"]);
    await page.getByRole("link", { name: "Pods", exact: true }).click();
    await page.getByRole("link", { name: "Terminal in pod box" }).click();
    await page
      .getByTestId("terminal-state")
      .getByText("connected (v5.channel.k8s.io)")
      .waitFor({ timeout: WAIT });
    await page.getByTestId("terminal").click();
    await page.keyboard.type("echo dash-$((6*7)); stty size\n");
    const screen = page.locator(".xterm-rows");
    // The shell computed 42, and the TTY has the terminal's size (100 columns, 32 rows).
    await screen.getByText("dash-42").waitFor({ timeout: WAIT });
    await screen.getByText("32 100").waitFor({ timeout: WAIT });
    await shot("11-terminal");
    await page.keyboard.type("exit\n");
    await page.getByTestId("terminal-state").getByText("session ended").waitFor({ timeout: WAIT });
    // xterm.js's <style> elements carried the page's nonce: nothing was refused.
    expect(cspViolations).toEqual([]);
  }, 180_000);

  it("shows a view-only user what RBAC allows, and the server's refusal for the rest", async () => {
    await kubectl(["create", "serviceaccount", "viewer"]);
    await kubectl([
      "create",
      "rolebinding",
      "viewer-view",
      "--clusterrole=view",
      "--serviceaccount=default:viewer",
    ]);
    const token = (await kubectl(["create", "token", "viewer"])).trim();
    const viewer = await browser.newContext({
      ignoreHTTPSErrors: true,
      viewport: { width: 1280, height: 800 },
    });
    const other = await viewer.newPage();
    try {
      await other.goto(`${cp.url}/ui/#/workloads`);
      await other.getByLabel("Bearer token").fill(token);
      await other.getByRole("button", { name: "Sign in" }).click();
      expect(await other.getByTestId("user").textContent({ timeout: WAIT })).toBe(
        "system:serviceaccount:default:viewer",
      );
      const row = other.locator('tr[data-key="default/ticker"]');
      await row.waitFor({ timeout: WAIT });
      await row.getByRole("button", { name: "Scale ticker" }).click();
      const alert = other.getByRole("alert");
      await alert.waitFor({ timeout: WAIT });
      expect(await alert.textContent()).toMatch(/Not allowed \(403 Forbidden\)/);
      await other.screenshot({ path: join(SHOTS, "10-viewer-forbidden.png"), fullPage: true });
      expect((await kubectl(["get", "deployment", "ticker", "-o", "jsonpath={.spec.replicas}"])).trim()).toBe(
        "2",
      );
    } finally {
      await viewer.close();
    }
  }, 120_000);

  it("renders a long list as a window of rows with its full size for screen readers; Tab scrolls it along", async () => {
    // 150 pods bound to a Node no agent runs: they stay Pending, nothing starts.
    const N = 150;
    const name = (i: number) => `p${String(i).padStart(3, "0")}`;
    await kubectl(["create", "namespace", "long"]);
    await kubectl(
      ["create", "-f", "-"],
      JSON.stringify({
        apiVersion: "v1",
        kind: "List",
        items: [
          { apiVersion: "v1", kind: "Node", metadata: { name: "dash-unrun" } },
          ...Array.from({ length: N }, (_, i) => ({
            apiVersion: "v1",
            kind: "Pod",
            metadata: { name: name(i), namespace: "long" },
            spec: { nodeName: "dash-unrun", containers: [{ name: "app", image: "busybox" }] },
          })),
        ],
      }),
    );
    await page.goto(`${cp.url}/ui/#/pods`);
    // A reload, so the namespace picker (polled every 30 s) lists the new namespace at once.
    await page.reload();
    await page.getByLabel("Namespace").selectOption("long");
    const table = page.getByRole("table", { name: /Pods in long/ });
    await table.getByText(`(${N})`).waitFor({ timeout: WAIT });
    const rendered = () => page.locator('tr[data-key^="long/"]').count();
    // Every row is counted (header + pods) but only those near the 800 px viewport are in the DOM.
    expect(await table.getAttribute("aria-rowcount")).toBe(String(N + 1));
    expect(await page.locator('tr[data-key="long/p000"]').getAttribute("aria-rowindex")).toBe("2");
    expect(await rendered()).toBeLessThan(60);
    // Keyboard: three controls a row (Logs, Terminal, Delete); Tab walks past the first window's rows
    // (about 32 at 800 px) to p040, the window following the focus.
    await page.getByLabel("Logs of pod p000").focus();
    for (let i = 0; i < 3 * 40; i++) await page.keyboard.press("Tab");
    expect(await page.evaluate(() => document.activeElement?.getAttribute("aria-label"))).toBe(
      "Logs of pod p040",
    );
    expect(await page.locator('tr[data-key="long/p040"]').getAttribute("aria-rowindex")).toBe("42");
    expect(await page.locator('tr[data-key="long/p000"]').count()).toBe(0);
    expect(await rendered()).toBeLessThan(60);
    // The end of the table: the last pod's row, numbered for what it is.
    await page.evaluate(() => document.scrollingElement?.scrollTo(0, 1e9));
    const last = page.locator(`tr[data-key="long/${name(N - 1)}"]`);
    await last.waitFor({ timeout: WAIT });
    expect(await last.getAttribute("aria-rowindex")).toBe(String(N + 1));
    await shot("11-long-list-end");
    // The watch still lands in the window: a deleted pod's row goes, the size follows.
    await kubectl(["delete", "pod", "-n", "long", name(N - 1), "--force", "--grace-period=0"]);
    await page.locator(`tr[data-key="long/${name(N - 1)}"]`).waitFor({ state: "detached", timeout: WAIT });
    await table.getByText(`(${N - 1})`).waitFor({ timeout: WAIT });
    expect(await table.getAttribute("aria-rowcount")).toBe(String(N));
    await kubectl(["delete", "pods", "-n", "long", "--all", "--force", "--grace-period=0", "--wait=false"]);
    await page.getByLabel("Namespace").selectOption("default");
  }, 120_000);
});
