/**
 * The Worker's API server as wired in apiServerForEnv (durable store, the
 * resource table, shared allocation pools, table printing hooks), driven
 * through the in-process client.
 */
import { env } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { R } from "../client/resources.ts";
import { ApiError } from "../client/status.ts";
import { inProcessClient } from "./index.ts";

type ServiceSpec = { clusterIP: string; ports: { nodePort?: number }[] };

const service = (name: string, spec: Record<string, unknown> = {}) => ({
  metadata: { name },
  spec: { selector: { app: name }, ports: [{ port: 80 }], ...spec },
});

describe("apiServerForEnv", () => {
  it("gives every Service a distinct ClusterIP and NodePort from the configured ranges", async () => {
    const client = inProcessClient(env, undefined);
    const ips = new Set<string>();
    const ports = new Set<number>();
    for (let i = 0; i < 8; i++) {
      const s = await client.create(R.services, "default", service(`svc-${i}`, { type: "NodePort" }));
      const spec = s.spec as ServiceSpec;
      ips.add(spec.clusterIP);
      ports.add(spec.ports[0].nodePort!);
    }
    expect(ips.size).toBe(8);
    expect(ports.size).toBe(8);
    for (const ip of ips) expect(ip).toMatch(/^10\.96\./);
    // Asking for an address another Service holds is refused, listing the field.
    const taken = [...ips][0];
    const error = await client
      .create(R.services, "default", service("dup", { clusterIP: taken }))
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).code).toBe(422);
    expect(JSON.stringify((error as ApiError).details?.causes)).toContain("spec.clusterIP");
  });

  it("prints events as kubectl does: LAST SEEN first, no extra NAME or AGE", async () => {
    const client = inProcessClient(env, undefined);
    await client.create(R.events, "default", {
      metadata: { name: "e1" },
      involvedObject: { kind: "Pod", name: "p", namespace: "default" },
      reason: "Scheduled",
      message: "assigned",
      type: "Normal",
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
      count: 1,
      source: { component: "default-scheduler" },
    });
    const response = await client.request("/api/v1/namespaces/default/events", {
      headers: { Accept: "application/json;as=Table;v=v1;g=meta.k8s.io" },
    });
    const table = (await response.json()) as {
      columnDefinitions: { name: string }[];
      rows: { cells: unknown[] }[];
    };
    const names = table.columnDefinitions.map((c) => c.name);
    expect(names[0]).toBe("Last Seen");
    // kube's event printer has NAME only as the last, wide column, and no AGE.
    expect(names.filter((n) => n === "Name")).toEqual(["Name"]);
    expect(names.at(-1)).toBe("Name");
    expect(names).not.toContain("Age");
    expect(table.rows[0].cells.length).toBe(names.length);
    expect(table.rows[0].cells).toContain("Scheduled");
  });

  it("serves OpenAPI v3 and rejects unknown fields without any module-level setup", async () => {
    // The schema services are passed in by apiServerForEnv itself: importing it is all a caller does.
    const client = inProcessClient(env, undefined);
    const index = await client.request("/openapi/v3");
    expect(index.status).toBe(200);
    expect(Object.keys(((await index.json()) as { paths: object }).paths)).toContain("api/v1");
    const error = await client
      .request("/api/v1/namespaces/default/configmaps?fieldValidation=Strict", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ metadata: { name: "strict" }, data: {}, bogus: 1 }),
      })
      .then((r) => r.json() as Promise<{ code: number; message: string }>);
    expect(error.code).toBe(400);
    expect(error.message).toContain('unknown field "bogus"');
  });
});
