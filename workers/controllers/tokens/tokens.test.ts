import { describe, expect, it } from "vitest";
import { R } from "../../client/resources.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { reconcileTokenSecret } from "./index.ts";

const secret = (name: string, account: string, extra: Record<string, unknown> = {}) => ({
  metadata: {
    name,
    namespace: "team",
    uid: `uid-${name}`,
    annotations: { "kubernetes.io/service-account.name": account },
  },
  type: "kubernetes.io/service-account-token",
  ...extra,
});

describe("tokens controller", () => {
  it("fills a token Secret with a signed legacy token, ca.crt and namespace once, and deletes orphans", async () => {
    const client = new FakeClient([
      { ref: R.serviceaccounts, objects: [{ metadata: { name: "bot", namespace: "team", uid: "sa-1" } }] },
      { ref: R.secrets, objects: [secret("bot-token", "bot"), secret("ghost-token", "ghost")] },
    ]);
    const signed: Record<string, unknown>[] = [];
    const config = {
      rootCACert: "CA",
      signToken: async (claims: Record<string, unknown>) => {
        signed.push(claims);
        return "header.payload.signature";
      },
    };
    await reconcileTokenSecret("team/bot-token", testDeps(client, undefined, config));
    await reconcileTokenSecret("team/ghost-token", testDeps(client, undefined, config));
    expect(client.writes.map((w) => `${w.verb} ${w.resource} ${w.namespace}/${w.name}`)).toEqual([
      "update secrets team/bot-token",
      "delete secrets team/ghost-token",
    ]);
    const body = client.writes[0].body as { data: Record<string, string>; metadata: { annotations: object } };
    expect(body.data).toEqual({
      token: btoa("header.payload.signature"),
      "ca.crt": btoa("CA"),
      namespace: btoa("team"),
    });
    expect(body.metadata.annotations).toMatchObject({ "kubernetes.io/service-account.uid": "sa-1" });
    expect(signed).toEqual([
      {
        iss: "kubernetes/serviceaccount",
        "kubernetes.io/serviceaccount/namespace": "team",
        "kubernetes.io/serviceaccount/secret.name": "bot-token",
        "kubernetes.io/serviceaccount/service-account.name": "bot",
        "kubernetes.io/serviceaccount/service-account.uid": "sa-1",
        sub: "system:serviceaccount:team:bot",
      },
    ]);
    // Filled: the next pass writes nothing.
    await reconcileTokenSecret("team/bot-token", testDeps(client, undefined, config));
    expect(client.writes).toHaveLength(2);
    // Without a signing key nothing is touched.
    const idle = new FakeClient([{ ref: R.secrets, objects: [secret("x", "ghost")] }]);
    await reconcileTokenSecret("team/x", testDeps(idle));
    expect(idle.writes).toEqual([]);
  });
});
