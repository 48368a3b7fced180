import { describe, expect, it } from "vitest";
import { testServer } from "./testing/fixture.ts";

const W = "/apis/example.com/v1/namespaces/default/widgets";
const widget = {
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name: "w" },
  spec: { color: "red", replicas: 1 },
};

describe("request errors", () => {
  it("413 for bodies over 3 MiB, 415 for unknown media types, 400 for malformed JSON/YAML", async () => {
    const { call } = testServer();
    const big = await call(
      "POST",
      W,
      JSON.stringify({ metadata: { name: "big" }, spec: { color: "x".repeat(3 * 1024 * 1024) } }),
    );
    expect(big.status).toBe(413);
    expect(big.body.reason).toBe("RequestEntityTooLarge");
    const media = await call("POST", W, "x", { "Content-Type": "text/plain" });
    expect(media.status).toBe(415);
    expect(media.body.reason).toBe("UnsupportedMediaType");
    const patchMedia = await call("PATCH", `${W}/w`, "{}", { "Content-Type": "application/json" });
    expect(patchMedia.status).toBe(415);
    const badJson = await call("POST", W, "{nope");
    expect(badJson.status).toBe(400);
    expect(badJson.body.reason).toBe("BadRequest");
    const badYaml = await call("POST", W, "a: [1,\n", { "Content-Type": "application/yaml" });
    expect(badYaml.status).toBe(400);
    const yaml = await call("POST", W, "metadata:\n  name: from-yaml\nspec:\n  color: green\n", {
      "Content-Type": "application/yaml",
    });
    expect(yaml.status).toBe(201);
    const list = await call("GET", W);
    expect((list.body.items as unknown[]).length).toBe(1);
  });

  it("401 without or with a wrong token, 404 for unknown resources, 405 for unsupported verbs", async () => {
    const { app, call } = testServer();
    const none = await app.request("http://test/api/v1/namespaces");
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ kind: "Status", reason: "Unauthorized", code: 401 });
    const wrong = await app.request("http://test/api/v1/namespaces", {
      headers: { Authorization: "Bearer nope" },
    });
    expect(wrong.status).toBe(401);
    expect((await call("GET", "/api/v1/namespaces/default/nothings")).status).toBe(404);
    expect((await call("GET", "/api/v1/namespaces/default/namespaces")).status).toBe(404);
    expect((await call("POST", `${W}/w`, widget)).status).toBe(405);
  });
});

describe("field validation", () => {
  it("Strict rejects unknown and duplicate fields, Warn returns Warning headers, Ignore drops them", async () => {
    const unknownFields = (_model: string, object: unknown) => ({
      unknown: "bogus" in ((object as { spec?: object }).spec ?? {}) ? ["spec.bogus"] : [],
    });
    const { call } = testServer({ schema: { unknownFields } });
    const body = '{"metadata":{"name":"s","name":"s"},"spec":{"color":"red","bogus":1}}';
    const strict = await call("POST", `${W}?fieldValidation=Strict`, body);
    expect(strict.status).toBe(400);
    expect(strict.body.message).toContain('unknown field "spec.bogus"');
    expect(strict.body.message).toContain('duplicate field "metadata.name"');
    const warn = await call("POST", `${W}?fieldValidation=Warn`, body);
    expect(warn.status).toBe(201);
    expect(warn.headers.get("Warning")).toContain('299 - "unknown field \\"spec.bogus\\""');
    expect((warn.body.spec as Record<string, unknown>).bogus).toBeUndefined();
    const ignore = await call(
      "POST",
      `${W}?fieldValidation=Ignore`,
      body.replace('"s"', '"t"').replace('"s"', '"t"'),
    );
    expect(ignore.status).toBe(201);
    expect(ignore.headers.get("Warning")).toBeNull();
    expect((await call("POST", `${W}?fieldValidation=Bad`, body)).status).toBe(400);
  });
});

describe("patches and subresources", () => {
  it("applies json, merge and strategic patches; a failed json-patch test is rejected; a patch resourceVersion is a precondition", async () => {
    const { call } = testServer();
    const created = await call("POST", W, widget);
    const merge = await call(
      "PATCH",
      `${W}/w`,
      { spec: { replicas: 3 } },
      { "Content-Type": "application/merge-patch+json" },
    );
    expect(merge.body.spec).toEqual({ color: "red", replicas: 3 });
    const json = await call("PATCH", `${W}/w`, [{ op: "replace", path: "/spec/color", value: "blue" }], {
      "Content-Type": "application/json-patch+json",
    });
    expect(json.body.spec).toMatchObject({ color: "blue" });
    const failed = await call("PATCH", `${W}/w`, [{ op: "test", path: "/spec/color", value: "green" }], {
      "Content-Type": "application/json-patch+json",
    });
    expect(failed.status).toBe(422);
    const smp = await call(
      "PATCH",
      `${W}/w`,
      { metadata: { labels: { a: "b" } } },
      { "Content-Type": "application/strategic-merge-patch+json" },
    );
    expect(smp.body.metadata!.labels).toEqual({ a: "b" });
    const stale = await call(
      "PATCH",
      `${W}/w`,
      { metadata: { resourceVersion: created.body.metadata!.resourceVersion }, spec: { replicas: 9 } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(stale.status).toBe(409);
    const invalid = await call(
      "PATCH",
      `${W}/w`,
      { spec: { replicas: -5 } },
      { "Content-Type": "application/merge-patch+json" },
    );
    expect(invalid.status).toBe(422);
    expect((await call("GET", `${W}/w`)).body.spec).toMatchObject({ replicas: 3 });
  });

  it("serves the scale subresource as autoscaling/v1 Scale", async () => {
    const { call } = testServer();
    await call("POST", W, { ...widget, spec: { ...widget.spec, selector: { matchLabels: { app: "w" } } } });
    const scale = await call("GET", `${W}/w/scale`);
    expect(scale.body).toMatchObject({
      kind: "Scale",
      apiVersion: "autoscaling/v1",
      spec: { replicas: 1 },
      status: { replicas: 0, selector: "app=w" },
    });
    const put = await call("PUT", `${W}/w/scale`, { ...scale.body, spec: { replicas: 4 } });
    expect(put.body.spec).toEqual({ replicas: 4 });
    const patched = await call(
      "PATCH",
      `${W}/w/scale`,
      { spec: { replicas: 6 } },
      { "Content-Type": "application/merge-patch+json" },
    );
    expect(patched.body.spec).toEqual({ replicas: 6 });
    expect((await call("GET", `${W}/w`)).body.spec).toMatchObject({ replicas: 6 });
    const stale = await call("PUT", `${W}/w/scale`, { ...scale.body, spec: { replicas: 2 } });
    expect(stale.status).toBe(409);
    const bad = await call(
      "PATCH",
      `${W}/w/scale`,
      { spec: { replicas: -1 } },
      { "Content-Type": "application/merge-patch+json" },
    );
    expect(bad.status).toBe(422);
  });
});

describe("server-side apply", () => {
  const apply = (call: ReturnType<typeof testServer>["call"], manager: string, body: object, force = false) =>
    call("PATCH", `${W}/w?fieldManager=${manager}${force ? "&force=true" : ""}`, JSON.stringify(body), {
      "Content-Type": "application/apply-patch+yaml",
    });

  it("creates, tracks ownership, reports conflicts, forces, and removes fields no longer applied", async () => {
    const { call } = testServer();
    const created = await apply(call, "alice", {
      ...widget,
      metadata: { name: "w", labels: { owner: "alice" } },
    });
    expect(created.status).toBe(201);
    const mf = created.body.metadata!.managedFields as {
      manager: string;
      operation: string;
      fieldsV1: Record<string, unknown>;
    }[];
    expect(mf).toHaveLength(1);
    expect(mf[0]).toMatchObject({ manager: "alice", operation: "Apply" });
    expect(mf[0].fieldsV1).toMatchObject({
      "f:spec": { "f:color": {}, "f:replicas": {} },
      "f:metadata": { "f:labels": { "f:owner": {} } },
    });

    // Same value: shared ownership, no conflict. Different value: 409 naming the other manager.
    expect((await apply(call, "bob", { ...widget, spec: { color: "red" } })).status).toBe(200);
    const conflict = await apply(call, "bob", { ...widget, spec: { replicas: 5 } });
    expect(conflict.status).toBe(409);
    expect(conflict.body.message).toContain('conflict with "alice"');
    expect((conflict.body.details as { causes: { field: string }[] }).causes[0].field).toBe(".spec.replicas");
    const forced = await apply(call, "bob", { ...widget, spec: { replicas: 5 } }, true);
    expect(forced.status).toBe(200);
    expect(forced.body.spec).toMatchObject({ replicas: 5, color: "red" });

    // alice stops applying her label: it is removed (nobody else owns it).
    const again = await apply(call, "alice", { ...widget, spec: { color: "red" } });
    expect(again.body.metadata!.labels).toBeUndefined();
    expect(again.body.spec).toMatchObject({ replicas: 5, color: "red" });
    const missing = await call("PATCH", `${W}/w`, "{}", { "Content-Type": "application/apply-patch+yaml" });
    expect(missing.status).toBe(400);
  });

  it("records Update managers for ordinary writes", async () => {
    const { call } = testServer();
    await call("POST", `${W}?fieldManager=creator`, widget);
    const patched = await call(
      "PATCH",
      `${W}/w?fieldManager=editor`,
      { spec: { replicas: 2 } },
      { "Content-Type": "application/merge-patch+json" },
    );
    const mf = patched.body.metadata!.managedFields as {
      manager: string;
      operation: string;
      fieldsV1: Record<string, Record<string, unknown>>;
    }[];
    expect(mf.map((m) => `${m.manager}/${m.operation}`)).toEqual(["creator/Update", "editor/Update"]);
    expect(Object.keys(mf[1].fieldsV1["f:spec"])).toEqual(["f:replicas"]);
    expect(Object.keys(mf[0].fieldsV1["f:spec"])).toEqual(["f:color"]);
  });
});
