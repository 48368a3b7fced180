/**
 * Events are written on store leases handed out by a lease manager that the
 * isolate's requests share (index.ts). Each write must reach the store through
 * its own request: workerd refuses a Durable Object stub made in another
 * request or object ("Cannot perform I/O on behalf of a different request",
 * I/O type OutgoingFactory). Seen in the pod-startup bench: once the first
 * shared lease aged out, every Event the node agent posted failed with 500.
 */
import { env, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { Env } from "../env.ts";
import { apiServerForEnv } from "./index.ts";

// A 1 s TTL leaves no reuse window (5 % of it rounds to 0 s): every Event write needs a new grant.
const vars: Env = { ...(env as unknown as Env), EVENT_TTL_SECONDS: "1" };
const ADMIN = vars.ADMIN_TOKEN!;

async function postEvent(name: string): Promise<number> {
  const app = apiServerForEnv(vars, undefined);
  const response = await app.request("http://test/api/v1/namespaces/default/events", {
    method: "POST",
    headers: { Authorization: `Bearer ${ADMIN}`, "Content-Type": "application/json" },
    body: JSON.stringify({
      metadata: { name },
      involvedObject: { kind: "Pod", name: "p", namespace: "default" },
      reason: "Tested",
      message: "hello",
      type: "Normal",
    }),
  });
  await response.arrayBuffer();
  return response.status;
}

describe("Event leases across requests", () => {
  it("an Event written from another request context than the isolate's first gets its lease", async () => {
    expect(await postEvent("from-the-test")).toBe(201);
    // Another I/O context of the same isolate (as a controller's Durable Object, or the next request).
    const other = env.STORE.get(env.STORE.idFromName("event-leases-test"));
    const status = await runInDurableObject(other, () => postEvent("from-an-object"));
    expect(status).toBe(201);
    expect(await postEvent("from-the-test-again")).toBe(201);
  });
});
