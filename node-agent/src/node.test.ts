/**
 * The heartbeat (node.ts): the Lease every 10 s, the Node's status every
 * sixth beat, and at once after a beat that came late, as when the agent was
 * stopped long enough for the node lifecycle controller to mark it Unknown.
 * FakeClient is the API; FakeClock moves time.
 */
import { afterEach, describe, expect, it } from "vitest";
import { R } from "../../workers/client/resources.ts";
import { FakeClient } from "../../workers/reconcile/testing/fake-client.ts";
import { FakeClock } from "./clock.ts";
import { heartbeat } from "./node.ts";

describe("heartbeat", () => {
  let stopper: AbortController;
  afterEach(() => stopper.abort());

  function start() {
    stopper = new AbortController();
    const clock = new FakeClock();
    const client = new FakeClient([{ ref: R.nodes, objects: [{ metadata: { name: "n1" } }] }]);
    const logs: string[] = [];
    const node = {
      name: "n1",
      labels: {},
      maxPods: 110,
      runtimes: ["wasm"],
      hostIP: "10.0.0.1",
      version: "test",
    };
    void heartbeat(client, node, clock, stopper.signal, (m) => logs.push(m));
    const statusPosts = () =>
      client.writesOf("nodes", "patch").filter((w) => w.subresource === "status").length;
    const leaseWrites = () => client.writes.filter((w) => w.resource === "leases").length;
    return { clock, client, logs, statusPosts, leaseWrites };
  }

  it("renews the Lease every 10 s and posts status every sixth beat", async () => {
    const { clock, statusPosts, leaseWrites, logs } = start();
    await clock.advance(50_000);
    expect(leaseWrites()).toBe(5);
    expect(statusPosts()).toBe(0);
    await clock.advance(10_000);
    expect(leaseWrites()).toBe(6);
    expect(statusPosts()).toBe(1);
    expect(logs).toEqual([]);
  });

  it("posts status at once after a late beat, not at the next sixth", async () => {
    const { clock, client, statusPosts, leaseWrites } = start();
    await clock.advance(10_000);
    expect([leaseWrites(), statusPosts()]).toEqual([1, 0]);
    clock.jump(50_000); // the agent was stopped for 50 s: past the Lease's 40 s
    await clock.advance(0);
    expect([leaseWrites(), statusPosts()]).toEqual([2, 1]);
    const ready = client.all(R.nodes)[0].status as { conditions?: { type: string; status: string }[] };
    expect(ready.conditions?.find((c) => c.type === "Ready")?.status).toBe("True");
    // Back on time: the next beats renew the Lease only.
    await clock.advance(20_000);
    expect([leaseWrites(), statusPosts()]).toEqual([4, 1]);
  });
});
