/** The recorder against the real API server app (memory store): one object per repeated event, counted by PATCH. */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { createApiServer } from "../../../workers/apiserver/app.ts";
import { authorize } from "../../../workers/apiserver/authorize.ts";
import { RESOURCES } from "../../../workers/apiserver/kinds/index.ts";
import { ADMIN_USER } from "../../../workers/apiserver/tokens.ts";
import { createKubeClient } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import type { CoreEvent } from "../../../workers/client/types.ts";
import { FakeClock } from "../clock.ts";
import { EventRecorder } from "./recorder.ts";

/** A recorder for node n1, authenticated as that node, over an in-process API server. */
function setup() {
  const app = createApiServer({
    store: new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) =>
      r.headers.get("Authorization") === "Bearer admin"
        ? ADMIN_USER
        : { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] },
    authorize,
  });
  const client = createKubeClient({
    baseUrl: "http://api",
    fetch: async (url, init) => app.request(url, init),
  });
  const admin = createKubeClient({
    baseUrl: "http://api",
    token: "admin",
    fetch: async (url, init) => app.request(url, init),
  });
  const clock = new FakeClock();
  const logged: string[] = [];
  const recorder = new EventRecorder({ client, clock, node: { name: "n1" }, log: (m) => logged.push(m) });
  const events = async () => (await client.list(R.events, "default")).items as unknown as CoreEvent[];
  return { recorder, admin, clock, events, logged };
}

const POD = { metadata: { name: "web", namespace: "default", uid: "u1" } };

describe("EventRecorder", () => {
  it("writes one Event per repeated event and counts the repeats with a PATCH", async () => {
    const { recorder, clock, events, logged } = setup();
    for (let i = 0; i < 3; i++) {
      recorder.pod(
        POD,
        "spec.containers{app}",
        "Warning",
        "BackOff",
        "Back-off restarting failed container app",
      );
      await clock.advance(10_000);
    }
    recorder.node(
      "Warning",
      "OOMKilling",
      "Memory cgroup out of memory: Killed container app of pod default/web",
    );
    await recorder.flush();
    expect(logged).toEqual([]);
    const all = await events();
    expect(all).toHaveLength(2);
    const backoff = all.find((e) => e.reason === "BackOff");
    expect(backoff).toMatchObject({
      count: 3,
      type: "Warning",
      involvedObject: {
        kind: "Pod",
        name: "web",
        namespace: "default",
        uid: "u1",
        fieldPath: "spec.containers{app}",
      },
      source: { component: "kubelet", host: "n1" },
    });
    expect(Date.parse(backoff?.lastTimestamp ?? "") - Date.parse(backoff?.firstTimestamp ?? "")).toBe(20_000);
    expect(all.find((e) => e.reason === "OOMKilling")).toMatchObject({
      involvedObject: { kind: "Node", name: "n1", uid: "n1" },
      count: 1,
    });
  });

  it("creates the event again when the one it would patch is gone", async () => {
    const { recorder, admin, events } = setup();
    recorder.pod(POD, undefined, "Warning", "FailedMount", 'MountVolume.SetUp failed for volume "v" : x');
    await recorder.flush();
    const [first] = await events();
    await admin.delete(R.events, "default", first.metadata?.name ?? "");
    recorder.pod(POD, undefined, "Warning", "FailedMount", 'MountVolume.SetUp failed for volume "v" : x');
    await recorder.flush();
    expect(await events()).toMatchObject([{ reason: "FailedMount", count: 2 }]);
  });
});
