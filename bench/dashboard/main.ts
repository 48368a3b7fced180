/**
 * The dashboard with many pods (prints figures; not a test).
 * `npm run bench -- dashboard`   BENCH_PODS (1000), BENCH_WATCH_SECONDS (300), BENCH_ROUNDS (5)
 *
 * The real Worker under workerd (test/e2e/harness.ts), BENCH_PODS Pods bound
 * to ten fake nodes (no agent: the store and the watch are what is measured),
 * the built dashboard in headless Debian Chromium (playwright-core).
 *  - time to first data: from a reload of #/pods (the token already in the
 *    tab's session storage: a returning user) to the table counting every pod
 *    with its first row shown (a frame later), BENCH_ROUNDS times; then the
 *    time from a jump to the table's end to the last pod's row; the same for the overview's pod count; the bare list GET beside it;
 *  - memory: the tab's JS heap (CDP Performance.getMetrics after a forced GC)
 *    while the pods page follows the watch for BENCH_WATCH_SECONDS, with ten
 *    pods relabelled every second (each one a MODIFIED event the page applies).
 */
import { loadavg } from "node:os";
import { buildDashboard } from "../../scripts/edgeplane/dashboard-build.ts";
import { launchChromium } from "../../test/e2e/dashboard-browser.ts";
import { ROOT, startControlPlane } from "../../test/e2e/harness.ts";
import { closedLoop, percentile } from "../lib/stats.ts";

const PODS = Number(process.env.BENCH_PODS ?? 1000);
const WATCH_SECONDS = Number(process.env.BENCH_WATCH_SECONDS ?? 300);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 5);
const NODES = 10;

// Browser globals for the callbacks that run inside the page.
declare const document: {
  querySelectorAll(selector: string): { length: number };
  querySelector(s: string): { textContent: string | null } | null;
  scrollingElement: { scrollTo(x: number, y: number): void } | null;
};
declare function requestAnimationFrame(callback: () => void): number;

const ms = (v: number) => `${v.toFixed(0)} ms`;
const mib = (v: number) => `${(v / 1024 ** 2).toFixed(1)} MiB`;

const built = await buildDashboard(ROOT);
console.log(
  `dashboard bench: ${PODS} pods on ${NODES} fake nodes (load ${loadavg()[0].toFixed(2)}); app ${(built.gzipBytes / 1024).toFixed(1)} KiB gzipped`,
);
const cp = await startControlPlane();
const chrome = await launchChromium();
await chrome.reach(cp.url);
const browser = chrome.browser;
try {
  const json = { "Content-Type": "application/json" };
  const send = async (method: string, path: string, body: object, type = "application/json") => {
    const r = await cp.fetch(path, {
      method,
      headers: { ...json, "Content-Type": type },
      body: JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${await r.text()}`);
  };
  for (let n = 0; n < NODES; n++) await send("POST", "/api/v1/nodes", { metadata: { name: `bench-n${n}` } });
  const setup = await closedLoop(PODS, 16, async (i) => {
    await send("POST", "/api/v1/namespaces/default/pods", {
      metadata: { name: `bench-p${String(i).padStart(4, "0")}`, labels: { app: `a${i % 10}` } },
      spec: { nodeName: `bench-n${i % NODES}`, containers: [{ name: "app", image: "busybox" }] },
    });
  });
  console.log(`setup: ${PODS} pods in ${setup.seconds.toFixed(1)} s`);

  const lists: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const t0 = performance.now();
    const r = await cp.fetch("/api/v1/namespaces/default/pods");
    await r.arrayBuffer();
    lists.push(performance.now() - t0);
  }

  const context = await browser.newContext({
    ignoreHTTPSErrors: true,
    viewport: { width: 1280, height: 800 },
  });
  const page = await context.newPage();
  await page.goto(`${cp.url}/ui/`);
  await page.getByLabel("Bearer token").fill(cp.token);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByTestId("user").waitFor({ timeout: 60_000 });

  const timeTo = async (hash: string, ready: () => Promise<unknown>): Promise<number[]> => {
    const times: number[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      await page.goto(`${cp.url}/ui/${hash}`);
      const t0 = performance.now();
      await page.reload();
      await ready();
      times.push(performance.now() - t0);
    }
    return times.sort((a, b) => a - b);
  };
  // The pods table is shown when its caption counts every pod and its first row is there (a
  // windowed table renders only the rows near the viewport), a frame after that commit.
  const podsShown = async () => {
    await page.waitForFunction(
      (n) =>
        document.querySelector("caption .count")?.textContent === `(${n})` &&
        document.querySelector('tr[data-key="default/bench-p0000"]') !== null,
      PODS,
      { timeout: 120_000, polling: 20 },
    );
    await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => setTimeout(r))));
  };
  const overviewCount = () =>
    page.waitForFunction(
      (n) => document.querySelector("[data-testid=pod-count]")?.textContent === String(n),
      PODS,
      {
        timeout: 120_000,
        polling: 20,
      },
    );
  const overview = await timeTo("#/overview", overviewCount);
  // Where a pods-page load spends its time, from the page's own clock (ms after navigation start).
  const split: { listEnd: number; rows: number }[] = [];
  const podsPage = await timeTo("#/pods", async () => {
    await podsShown();
    split.push(
      await page.evaluate(() => {
        const list = performance
          .getEntriesByType("resource")
          .find((e) => e.name.endsWith("/api/v1/namespaces/default/pods")) as unknown as {
          responseEnd: number;
        };
        return { listEnd: list?.responseEnd ?? Number.NaN, rows: performance.now() };
      }),
    );
  });
  // Scrolling to the end of the table: the last pod's row is rendered.
  const scrolls: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    await page.evaluate(() => document.scrollingElement?.scrollTo(0, 0));
    await podsShown();
    const t0 = performance.now();
    await page.evaluate(() => document.scrollingElement?.scrollTo(0, 1e9));
    await page.waitForFunction(
      (last) => document.querySelector(`tr[data-key="default/${last}"]`) !== null,
      `bench-p${String(PODS - 1).padStart(4, "0")}`,
      { timeout: 60_000, polling: 20 },
    );
    scrolls.push(performance.now() - t0);
  }
  scrolls.sort((a, b) => a - b);
  await page.evaluate(() => document.scrollingElement?.scrollTo(0, 0));
  const domNodes = await page.evaluate(() => document.querySelectorAll("*").length);
  lists.sort((a, b) => a - b);
  console.log(
    `list GET of ${PODS} pods (API alone):  p50 ${ms(percentile(lists, 50))}  max ${ms(lists[lists.length - 1])}`,
  );
  console.log(
    `time to first data, overview (pod count): p50 ${ms(percentile(overview, 50))}  min ${ms(overview[0])}  max ${ms(overview[overview.length - 1])}  (goal ≤ 1000 ms)`,
  );
  console.log(
    `time to first data, pods table (${PODS} rows): p50 ${ms(percentile(podsPage, 50))}  min ${ms(podsPage[0])}  max ${ms(podsPage[podsPage.length - 1])}  (goal ≤ 1000 ms)`,
  );

  const listEnds = split.map((x) => x.listEnd).sort((a, b) => a - b);
  const rowTimes = split.map((x) => x.rows).sort((a, b) => a - b);
  console.log(
    `  scroll to the table's end until the last pod's row is there: p50 ${ms(percentile(scrolls, 50))}  max ${ms(scrolls[scrolls.length - 1])}; elements in the page: ${domNodes}`,
  );
  console.log(
    `  in the page: list response complete at p50 ${ms(percentile(listEnds, 50))}, all rows shown at p50 ${ms(percentile(rowTimes, 50))} after navigation start`,
  );

  // Memory while the pods page follows the watch under churn.
  const cdp = await context.newCDPSession(page);
  await cdp.send("Performance.enable");
  const heap = async () => {
    await cdp.send("HeapProfiler.collectGarbage");
    const { metrics } = await cdp.send("Performance.getMetrics");
    const get = (name: string) => metrics.find((m) => m.name === name)?.value ?? Number.NaN;
    return { used: get("JSHeapUsedSize"), total: get("JSHeapTotalSize"), nodes: get("Nodes") };
  };
  const start = performance.now();
  const samples: { s: number; used: number; total: number; nodes: number }[] = [];
  let tick = 0;
  let events = 0;
  let nextSample = 0;
  while ((performance.now() - start) / 1000 < WATCH_SECONDS) {
    const elapsed = (performance.now() - start) / 1000;
    if (elapsed >= nextSample) {
      samples.push({ s: Math.round(elapsed), ...(await heap()) });
      nextSample += Math.max(10, WATCH_SECONDS / 10);
    }
    const round = tick++;
    const t0 = performance.now();
    await Promise.all(
      Array.from({ length: 10 }, (_, k) => {
        const i = (round * 10 + k) % PODS;
        events++;
        return send(
          "PATCH",
          `/api/v1/namespaces/default/pods/bench-p${String(i).padStart(4, "0")}`,
          { metadata: { labels: { tick: String(round) } } },
          "application/merge-patch+json",
        );
      }),
    );
    const left = 1000 - (performance.now() - t0);
    if (left > 0) await new Promise((r) => setTimeout(r, left));
  }
  samples.push({ s: Math.round((performance.now() - start) / 1000), ...(await heap()) });
  // The page still counts every pod after the churn (the watch kept up).
  await podsShown();
  console.log(
    `memory while following the watch for ${WATCH_SECONDS} s (${events} MODIFIED events), after GC:`,
  );
  for (const s of samples)
    console.log(
      `  t=${String(s.s).padStart(4)} s  JS heap used ${mib(s.used)}  (allocated ${mib(s.total)}), DOM nodes ${s.nodes}`,
    );
  const first = samples[1] ?? samples[0];
  const last = samples[samples.length - 1];
  console.log(`heap growth from t=${first.s} s to the end: ${mib(last.used - first.used)}`);
  await context.close();
} finally {
  await chrome.close();
  await cp.stop();
}
