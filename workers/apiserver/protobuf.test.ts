import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../durable-objects/store/memory.ts";
import { createApiServer } from "./app.ts";
import { OBJECT_META } from "./protobuf-schemas.ts";
import type { ResourceInfo } from "./registry/types.ts";
import { TEST_RESOURCES, TEST_TOKEN, testResource } from "./testing/fixture.ts";
import { ADMIN_USER } from "./tokens.ts";

const text = new TextEncoder();

function varint(n: number): number[] {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n >>>= 7;
  }
  out.push(n);
  return out;
}

/** A length-delimited protobuf field. */
function field(num: number, bytes: Uint8Array | number[]): number[] {
  return [...varint((num << 3) | 2), ...varint(bytes.length), ...bytes];
}

/** kube's protobuf envelope: "k8s\0" + runtime.Unknown{raw = 2}. */
function envelope(raw: number[]): Uint8Array {
  return new Uint8Array([0x6b, 0x38, 0x73, 0x00, ...field(2, raw)]);
}

/** A ConfigMap-shaped message: metadata.name and one data entry. */
const body = envelope([
  ...field(1, field(1, text.encode("gadget"))),
  ...field(2, [...field(1, text.encode("k")), ...field(2, text.encode("v"))]),
]);

function server(row: ResourceInfo) {
  const resources = TEST_RESOURCES.map((r) => (r.resource === row.resource ? row : r));
  const app = createApiServer({
    store: new MemoryStore(),
    resources,
    authenticate: async () => ADMIN_USER,
  });
  return (bytes: Uint8Array) =>
    app.request("http://test/api/v1/namespaces/default/configmaps", {
      method: "POST",
      headers: {
        Authorization: `Bearer ${TEST_TOKEN}`,
        "Content-Type": "application/vnd.kubernetes.protobuf",
      },
      body: bytes,
    });
}

describe("protobuf bodies, decoded with the field table the kind's row registers", () => {
  it("decodes with the row's table, whatever the model is called", async () => {
    const row: ResourceInfo = {
      ...testResource("configmaps"),
      model: "ExampleGadget",
      protobuf: { 1: ["metadata", OBJECT_META], 2: ["data", "map"] },
    };
    const response = await server(row)(body);
    expect(response.status).toBe(201);
    const created = (await response.json()) as { metadata: { name: string }; data: unknown; kind: string };
    expect(created.metadata.name).toBe("gadget");
    expect(created.data).toEqual({ k: "v" });
    expect(created.kind).toBe("ConfigMap");
  });

  it("answers 415 for a row without a table", async () => {
    const row: ResourceInfo = { ...testResource("configmaps"), model: "V1ConfigMap", protobuf: undefined };
    const response = await server(row)(body);
    expect(response.status).toBe(415);
    expect(((await response.json()) as { reason: string }).reason).toBe("UnsupportedMediaType");
  });
});
