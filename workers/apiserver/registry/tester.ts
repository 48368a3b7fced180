/**
 * The shared registry tester (kube's registrytest): every kind's valid and
 * invalid examples go through the same generic create/get/update/list/delete
 * path over HTTP, against a fresh in-memory store. Call it inside a test file:
 *
 *   runRegistryTester(info, { valid: [...], invalid: [{ object, fields: ["spec.x"] }] });
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import type { KubeObject } from "../../client/kube.ts";
import { createApiServer } from "../app.ts";
import { ADMIN_USER } from "../tokens.ts";
import type { ResourceInfo } from "./types.ts";

/** Examples for one kind: valid objects, and invalid ones with the exact field paths they must be rejected for. */
export interface RegistryExamples {
  valid: KubeObject[];
  invalid: { object: KubeObject; fields: string[] }[];
}

const TOKEN = "registry-tester";

function collectionPath(info: ResourceInfo, namespace: string | undefined): string {
  const base = info.group ? `/apis/${info.group}/${info.version}` : `/api/${info.version}`;
  return info.namespaced ? `${base}/namespaces/${namespace}/${info.resource}` : `${base}/${info.resource}`;
}

function server(info: ResourceInfo, extra: ResourceInfo[]) {
  const app = createApiServer({
    store: new MemoryStore(),
    resources: [info, ...extra.filter((r) => r !== info)],
    authenticate: async (r) =>
      r.headers.get("Authorization") === `Bearer ${TOKEN}` ? ADMIN_USER : undefined,
  });
  return async (method: string, path: string, body?: unknown) => {
    const response = await app.request(`http://tester${path}`, {
      method,
      headers: { Authorization: `Bearer ${TOKEN}`, "Content-Type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return {
      status: response.status,
      body: (text ? JSON.parse(text) : {}) as KubeObject & Record<string, unknown>,
    };
  };
}

function label(object: KubeObject, i: number): string {
  return object.metadata?.name ?? object.metadata?.generateName ?? `#${i}`;
}

/**
 * Register tests for one resource: valid examples are created, read back,
 * updated unchanged, listed and deleted; each invalid example must be
 * rejected with 422 Invalid listing exactly `fields` (order-insensitive).
 * `related` rows (e.g. namespaces) may be added to the table when a kind needs them.
 */
export function runRegistryTester(
  info: ResourceInfo,
  examples: RegistryExamples,
  related: ResourceInfo[] = [],
): void {
  describe(`registry tester: ${info.resource}${info.group ? `.${info.group}` : ""}`, () => {
    examples.valid.forEach((example, i) => {
      it(`accepts valid example ${label(example, i)} through create/get/update/list/delete`, async () => {
        const call = server(info, related);
        const namespace = info.namespaced ? (example.metadata?.namespace ?? "default") : undefined;
        const path = collectionPath(info, namespace);
        const created = await call("POST", path, example);
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        const name = created.body.metadata?.name as string;
        expect(name).toBeTruthy();
        expect(created.body.metadata?.uid).toBeTruthy();
        expect(created.body.metadata?.resourceVersion).toBeTruthy();
        expect(created.body.kind).toBe(info.kind);

        const got = await call("GET", `${path}/${name}`);
        expect(got.status).toBe(200);
        expect(got.body).toEqual(created.body);

        const updated = await call("PUT", `${path}/${name}`, got.body);
        expect(updated.status, JSON.stringify(updated.body)).toBe(200);
        expect(updated.body.metadata?.generation).toBe(created.body.metadata?.generation);

        const list = await call("GET", path);
        expect(list.status).toBe(200);
        expect((list.body.items as KubeObject[]).map((o) => o.metadata?.name)).toContain(name);

        let deleted = await call("DELETE", `${path}/${name}`);
        expect(deleted.status, JSON.stringify(deleted.body)).toBe(200);
        if (deleted.body.kind !== "Status") {
          // Graceful deletion (e.g. pods): the object stays with a deletionTimestamp until grace 0.
          expect(deleted.body.metadata?.deletionTimestamp).toBeTruthy();
          deleted = await call("DELETE", `${path}/${name}`, {
            kind: "DeleteOptions",
            apiVersion: "v1",
            gracePeriodSeconds: 0,
          });
          expect(deleted.body.kind, JSON.stringify(deleted.body)).toBe("Status");
        }
        expect((await call("GET", `${path}/${name}`)).status).toBe(404);
      });
    });

    examples.invalid.forEach(({ object, fields }, i) => {
      it(`rejects invalid example ${label(object, i)} listing ${fields.join(", ")}`, async () => {
        const call = server(info, related);
        const namespace = info.namespaced ? (object.metadata?.namespace ?? "default") : undefined;
        const path = collectionPath(info, namespace);
        // Built-in objects (the default ClusterRoles) may exist already: nothing beyond them may be stored.
        const before = await call("GET", path);
        const result = await call("POST", path, object);
        expect(result.status, JSON.stringify(result.body)).toBe(422);
        expect(result.body.reason).toBe("Invalid");
        const causes = ((result.body.details as { causes?: { field?: string }[] })?.causes ?? []).map(
          (c) => c.field ?? "",
        );
        expect([...new Set(causes)].sort()).toEqual([...new Set(fields)].sort());
        const list = await call("GET", path);
        expect(list.body.items).toEqual(before.body.items);
      });
    });
  });
}
