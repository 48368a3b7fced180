import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { KubeObject } from "../../client/kube.ts";
import { ApiError } from "../../client/status.ts";
import { Registry } from "../registry/registry.ts";
import type { RequestContext } from "../registry/types.ts";
import { testResource, testServer } from "../testing/fixture.ts";
import type { AdmissionAttributes, AdmissionPlugin } from "./chain.ts";

const ctx: RequestContext = {
  user: "system:admin",
  groups: ["system:masters"],
  now: new Date(0),
  dryRun: false,
};
const configmaps = testResource("configmaps");

/** Two plugins that record when the registry calls them, and what they were shown. */
function recording() {
  const calls: string[] = [];
  const plugin = (name: string, hooks: ("admit" | "validate")[]): AdmissionPlugin => ({
    name,
    ...(hooks.includes("admit") && {
      admit: (a) => void calls.push(`${name}.admit ${a.operation} ${a.target ?? "-"} old=${!!a.old}`),
    }),
    ...(hooks.includes("validate") && {
      validate: (a) => void calls.push(`${name}.validate ${a.operation} ${a.target ?? "-"} old=${!!a.old}`),
    }),
  });
  const registry = new Registry({
    store: new MemoryStore(),
    resources: [configmaps],
    now: () => new Date(0),
    admission: [plugin("First", ["admit", "validate"]), plugin("Second", ["admit"])],
  });
  return { calls, registry };
}

describe("the admission chain", () => {
  it("runs every admit in order, then validation, then every validate, on create and update", async () => {
    const { calls, registry } = recording();
    await registry.create(configmaps, "default", { metadata: { name: "c" }, data: { a: "1" } }, ctx, {
      manager: "t",
    });
    await registry.update(configmaps, "default", "c", (cm) => ({ ...cm, data: { a: "2" } }), ctx, {
      manager: "t",
      target: "main",
    });
    expect(calls).toEqual([
      "First.admit CREATE - old=false",
      "Second.admit CREATE - old=false",
      "First.validate CREATE - old=false",
      "First.admit UPDATE main old=true",
      "Second.admit UPDATE main old=true",
      "First.validate UPDATE main old=true",
    ]);
  });

  it("stops at a failed validation: admit ran, validate did not", async () => {
    const { calls, registry } = recording();
    const error = await registry
      .create(configmaps, "default", { metadata: { name: "c" }, data: { "bad key": "1" } }, ctx, {
        manager: "t",
      })
      .catch((e: unknown) => e);
    expect((error as ApiError).code).toBe(422);
    expect(calls).toEqual(["First.admit CREATE - old=false", "Second.admit CREATE - old=false"]);
  });

  it("a plugin that refuses stops the write", async () => {
    const registry = new Registry({
      store: new MemoryStore(),
      resources: [configmaps],
      now: () => new Date(0),
      admission: [
        {
          name: "Deny",
          admit: () => {
            throw new ApiError("Forbidden", "denied by Deny");
          },
        },
      ],
    });
    const error = await registry
      .create(configmaps, "default", { metadata: { name: "c" } }, ctx, { manager: "t" })
      .catch((e: unknown) => e);
    expect((error as ApiError).code).toBe(403);
    expect((await registry.list(configmaps, "default")).items).toEqual([]);
  });

  it("shows deletes to validateDelete only: object absent, the stored object, DeleteOptions, once per deletion", async () => {
    const seen: AdmissionAttributes<"DELETE">[] = [];
    const registry = new Registry({
      store: new MemoryStore(),
      resources: [configmaps],
      now: () => new Date(0),
      admission: [
        {
          name: "Writes",
          admit: (a) => void seen.push(a as never),
          validate: (a) => void seen.push(a as never),
        },
        {
          name: "Deletes",
          async validateDelete(a) {
            seen.push(a);
            // Before the store delete: the object is still there.
            await registry.get(configmaps, a.old.metadata?.namespace, a.old.metadata?.name ?? "");
          },
        },
      ],
    });
    const create = (name: string, finalizers?: string[]) =>
      registry.create(configmaps, "default", { metadata: { name, finalizers }, data: { a: "1" } }, ctx, {
        manager: "t",
      });
    await create("plain");
    await create("held", ["example.com/hold"]);
    seen.length = 0;
    await registry.remove(configmaps, "default", "plain", ctx, { propagationPolicy: "Background" });
    // A finalizer keeps it: the first DELETE sets deletionTimestamp, a second one changes nothing.
    await registry.remove(configmaps, "default", "held", { ...ctx, dryRun: true }, { gracePeriodSeconds: 0 });
    await registry.remove(configmaps, "default", "held", ctx, {});
    await registry.remove(configmaps, "default", "held", ctx, {});
    expect(seen.map((a) => [a.operation, a.old.metadata?.name, a.object, a.options, a.ctx.dryRun])).toEqual([
      [
        "DELETE",
        "plain",
        undefined,
        { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1", propagationPolicy: "Background" },
        false,
      ],
      [
        "DELETE",
        "held",
        undefined,
        { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1", gracePeriodSeconds: 0, dryRun: ["All"] },
        true,
      ],
      ["DELETE", "held", undefined, { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1" }, false],
    ]);
    expect(seen[0].old.data).toEqual({ a: "1" });
  });

  it("a delete a plugin refuses leaves the object stored", async () => {
    const registry = new Registry({
      store: new MemoryStore(),
      resources: [configmaps],
      now: () => new Date(0),
      admission: [
        {
          name: "Deny",
          validateDelete: () => {
            throw new ApiError("Forbidden", "denied by Deny");
          },
        },
      ],
    });
    await registry.create(configmaps, "default", { metadata: { name: "c" } }, ctx, { manager: "t" });
    const error = await registry.remove(configmaps, "default", "c", ctx).catch((e: unknown) => e);
    expect((error as ApiError).code).toBe(403);
    const stored = await registry.get(configmaps, "default", "c");
    expect(stored.metadata?.deletionTimestamp).toBeUndefined();
  });

  it("over HTTP: DELETE with its options, graceful deletion once, and every item of a deletecollection until a refusal", async () => {
    const seen: string[] = [];
    const { call } = testServer({
      admission: [
        {
          name: "Recorder",
          validateDelete({ info, old, options }) {
            const name = old.metadata?.name ?? "";
            seen.push(`${info.resource}/${name} ${JSON.stringify(options)}`);
            if (name === "keep") throw new ApiError("Forbidden", `${name} is kept`);
          },
        },
      ],
    });
    const widget = (name: string) => ({ metadata: { name }, spec: { nodeName: "n1", color: "red" } });
    const made = await call("POST", "/apis/example.com/v1/namespaces/default/widgets", widget("g"));
    expect(made.status, made.text).toBe(201);
    const body = { kind: "DeleteOptions", apiVersion: "v1", gracePeriodSeconds: 20 };
    const first = await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/g?dryRun=All", body);
    expect(first.status).toBe(200);
    await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/g", body);
    // Already deleting, not sooner: nothing changes and admission is not asked again; a shorter grace is.
    await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/g", body);
    await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/g?gracePeriodSeconds=0");
    expect(seen).toEqual([
      'widgets/g {"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":20,"dryRun":["All"]}',
      'widgets/g {"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":20}',
      'widgets/g {"kind":"DeleteOptions","apiVersion":"meta.k8s.io/v1","gracePeriodSeconds":0}',
    ]);

    seen.length = 0;
    for (const name of ["a", "keep", "z"])
      await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name } });
    const refused = await call("DELETE", "/api/v1/namespaces/default/configmaps");
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ kind: "Status", reason: "Forbidden", message: "keep is kept" });
    expect(seen.map((s) => s.split(" ")[0])).toEqual(["configmaps/a", "configmaps/keep"]);
    const left = await call("GET", "/api/v1/namespaces/default/configmaps");
    expect((left.body.items as KubeObject[]).map((o) => o.metadata?.name)).toEqual(["keep", "z"]);
  });
});
