/** Ingress rule matching: kube's host and path precedence, as a pure function. */
import type { Ingress } from "kubernetes-types/networking/v1.js";
import { describe, expect, it } from "vitest";
import { hostMatch, matchIngress, prefixMatch } from "./match.ts";

type Path = { path?: string; pathType: string; svc: string };
const ing = (
  name: string,
  rules: { host?: string; paths: Path[] }[],
  extra: { created?: string; defaultSvc?: string; namespace?: string } = {},
): Ingress => ({
  metadata: {
    name,
    namespace: extra.namespace ?? "default",
    creationTimestamp: extra.created ?? "2026-01-01T00:00:00Z",
  },
  spec: {
    ...(extra.defaultSvc
      ? { defaultBackend: { service: { name: extra.defaultSvc, port: { number: 80 } } } }
      : {}),
    rules: rules.map((r) => ({
      host: r.host,
      http: {
        paths: r.paths.map((p) => ({
          path: p.path,
          pathType: p.pathType,
          backend: { service: { name: p.svc, port: { number: 80 } } },
        })),
      },
    })),
  },
});
const svcOf = (ingresses: Ingress[], host: string, path: string) =>
  matchIngress(ingresses, host, path)?.backend.service?.name;

describe("ingress matching", () => {
  it("matches hosts exactly or by a one-label wildcard", () => {
    expect(hostMatch("a.test", "a.test")).toBe(2);
    expect(hostMatch("*.test", "a.test")).toBe(1);
    expect(hostMatch("*.test", "b.a.test")).toBe(0);
    expect(hostMatch("*.test", "test")).toBe(0);
    expect(hostMatch("a.test", "b.test")).toBe(0);
  });

  it("matches Prefix paths element-wise", () => {
    expect(prefixMatch("/foo", "/foo")).toBe(4);
    expect(prefixMatch("/foo", "/foo/bar")).toBe(4);
    expect(prefixMatch("/foo/", "/foo")).toBe(4);
    expect(prefixMatch("/foo", "/foobar")).toBe(-1);
    expect(prefixMatch("/", "/anything")).toBe(1);
  });

  it("prefers an exact host to a wildcard to a rule without host", () => {
    const all = [
      ing("any", [{ paths: [{ path: "/", pathType: "Prefix", svc: "any" }] }]),
      ing("wild", [{ host: "*.apps.test", paths: [{ path: "/", pathType: "Prefix", svc: "wild" }] }]),
      ing("exact", [{ host: "web.apps.test", paths: [{ path: "/", pathType: "Prefix", svc: "exact" }] }]),
    ];
    expect(svcOf(all, "web.apps.test", "/x")).toBe("exact");
    expect(svcOf(all, "other.apps.test", "/x")).toBe("wild");
    expect(svcOf(all, "elsewhere.test", "/x")).toBe("any");
  });

  it("prefers Exact to the longest Prefix; ImplementationSpecific is a Prefix", () => {
    const all = [
      ing("paths", [
        {
          host: "a.test",
          paths: [
            { path: "/", pathType: "Prefix", svc: "root" },
            { path: "/api", pathType: "Prefix", svc: "api" },
            { path: "/api/v1", pathType: "ImplementationSpecific", svc: "v1" },
            { path: "/api/v1/health", pathType: "Exact", svc: "health" },
          ],
        },
      ]),
    ];
    expect(svcOf(all, "a.test", "/api/v1/health")).toBe("health");
    expect(svcOf(all, "a.test", "/api/v1/health/x")).toBe("v1");
    expect(svcOf(all, "a.test", "/api/v2")).toBe("api");
    expect(svcOf(all, "a.test", "/apix")).toBe("root");
  });

  it("gives ties to the older Ingress and falls back to the oldest default backend, else nothing", () => {
    const newer = ing(
      "newer",
      [{ host: "a.test", paths: [{ path: "/", pathType: "Prefix", svc: "newer" }] }],
      {
        created: "2026-02-01T00:00:00Z",
        defaultSvc: "newer-default",
      },
    );
    const older = ing(
      "older",
      [{ host: "a.test", paths: [{ path: "/", pathType: "Prefix", svc: "older" }] }],
      {
        defaultSvc: "older-default",
      },
    );
    expect(svcOf([newer, older], "a.test", "/")).toBe("older");
    expect(svcOf([newer, older], "b.test", "/")).toBe("older-default");
    expect(matchIngress([newer, older], "b.test", "/")?.namespace).toBe("default");
    expect(
      matchIngress(
        [ing("x", [{ host: "a.test", paths: [{ path: "/a", pathType: "Exact", svc: "a" }] }])],
        "a.test",
        "/b",
      ),
    ).toBeUndefined();
  });
});
