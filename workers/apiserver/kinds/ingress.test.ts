/** networking.k8s.io/v1 Ingress and IngressClass: kube's validation, tables, the built-in default class and its admission. */
import { SELF } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import { findResource, RESOURCES } from "./index.ts";

const svc = (name: string, port: Record<string, unknown> = { number: 80 }) => ({ service: { name, port } });
const ing = (name: string, spec: Record<string, unknown>): KubeObject => ({
  kind: "Ingress",
  metadata: { name },
  spec,
});

runRegistryTester(
  findResource("networking.k8s.io", "ingresses")!,
  {
    valid: [
      ing("default-only", { defaultBackend: svc("web") }),
      ing("rules", {
        ingressClassName: "edgeplane",
        rules: [
          {
            host: "*.apps.test",
            http: {
              paths: [
                { path: "/", pathType: "Prefix", backend: svc("web", { name: "http" }) },
                { path: "/x", pathType: "Exact", backend: svc("web") },
                { pathType: "ImplementationSpecific", backend: svc("web") },
              ],
            },
          },
        ],
      }),
    ],
    invalid: [
      { object: ing("empty", {}), fields: ["spec"] },
      {
        object: ing("bad", {
          ingressClassName: "Bad_Class",
          defaultBackend: { service: { name: "web", port: { name: "http", number: 80 } } },
          rules: [
            {
              host: "10.0.0.1",
              http: {
                paths: [
                  { path: "x", pathType: "Prefix", backend: svc("web") },
                  { path: "/a", backend: svc("web") },
                  { path: "/a//b", pathType: "Exact", backend: {} },
                  { path: "/", pathType: "Regex", backend: svc("web", {}) },
                  {
                    path: "/",
                    pathType: "Prefix",
                    backend: { ...svc("web"), resource: { kind: "Bucket", name: "b" } },
                  },
                ],
              },
            },
            { host: "*bad.example.com", http: { paths: [] } },
          ],
        }),
        fields: [
          "spec.defaultBackend.service.port",
          "spec.ingressClassName",
          "spec.rules[0].host",
          "spec.rules[0].http.paths[0].path",
          "spec.rules[0].http.paths[1].pathType",
          "spec.rules[0].http.paths[2].path",
          "spec.rules[0].http.paths[2].backend",
          "spec.rules[0].http.paths[3].pathType",
          "spec.rules[0].http.paths[3].backend.service.port",
          "spec.rules[0].http.paths[4].backend",
          "spec.rules[1].host",
          "spec.rules[1].http.paths",
        ],
      },
    ],
  },
  RESOURCES,
);

runRegistryTester(
  findResource("networking.k8s.io", "ingressclasses")!,
  {
    valid: [{ kind: "IngressClass", metadata: { name: "other" }, spec: { controller: "example.com/lb" } }],
    invalid: [
      {
        object: {
          kind: "IngressClass",
          metadata: { name: "bad" },
          spec: { controller: "nodomain", parameters: { scope: "Namespace" } },
        },
        fields: [
          "spec.controller",
          "spec.parameters.kind",
          "spec.parameters.name",
          "spec.parameters.namespace",
        ],
      },
    ],
  },
  RESOURCES,
);

interface Table {
  columnDefinitions: { name: string }[];
  rows: { cells: unknown[] }[];
}

describe("Ingress API", () => {
  const ADMIN = { Authorization: "Bearer test-admin-token", "Content-Type": "application/json" };
  const TABLE = { ...ADMIN, Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" };
  const NET = "https://edgeplane.test/apis/networking.k8s.io/v1";

  it("has the edgeplane IngressClass, default, and gives it to an Ingress created without a class", async () => {
    const classes = await SELF.fetch(`${NET}/ingressclasses`, { headers: TABLE });
    const table = (await classes.json()) as Table;
    expect(table.columnDefinitions.map((c) => c.name)).toEqual(["Name", "Controller", "Parameters", "Age"]);
    expect(table.rows.map((r) => r.cells.slice(0, 3))).toContainEqual([
      "edgeplane",
      "edgeplane.dev/ingress",
      "<none>",
    ]);
    const edgeplane = (await (
      await SELF.fetch(`${NET}/ingressclasses/edgeplane`, { headers: ADMIN })
    ).json()) as KubeObject;
    expect(edgeplane.metadata?.annotations?.["ingressclass.kubernetes.io/is-default-class"]).toBe("true");

    const created = await SELF.fetch(`${NET}/namespaces/default/ingresses`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        metadata: { name: "classless" },
        spec: {
          tls: [{ hosts: ["a.test"] }],
          rules: [
            { host: "a.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: svc("web") }] } },
            { host: "b.test", http: { paths: [{ path: "/", pathType: "Prefix", backend: svc("web") }] } },
          ],
        },
      }),
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { spec: { ingressClassName: string } }).spec.ingressClassName).toBe(
      "edgeplane",
    );
    const list = (await (
      await SELF.fetch(`${NET}/namespaces/default/ingresses`, { headers: TABLE })
    ).json()) as Table;
    expect(list.columnDefinitions.map((c) => c.name)).toEqual([
      "Name",
      "Class",
      "Hosts",
      "Address",
      "Ports",
      "Age",
    ]);
    expect(list.rows.map((r) => r.cells.slice(0, 5))).toContainEqual([
      "classless",
      "edgeplane",
      "a.test,b.test",
      "",
      "80, 443",
    ]);
  });

  it("answers a bad Ingress with 422 Invalid naming every field", async () => {
    const response = await SELF.fetch(`${NET}/namespaces/default/ingresses`, {
      method: "POST",
      headers: ADMIN,
      body: JSON.stringify({
        metadata: { name: "bad" },
        spec: { rules: [{ http: { paths: [{ path: "/" }] } }] },
      }),
    });
    expect(response.status).toBe(422);
    const status = (await response.json()) as { reason: string; details: { causes: { field: string }[] } };
    expect(status.reason).toBe("Invalid");
    expect(status.details.causes.map((c) => c.field).sort()).toEqual([
      "spec.rules[0].http.paths[0].backend",
      "spec.rules[0].http.paths[0].pathType",
    ]);
  });
});
