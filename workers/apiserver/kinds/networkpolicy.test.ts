/** networking.k8s.io/v1 NetworkPolicy: kube's validation (every field error), defaults and table. */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { KubeObject } from "../../client/kube.ts";
import type { NetworkPolicy } from "../../client/types.ts";
import { createApiServer } from "../app.ts";
import { ADMIN_USER } from "../auth.ts";
import { authorize } from "../authorize.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { findResource, RESOURCES } from "./index.ts";

const info = findResource("networking.k8s.io", "networkpolicies")!;
const np = (name: string, spec: Record<string, unknown>): KubeObject => ({
  kind: "NetworkPolicy",
  metadata: { name },
  spec,
});

runRegistryTester(
  info,
  {
    valid: [
      np("deny-all", { podSelector: {}, policyTypes: ["Ingress", "Egress"] }),
      np("rules", {
        podSelector: { matchLabels: { app: "web" } },
        ingress: [
          {
            from: [
              { podSelector: { matchLabels: { role: "client" } } },
              { namespaceSelector: { matchLabels: { team: "a" } }, podSelector: {} },
              { ipBlock: { cidr: "10.0.0.0/8", except: ["10.1.0.0/16", "10.2.3.4/32"] } },
              { ipBlock: { cidr: "2001:db8::/32", except: ["2001:db8:1::/48"] } },
            ],
            ports: [{ port: 80 }, { protocol: "UDP", port: 5000, endPort: 5010 }, { port: "http" }],
          },
        ],
        egress: [{ to: [{ namespaceSelector: {} }], ports: [{ protocol: "SCTP" }] }, {}],
      }),
    ],
    invalid: [
      {
        object: np("bad-ports", {
          podSelector: { matchLabels: { "bad key!": "x" } },
          ingress: [
            {
              ports: [
                { protocol: "ICMP", port: 0 },
                { port: 90, endPort: 80 },
                { port: "http", endPort: 90 },
                { endPort: 90 },
                { port: "-bad-" },
                { port: 70000, endPort: 70001 },
              ],
            },
          ],
          policyTypes: ["Ingress", "Sideways"],
        }),
        fields: [
          "spec.podSelector.matchLabels",
          "spec.ingress[0].ports[0].protocol",
          "spec.ingress[0].ports[0].port",
          "spec.ingress[0].ports[1].endPort",
          "spec.ingress[0].ports[2].endPort",
          "spec.ingress[0].ports[3].endPort",
          "spec.ingress[0].ports[4].port",
          "spec.ingress[0].ports[5].port",
          "spec.ingress[0].ports[5].endPort",
          "spec.policyTypes[1]",
        ],
      },
      {
        object: np("bad-peers", {
          podSelector: {},
          ingress: [
            {
              from: [
                {},
                { ipBlock: { cidr: "10.0.0.0/8" }, podSelector: {} },
                { ipBlock: { cidr: "" } },
                { ipBlock: { cidr: "10.0.0.300/8" } },
                { ipBlock: { cidr: "10.0.0.0/16", except: ["10.0.0.0/16", "11.0.0.0/24", "nope"] } },
              ],
            },
          ],
          egress: [{ to: [{ namespaceSelector: { matchExpressions: [{ key: "a", operator: "Near" }] } }] }],
          policyTypes: ["Ingress", "Egress", "Ingress"],
        }),
        fields: [
          "spec.ingress[0].from[0]",
          "spec.ingress[0].from[1]",
          "spec.ingress[0].from[2].ipBlock.cidr",
          "spec.ingress[0].from[3].ipBlock.cidr",
          "spec.ingress[0].from[4].ipBlock.except[0]",
          "spec.ingress[0].from[4].ipBlock.except[1]",
          "spec.ingress[0].from[4].ipBlock.except[2]",
          "spec.egress[0].to[0].namespaceSelector.matchExpressions[0].operator",
          "spec.policyTypes",
        ],
      },
    ],
  },
  RESOURCES,
);

describe("NetworkPolicy", () => {
  it("defaults policyTypes as kube does (Ingress always, Egress with egress rules) and port protocol TCP", () => {
    const ingressOnly = np("a", { podSelector: {}, ingress: [{ ports: [{ port: 80 }] }] }) as NetworkPolicy;
    info.strategy.defaults?.(ingressOnly as KubeObject);
    expect(ingressOnly.spec).toMatchObject({
      policyTypes: ["Ingress"],
      ingress: [{ ports: [{ port: 80, protocol: "TCP" }] }],
    });
    const both = np("b", { podSelector: {}, egress: [{}] }) as NetworkPolicy;
    info.strategy.defaults?.(both as KubeObject);
    expect(both.spec?.policyTypes).toEqual(["Ingress", "Egress"]);
    const given = np("c", { podSelector: {}, egress: [{}], policyTypes: ["Egress"] }) as NetworkPolicy;
    info.strategy.defaults?.(given as KubeObject);
    expect(given.spec?.policyTypes).toEqual(["Egress"]);
  });

  it("prints POD-SELECTOR as kubectl does", () => {
    const now = new Date();
    expect(info.strategy.columns.map((c) => c.name)).toEqual(["Pod-Selector"]);
    expect(info.strategy.row(np("x", { podSelector: {} }), now)[0]).toBe("<none>");
    const selected = np("y", {
      podSelector: { matchLabels: { app: "web" }, matchExpressions: [{ key: "tier", operator: "Exists" }] },
    });
    expect(info.strategy.row(selected, now)[0]).toBe("app=web,tier");
  });

  it("is served under networking.k8s.io/v1 with the short name netpol", () => {
    expect(info).toMatchObject({ kind: "NetworkPolicy", namespaced: true, shortNames: ["netpol"] });
  });
});

describe("who reads NetworkPolicies", () => {
  const NODE = { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] };
  const app = createApiServer({
    store: new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) => (r.headers.get("Authorization") === "Bearer node" ? NODE : ADMIN_USER),
    authorize,
  });
  const call = (method: string, path: string, who = "node", body?: object) =>
    app.request(`http://test${path}`, {
      method,
      headers: { Authorization: `Bearer ${who}`, "Content-Type": "application/json" },
      body: body && JSON.stringify(body),
    });

  it("a node lists and watches policies, pods and namespaces cluster-wide (its enforcer's informers), read-only", async () => {
    const created = await call(
      "POST",
      "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
      "admin",
      {
        metadata: { name: "deny" },
        spec: { podSelector: {} },
      },
    );
    expect(created.status).toBe(201);
    for (const path of ["/apis/networking.k8s.io/v1/networkpolicies", "/api/v1/pods", "/api/v1/namespaces"]) {
      expect((await call("GET", path)).status, path).toBe(200);
      expect((await call("GET", `${path}?watch=true&timeoutSeconds=1`)).status, `${path} watch`).toBe(200);
    }
    const write = await call(
      "POST",
      "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies",
      "node",
      {
        metadata: { name: "mine" },
        spec: { podSelector: {} },
      },
    );
    expect(write.status).toBe(403);
    expect(
      (await call("DELETE", "/apis/networking.k8s.io/v1/namespaces/default/networkpolicies/deny")).status,
    ).toBe(403);
  });
});
