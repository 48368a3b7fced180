import { describe, expect, it } from "vitest";
import type { ResourceRef } from "../../client/kube.ts";
import { testDeps } from "../../reconcile/testing/deps.ts";
import { FakeClient } from "../../reconcile/testing/fake-client.ts";
import { reconcileClusterRoleAggregation } from "./index.ts";

const CLUSTER_ROLES: ResourceRef = {
  group: "rbac.authorization.k8s.io",
  version: "v1",
  resource: "clusterroles",
  namespaced: false,
};
const LABEL = "rbac.authorization.k8s.io/aggregate-to-monitoring";

describe("clusterrole aggregation controller", () => {
  it("fills an aggregated role with the rules of the roles its selector matches, once, and picks up a new labelled role", async () => {
    const pods = { verbs: ["get"], apiGroups: [""], resources: ["pods"] };
    const client = new FakeClient([
      {
        ref: CLUSTER_ROLES,
        objects: [
          {
            metadata: { name: "monitoring" },
            aggregationRule: { clusterRoleSelectors: [{ matchLabels: { [LABEL]: "true" } }] },
            rules: [],
          },
          { metadata: { name: "b-pods", labels: { [LABEL]: "true" } }, rules: [pods] },
          // The same rule twice is kept once; unlabelled roles are ignored.
          { metadata: { name: "a-pods", labels: { [LABEL]: "true" } }, rules: [pods] },
          { metadata: { name: "other" }, rules: [{ verbs: ["*"], apiGroups: ["*"], resources: ["*"] }] },
        ],
      },
    ]);
    await reconcileClusterRoleAggregation("monitoring", testDeps(client));
    expect(client.writes.map((w) => `${w.verb} ${w.name}`)).toEqual(["update monitoring"]);
    expect((client.writes[0].body as { rules: unknown[] }).rules).toEqual([pods]);
    await reconcileClusterRoleAggregation("monitoring", testDeps(client));
    expect(client.writes).toHaveLength(1);
    const nodes = { verbs: ["list"], apiGroups: [""], resources: ["nodes"] };
    await client.create(CLUSTER_ROLES, undefined, {
      metadata: { name: "c-nodes", labels: { [LABEL]: "true" } },
      rules: [nodes],
    });
    await reconcileClusterRoleAggregation("monitoring", testDeps(client));
    expect((client.writes[client.writes.length - 1].body as { rules: unknown[] }).rules).toEqual([
      pods,
      nodes,
    ]);
    // Roles without an aggregationRule are never written.
    await reconcileClusterRoleAggregation("other", testDeps(client));
    expect(client.writes.filter((w) => w.name === "other")).toEqual([]);
  });
});
