/**
 * The official JavaScript client's informer (list + watch) over pods, against
 * the real Worker: it sees adds, updates and deletes, including after the
 * server ends a watch at timeoutSeconds and the informer resumes from its
 * last resourceVersion.
 */
// The official client at its last release line that runs on Node 20 (2.x bundles undici 8, which needs Node 22).
import { CoreV1Api, KubeConfig, makeInformer, type V1Pod } from "client-node-v1";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ControlPlane, startControlPlane } from "./harness.ts";

let cp: ControlPlane;
const ns = "informer";

beforeAll(async () => {
  cp = await startControlPlane();
  const created = await cp.fetch("/api/v1/namespaces", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ metadata: { name: ns } }),
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await cp?.stop();
});

/** Resolves when `check` holds, re-checked on every informer event; rejects after the deadline. */
function until(
  subscribe: (notify: () => void) => void,
  check: () => boolean,
  what: string,
  ms = 20_000,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    const notify = () => {
      if (check()) {
        clearTimeout(timer);
        resolve();
      }
    };
    subscribe(notify);
    notify();
  });
}

it("an informer sees adds, updates and deletes across watches closed by timeoutSeconds", async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const api = kc.makeApiClient(CoreV1Api);
  // timeoutSeconds=1 makes the server end every watch after a second; the informer must resume without a gap.
  const informer = makeInformer<V1Pod>(kc, `/api/v1/namespaces/${ns}/pods?timeoutSeconds=1`, () =>
    api.listNamespacedPod({ namespace: ns }),
  );
  const seen: string[] = [];
  let connects = 0;
  const listeners: (() => void)[] = [];
  const notifyAll = () => {
    for (const l of listeners) l();
  };
  informer.on("add", (pod) => {
    seen.push(`add ${pod.metadata?.name}`);
    notifyAll();
  });
  informer.on("update", (pod) => {
    seen.push(`update ${pod.metadata?.name} ${pod.metadata?.labels?.step ?? ""}`);
    notifyAll();
  });
  informer.on("delete", (pod) => {
    seen.push(`delete ${pod.metadata?.name}`);
    notifyAll();
  });
  informer.on("connect", () => {
    connects++;
    notifyAll();
  });
  informer.on("error", (err) => {
    seen.push(`error ${String(err)}`);
    notifyAll();
  });
  const wait = (check: () => boolean, what: string) => until((n) => listeners.push(n), check, what);
  await informer.start();
  try {
    await api.createNamespacedPod({
      namespace: ns,
      body: {
        metadata: { name: "p1", labels: { step: "0" } },
        spec: { containers: [{ name: "c", image: "busybox" }] },
      },
    });
    await wait(() => seen.includes("add p1"), "add p1");
    const patchLabel = (step: string) =>
      cp.fetch(`/api/v1/namespaces/${ns}/pods/p1`, {
        method: "PATCH",
        headers: { "Content-Type": "application/merge-patch+json" },
        body: JSON.stringify({ metadata: { labels: { step } } }),
      });
    expect((await patchLabel("1")).status).toBe(200);
    await wait(() => seen.includes("update p1 1"), "update p1 1");

    // Wait for the server to close the watch twice (timeoutSeconds) and the informer to resume.
    const before = connects;
    await wait(() => connects >= before + 2, "two watch restarts");
    expect((await patchLabel("2")).status).toBe(200);
    await wait(() => seen.includes("update p1 2"), "update p1 2 after resume");

    const deleted = await cp.fetch(`/api/v1/namespaces/${ns}/pods/p1?gracePeriodSeconds=0`, {
      method: "DELETE",
    });
    expect(deleted.status).toBe(200);
    await wait(() => seen.includes("delete p1"), "delete p1");
    expect(seen.filter((s) => s.startsWith("error"))).toEqual([]);
    expect(seen.filter((s) => s === "add p1")).toHaveLength(1);
  } finally {
    await informer.stop();
  }
});
