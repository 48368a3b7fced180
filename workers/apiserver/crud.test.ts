import { describe, expect, it } from "vitest";
import { testServer } from "./testing/fixture.ts";

const widget = (name: string, extra: Record<string, unknown> = {}) => ({
  apiVersion: "example.com/v1",
  kind: "Widget",
  metadata: { name, labels: { app: "demo" } },
  spec: { color: "red", ...extra },
});

describe("generic registry over HTTP", () => {
  it("creates, gets, lists, updates and deletes with uid, timestamps, generation and resourceVersion", async () => {
    const { call, writes } = testServer();
    const created = await call("POST", "/apis/example.com/v1/namespaces/default/widgets", widget("w1"));
    expect(created.status).toBe(201);
    const meta = created.body.metadata!;
    expect(meta.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(meta.creationTimestamp).toBe("2026-01-01T00:00:00Z");
    expect(meta.generation).toBe(1);
    expect(meta.namespace).toBe("default");
    expect(created.body.spec).toEqual({ color: "red", replicas: 1 });
    expect(created.body.status).toEqual({ replicas: 0 });
    expect(meta.managedFields?.[0]).toMatchObject({ operation: "Update", fieldsType: "FieldsV1" });

    const got = await call("GET", "/apis/example.com/v1/namespaces/default/widgets/w1");
    expect(got.body).toEqual(created.body);

    const list = await call("GET", "/apis/example.com/v1/widgets");
    expect(list.body.kind).toBe("WidgetList");
    expect((list.body.items as unknown[]).length).toBe(1);
    expect(
      Number((list.body.metadata as { resourceVersion: string }).resourceVersion),
    ).toBeGreaterThanOrEqual(Number(meta.resourceVersion));

    // A status change through the main resource is ignored; a spec change bumps generation.
    const put = await call("PUT", "/apis/example.com/v1/namespaces/default/widgets/w1", {
      ...created.body,
      spec: { color: "blue", replicas: 2 },
      status: { replicas: 99 },
    });
    expect(put.status).toBe(200);
    expect(put.body.metadata!.generation).toBe(2);
    expect(put.body.status).toEqual({ replicas: 0 });
    expect(Number(put.body.metadata!.resourceVersion)).toBeGreaterThan(Number(meta.resourceVersion));

    // Status updates only touch status and do not bump generation.
    const status = await call("PUT", "/apis/example.com/v1/namespaces/default/widgets/w1/status", {
      ...put.body,
      spec: { color: "green" },
      status: { replicas: 2 },
    });
    expect(status.body.status).toEqual({ replicas: 2 });
    expect(status.body.spec).toEqual({ color: "blue", replicas: 2 });
    expect(status.body.metadata!.generation).toBe(2);

    const del = await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/w1");
    expect(del.status).toBe(200);
    expect(del.body).toMatchObject({
      kind: "Status",
      status: "Success",
      details: { name: "w1", kind: "widgets" },
    });
    const gone = await call("GET", "/apis/example.com/v1/namespaces/default/widgets/w1");
    expect(gone.status).toBe(404);
    expect(gone.body).toMatchObject({ kind: "Status", reason: "NotFound", code: 404 });
    expect(
      writes.map((w) => (w as { type: string }).type).filter((t, i, all) => all.indexOf(t) === i),
    ).toEqual(expect.arrayContaining(["ADDED", "MODIFIED", "DELETED"]));
  });

  it("rejects a stale resourceVersion with 409 Conflict and a duplicate name with 409 AlreadyExists", async () => {
    const { call } = testServer();
    const created = await call("POST", "/apis/example.com/v1/namespaces/default/widgets", widget("w1"));
    const again = await call("POST", "/apis/example.com/v1/namespaces/default/widgets", widget("w1"));
    expect(again.status).toBe(409);
    expect(again.body.reason).toBe("AlreadyExists");
    await call("PUT", "/apis/example.com/v1/namespaces/default/widgets/w1", {
      ...created.body,
      spec: { color: "blue" },
    });
    const stale = await call("PUT", "/apis/example.com/v1/namespaces/default/widgets/w1", {
      ...created.body,
      spec: { color: "green" },
    });
    expect(stale.status).toBe(409);
    expect(stale.body.reason).toBe("Conflict");
    expect(stale.body.message).toContain("the object has been modified");
  });

  it("lists every field error in a 422 Invalid and writes nothing", async () => {
    const { call } = testServer();
    const bad = await call("POST", "/apis/example.com/v1/namespaces/default/widgets", {
      metadata: {
        name: "Bad_Name",
        labels: { "bad key!": "x", ok: "v".repeat(64) },
        annotations: { "a/b/c": "x" },
      },
      spec: { replicas: -1 },
    });
    expect(bad.status).toBe(422);
    expect(bad.body.reason).toBe("Invalid");
    const fields = (bad.body.details as { causes: { field: string }[] }).causes.map((c) => c.field);
    expect(fields).toEqual(
      expect.arrayContaining([
        "metadata.name",
        "metadata.labels",
        "metadata.labels[ok]",
        "metadata.annotations",
        "spec.replicas",
        "spec.color",
      ]),
    );
    const list = await call("GET", "/apis/example.com/v1/namespaces/default/widgets");
    expect(list.body.items).toEqual([]);
  });

  it("generates names, honours dryRun, and requires an existing, active namespace", async () => {
    const { call } = testServer();
    const gen = await call("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { generateName: "cm-" },
      data: { a: "1" },
    });
    expect(gen.status).toBe(201);
    expect(gen.body.metadata!.name).toMatch(/^cm-[a-z0-9]{5}$/);
    const dry = await call("POST", "/api/v1/namespaces/default/configmaps?dryRun=All", {
      metadata: { name: "dry" },
    });
    expect(dry.status).toBe(201);
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/dry")).status).toBe(404);
    const noNs = await call("POST", "/api/v1/namespaces/nope/configmaps", { metadata: { name: "x" } });
    expect(noNs.status).toBe(404);
    expect(noNs.body.message).toBe('namespaces "nope" not found');
    const mismatch = await call("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "x", namespace: "other" },
    });
    expect(mismatch.status).toBe(400);
  });

  it("creates the built-in namespaces on first use", async () => {
    const { call } = testServer();
    const list = await call("GET", "/api/v1/namespaces");
    const names = (list.body.items as { metadata: { name: string } }[]).map((n) => n.metadata.name).sort();
    expect(names).toEqual(["default", "kube-node-lease", "kube-public", "kube-system"]);
  });

  it("deleting a namespace makes it Terminating, empties it and removes it", async () => {
    const { call } = testServer();
    await call("POST", "/api/v1/namespaces", { metadata: { name: "team" } });
    await call("POST", "/api/v1/namespaces/team/configmaps", { metadata: { name: "a" } });
    await call("POST", "/apis/example.com/v1/namespaces/team/widgets", widget("held", {}));
    // A finalizer keeps one object (and so the namespace) around.
    const held = await call("GET", "/apis/example.com/v1/namespaces/team/widgets/held");
    await call("PUT", "/apis/example.com/v1/namespaces/team/widgets/held", {
      ...held.body,
      metadata: { ...held.body.metadata, finalizers: ["example.com/hold"] },
    });
    const del = await call("DELETE", "/api/v1/namespaces/team");
    expect(del.status).toBe(200);
    expect(del.body.status).toMatchObject({ phase: "Terminating" });
    expect((await call("GET", "/api/v1/namespaces/team/configmaps/a")).status).toBe(404);
    const blocked = await call("POST", "/api/v1/namespaces/team/configmaps", { metadata: { name: "b" } });
    expect(blocked.status).toBe(403);
    // Releasing the finalizer deletes the object; deleting the namespace again finishes the job.
    const h2 = await call("GET", "/apis/example.com/v1/namespaces/team/widgets/held");
    expect(h2.body.metadata!.deletionTimestamp).toBeTruthy();
    await call("PUT", "/apis/example.com/v1/namespaces/team/widgets/held", {
      ...h2.body,
      metadata: { ...h2.body.metadata, finalizers: [] },
    });
    expect((await call("GET", "/apis/example.com/v1/namespaces/team/widgets/held")).status).toBe(404);
    const again = await call("DELETE", "/api/v1/namespaces/team");
    expect(again.body.status).toBe("Success");
    expect((await call("GET", "/api/v1/namespaces/team")).status).toBe(404);
  });

  it("deletes gracefully when the strategy asks, and immediately with grace 0", async () => {
    const { call } = testServer();
    await call(
      "POST",
      "/apis/example.com/v1/namespaces/default/widgets",
      widget("bound", { nodeName: "n1" }),
    );
    const first = await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/bound");
    expect(first.body.kind).toBe("Widget");
    expect(first.body.metadata!.deletionTimestamp).toBe("2026-01-01T00:00:30Z");
    expect(first.body.metadata!.deletionGracePeriodSeconds).toBe(30);
    expect((await call("GET", "/apis/example.com/v1/namespaces/default/widgets/bound")).status).toBe(200);
    const forced = await call("DELETE", "/apis/example.com/v1/namespaces/default/widgets/bound", {
      kind: "DeleteOptions",
      apiVersion: "v1",
      gracePeriodSeconds: 0,
    });
    expect(forced.body.status).toBe("Success");
    expect((await call("GET", "/apis/example.com/v1/namespaces/default/widgets/bound")).status).toBe(404);
  });

  it("checks delete preconditions and supports deletecollection with selectors", async () => {
    const { call } = testServer();
    await call("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "a", labels: { x: "1" } },
    });
    await call("POST", "/api/v1/namespaces/default/configmaps", {
      metadata: { name: "b", labels: { x: "2" } },
    });
    const pre = await call("DELETE", "/api/v1/namespaces/default/configmaps/a", {
      preconditions: { uid: "nope" },
    });
    expect(pre.status).toBe(409);
    const dc = await call("DELETE", "/api/v1/namespaces/default/configmaps?labelSelector=x%3D1");
    expect(dc.status).toBe(200);
    const left = await call("GET", "/api/v1/namespaces/default/configmaps");
    expect((left.body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name)).toEqual(["b"]);
  });
});

describe("propagation policies", () => {
  it("Foreground and Orphan leave the object with the garbage collector's finalizer; removing it deletes the object", async () => {
    const { call } = testServer();
    await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "fg" } });
    await call("POST", "/api/v1/namespaces/default/configmaps", { metadata: { name: "or" } });
    const fg = await call("DELETE", "/api/v1/namespaces/default/configmaps/fg", {
      propagationPolicy: "Foreground",
    });
    expect(fg.body.metadata!.finalizers).toEqual(["foregroundDeletion"]);
    expect(fg.body.metadata!.deletionTimestamp).toBeTruthy();
    const or = await call("DELETE", "/api/v1/namespaces/default/configmaps/or?propagationPolicy=Orphan");
    expect(or.body.metadata!.finalizers).toEqual(["orphan"]);
    const released = await call(
      "PATCH",
      "/api/v1/namespaces/default/configmaps/fg",
      { metadata: { finalizers: null } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(released.status).toBe(200);
    expect((await call("GET", "/api/v1/namespaces/default/configmaps/fg")).status).toBe(404);
    expect(
      (await call("DELETE", "/api/v1/namespaces/default/configmaps/or?propagationPolicy=Sideways")).status,
    ).toBe(400);
  });
});
