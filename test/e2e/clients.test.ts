/**
 * The official clients against the real control plane (Worker under workerd):
 * the Python `kubernetes` client (Debian python3-kubernetes, run as a script
 * that prints JSON) and the JavaScript client. Each: create, get, list,
 * pagination, the three patch types, watch without and with a
 * resourceVersion, resume from the last event, bookmarks, delete.
 */
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import {
  AppsV1Api,
  CoreV1Api,
  KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1ConfigMap,
  Watch,
} from "client-node-v1";
import { afterAll, beforeAll, expect, it } from "vitest";
import { type ControlPlane, ROOT, startControlPlane } from "./harness.ts";

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
  for (const name of ["py", "js"]) {
    const created = await cp.fetch("/api/v1/namespaces", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ metadata: { name } }),
    });
    expect(created.status).toBe(201);
  }
});

afterAll(async () => {
  await cp?.stop();
});

/** What the Python client saw for the same sequence of operations as the JS part below. */
function expectTheSequence(out: Record<string, unknown>) {
  expect(out.get).toEqual({ n: "0" });
  expect(out.list).toEqual(["c0", "c1", "c2", "c3", "c4"]);
  expect(out.pages).toBe(3);
  expect(out.paged).toEqual(["c0", "c1", "c2", "c3", "c4"]);
  expect(out.jsonPatch).toEqual({ n: "1", json: "yes" });
  expect(out.mergePatch).toEqual({ json: "yes", merge: "yes" });
  expect(out.strategicPatch).toEqual([
    ["a", "busybox:2"],
    ["b", "busybox:1"],
  ]);
  expect(out.watchFromNow).toEqual(["c0", "c1", "c2", "c3", "c4"]);
  expect(out.watchFromList).toEqual([
    ["MODIFIED", "c1"],
    ["MODIFIED", "c1"],
  ]);
  expect(out.watchResumed).toEqual([["DELETED", "c4"]]);
  expect(out.bookmarks).toEqual(["BOOKMARK"]);
  expect(out.afterDelete).toEqual([404, "NotFound"]);
}

it("the Python client (python3-kubernetes): CRUD, three patch types, watches with resume, pagination", async () => {
  // Debian's interpreter: python3-kubernetes is installed for it, not for any other python3 on PATH.
  const stdout = await new Promise<string>((res, rej) =>
    execFile(
      "/usr/bin/python3",
      [resolve(ROOT, "test/e2e/clients/python_client.py"), cp.kubeconfig, "py"],
      { timeout: 120_000 },
      (err, out, errOut) => (err ? rej(new Error(`${err.message}\n${errOut}`)) : res(out)),
    ),
  );
  expectTheSequence(JSON.parse(stdout));
}, 150_000);

/** Watch events (type, name) until `count` arrived or the server's timeoutSeconds ended the watch. */
async function watchEvents(
  kc: KubeConfig,
  query: Record<string, string | number | boolean>,
  count: number,
): Promise<{ events: [string, string][]; lastRv?: string }> {
  const events: [string, string][] = [];
  let lastRv: string | undefined;
  let abort: AbortController | undefined;
  await new Promise<void>((res, rej) => {
    new Watch(kc)
      .watch(
        "/api/v1/namespaces/js/configmaps",
        { timeoutSeconds: 10, labelSelector: "set=js", ...query },
        (type, obj: V1ConfigMap) => {
          events.push([type, obj.metadata?.name ?? ""]);
          if (type !== "BOOKMARK") lastRv = obj.metadata?.resourceVersion;
          if (events.length >= count) {
            abort?.abort();
            res();
          }
        },
        (err) => (err && events.length < count ? rej(err) : res()),
      )
      .then((a) => {
        abort = a;
      }, rej);
  });
  return { events, lastRv };
}

it("the JavaScript client (@kubernetes/client-node): the same sequence", async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(cp.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const namespace = "js";
  const out: Record<string, unknown> = {};
  for (let i = 0; i < 5; i++)
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: `c${i}`, labels: { set: "js" } }, data: { n: String(i) } },
    });
  out.get = (await core.readNamespacedConfigMap({ name: "c0", namespace })).data;
  const listed = await core.listNamespacedConfigMap({ namespace, labelSelector: "set=js" });
  out.list = listed.items.map((c) => c.metadata?.name).sort();
  const listRv = listed.metadata?.resourceVersion;

  let token: string | undefined;
  const paged: string[] = [];
  let pages = 0;
  do {
    // By label: the namespace also holds the root-CA publisher's kube-root-ca.crt.
    const page = await core.listNamespacedConfigMap({
      namespace,
      labelSelector: "set=js",
      limit: 2,
      _continue: token,
    });
    pages++;
    paged.push(...page.items.map((c) => c.metadata?.name ?? ""));
    token = page.metadata?._continue;
  } while (token);
  Object.assign(out, { pages, paged });

  const patch = (body: object, strategy: PatchStrategy) =>
    core.patchNamespacedConfigMap(
      { name: "c1", namespace, body },
      setHeaderOptions("Content-Type", strategy),
    );
  await patch([{ op: "add", path: "/data/json", value: "yes" }], PatchStrategy.JsonPatch);
  out.jsonPatch = (await core.readNamespacedConfigMap({ name: "c1", namespace })).data;
  await patch({ data: { merge: "yes", n: null } }, PatchStrategy.MergePatch);
  out.mergePatch = (await core.readNamespacedConfigMap({ name: "c1", namespace })).data;
  await apps.createNamespacedDeployment({
    namespace,
    body: {
      metadata: { name: "d" },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: "d" } },
        template: {
          metadata: { labels: { app: "d" } },
          spec: {
            containers: [
              { name: "a", image: "busybox:1" },
              { name: "b", image: "busybox:1" },
            ],
          },
        },
      },
    },
  });
  await apps.patchNamespacedDeployment(
    {
      name: "d",
      namespace,
      body: { spec: { template: { spec: { containers: [{ name: "a", image: "busybox:2" }] } } } },
    },
    setHeaderOptions("Content-Type", PatchStrategy.StrategicMergePatch),
  );
  const d = await apps.readNamespacedDeployment({ name: "d", namespace });
  out.strategicPatch = d.spec?.template.spec?.containers.map((c) => [c.name, c.image]);

  out.watchFromNow = (await watchEvents(kc, {}, 5)).events.map(([, name]) => name).sort();
  const fromList = await watchEvents(kc, { resourceVersion: listRv ?? "" }, 2);
  out.watchFromList = fromList.events;
  await core.deleteNamespacedConfigMap({ name: "c4", namespace });
  out.watchResumed = (await watchEvents(kc, { resourceVersion: fromList.lastRv ?? "" }, 1)).events;
  const quiet = await core.listNamespacedConfigMap({ namespace });
  out.bookmarks = (
    await watchEvents(
      kc,
      {
        resourceVersion: quiet.metadata?.resourceVersion ?? "",
        allowWatchBookmarks: true,
        timeoutSeconds: 15,
      },
      1,
    )
  ).events.map(([type]) => type);

  await core.deleteNamespacedConfigMap({ name: "c0", namespace });
  out.afterDelete = await core.readNamespacedConfigMap({ name: "c0", namespace }).then(
    () => "found",
    (e: { code?: number; body?: string }) => [e.code, JSON.parse(e.body ?? "{}").reason],
  );
  expectTheSequence(out);
}, 150_000);
