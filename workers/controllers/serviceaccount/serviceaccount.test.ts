import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { reconcileServiceAccount } from "./index.ts";

describe("serviceaccount controller", () => {
  it("creates the default ServiceAccount once, and none in a terminating namespace", async () => {
    const client = new FakeClient([
      {
        ref: R.namespaces,
        objects: [
          { metadata: { name: "team" } },
          { metadata: { name: "old", deletionTimestamp: "2026-01-01T00:00:00Z" } },
        ],
      },
    ]);
    await reconcileServiceAccount("team", testDeps(client));
    await reconcileServiceAccount("old", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.namespace}/${w.name}`)).toEqual([
      "create serviceaccounts team/default",
    ]);
    await reconcileServiceAccount("team", testDeps(client));
    expect(client.writes).toHaveLength(1);
  });
});
