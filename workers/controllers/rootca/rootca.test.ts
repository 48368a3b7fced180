import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { reconcileRootCA } from "./index.ts";

const CA = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n";

describe("root-CA publisher", () => {
  it("publishes kube-root-ca.crt in active namespaces, rewrites it when the CA changes, and then writes nothing", async () => {
    const client = new FakeClient([
      {
        ref: R.namespaces,
        objects: [
          { metadata: { name: "team" } },
          { metadata: { name: "old", deletionTimestamp: "2026-01-01T00:00:00Z" } },
        ],
      },
    ]);
    await reconcileRootCA("team", testDeps(client, undefined, { rootCACert: CA }));
    await reconcileRootCA("old", testDeps(client, undefined, { rootCACert: CA }));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.namespace}/${w.name}`)).toEqual([
      "create configmaps team/kube-root-ca.crt",
    ]);
    expect((client.writes[0].body as { data: unknown }).data).toEqual({ "ca.crt": CA });
    await reconcileRootCA("team", testDeps(client, undefined, { rootCACert: CA }));
    expect(client.writes).toHaveLength(1);
    await reconcileRootCA("team", testDeps(client, undefined, { rootCACert: `${CA}${CA}` }));
    expect(client.writes.map((w) => `${w.verb} ${w.name}`)).toEqual([
      "create kube-root-ca.crt",
      "update kube-root-ca.crt",
    ]);
    expect((client.writes[1].body as { data: unknown }).data).toEqual({ "ca.crt": `${CA}${CA}` });
  });
});
