import { describe, expect, it } from "vitest";
import { ApiError } from "../client/status.ts";
import { MAX_BODY_BYTES, MAX_NESTING, MAX_YAML_NODES, parseBody, readAtMost, readBody } from "./decode.ts";
import { RESOURCES } from "./kinds/index.ts";
import { testServer } from "./testing/fixture.ts";

/** The ApiError reason parseBody throws for `text`, or "ok". */
function reason(text: string, yaml: boolean): string {
  try {
    parseBody(text, yaml);
    return "ok";
  } catch (error) {
    if (error instanceof ApiError) return `${error.code} ${error.reason}`;
    throw error;
  }
}

const lines = (n: number, line: (i: number) => string) =>
  Array.from({ length: n }, (_, i) => line(i)).join("\n");
const BIG = MAX_BODY_BYTES - 16;

describe("parseBody limits", () => {
  it("refuses 3 MiB of flow, block and JSON nesting with 400 before building a tree", () => {
    expect(reason("[".repeat(BIG), true)).toBe("400 BadRequest");
    expect(reason("{a: ".repeat(BIG / 4), true)).toBe("400 BadRequest");
    expect(reason(`${"- ".repeat(BIG / 2)}a`, true)).toBe("400 BadRequest");
    expect(
      reason(
        lines(2400, (i) => `${" ".repeat(i)}a:`),
        true,
      ),
    ).toBe("400 BadRequest");
    expect(
      reason(
        lines(1500, (i) => `${" ".repeat(i * 2)}${i % 2 ? "- a:" : "a:"}`),
        true,
      ),
    ).toBe("400 BadRequest");
    expect(reason("[".repeat(BIG), false)).toBe("400 BadRequest");
    expect(reason('{"a":'.repeat(BIG / 5), false)).toBe("400 BadRequest");
    // A JSON-looking apply-patch body too deep for JSON falls to YAML, which refuses it as well.
    expect(reason('{"a":'.repeat(BIG / 5), true)).toBe("400 BadRequest");
  });

  it("refuses YAML with more nodes than the limit, and alias bombs, with 400", () => {
    expect(reason("- a\n".repeat(MAX_YAML_NODES + 1), true)).toBe("400 BadRequest");
    const bomb = [
      "a: &a [x,x,x,x,x,x,x,x,x]",
      "b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]",
      "c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]",
      "d: [*c,*c,*c,*c,*c,*c,*c,*c,*c]",
    ].join("\n");
    expect(reason(bomb, true)).toBe("400 BadRequest");
  });

  it("still parses real shapes and nesting just under the limit", () => {
    const manifest = [
      "apiVersion: v1",
      "kind: ConfigMap",
      "metadata:",
      "  name: x",
      "  labels: {a: b}",
      "data:",
      "  k: |",
      "    line",
      "  j: v",
      "list:",
      "- a: 1",
      "  b:",
      "  - c",
      "  - d: [1, 2]",
      "top:",
      "- x",
    ].join("\n");
    expect(parseBody(manifest, true).value).toEqual({
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "x", labels: { a: "b" } },
      data: { k: "line\n", j: "v" },
      list: [{ a: 1, b: ["c", { d: [1, 2] }] }],
      top: ["x"],
    });
    const depth = MAX_NESTING - 10;
    expect(reason(`${"[".repeat(depth)}${"]".repeat(depth)}`, true)).toBe("ok");
    expect(reason(`${'{"a":'.repeat(depth)}1${"}".repeat(depth)}`, false)).toBe("ok");
    expect(reason(`a:\n${lines(depth - 5, (i) => `${" ".repeat(i + 1)}a:`)} x`, true)).toBe("ok");
    expect(reason("- a\n".repeat(MAX_YAML_NODES / 2), true)).toBe("ok");
    // JSON sent as YAML (server-side apply) keeps its duplicate-field detection.
    expect(parseBody('{"a":1,"a":2}', true)).toEqual({ value: { a: 2 }, duplicates: ["a"] });
  });
});

describe("body reads", () => {
  it("counts bytes while streaming: a lying Content-Length or a chunked body over the limit is 413", async () => {
    const big = new Uint8Array(MAX_BODY_BYTES + 1);
    const lying = new Request("http://x/", {
      method: "POST",
      body: big,
      headers: { "Content-Length": "10" },
    });
    await expect(readBody(lying)).rejects.toMatchObject({ code: 413, reason: "RequestEntityTooLarge" });
    const chunked = new Request("http://x/", {
      method: "POST",
      body: new ReadableStream({
        pull(controller) {
          controller.enqueue(new Uint8Array(1024 * 1024));
        },
      }),
    });
    await expect(readBody(chunked)).rejects.toMatchObject({ code: 413 });
    const ok = new Request("http://x/", { method: "POST", body: "hello" });
    expect(new TextDecoder().decode(await readAtMost(ok, 5))).toBe("hello");
    expect(await readAtMost(new Request("http://x/", { method: "POST", body: "hello!" }), 5)).toBeUndefined();
  });
});

describe("ObjectMeta wire types", () => {
  it("answer 400 for metadata of the wrong type (a TypeError 500 before), null label values still delete", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const path = "/api/v1/namespaces/default/configmaps";
    for (const metadata of [
      "string",
      [],
      { name: "a", uid: [] },
      { name: "a", labels: { x: 1 } },
      { name: 5 },
    ]) {
      const res = await call("POST", path, { apiVersion: "v1", kind: "ConfigMap", metadata });
      expect(res.status, JSON.stringify(metadata)).toBe(400);
      expect(res.body.reason).toBe("BadRequest");
    }
    const patch = await call(
      "PATCH",
      `${path}/nope`,
      { metadata: "x" },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(patch.status).toBe(400);
    const created = await call("POST", path, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "ok", labels: { a: "b" } },
    });
    expect(created.status).toBe(201);
    // A merge patch deletes a label with null: still allowed.
    const unlabel = await call(
      "PATCH",
      `${path}/ok`,
      { metadata: { labels: { a: null } } },
      {
        "Content-Type": "application/merge-patch+json",
      },
    );
    expect(unlabel.status, unlabel.text).toBe(200);
    const owners = await call("POST", path, {
      apiVersion: "v1",
      kind: "ConfigMap",
      metadata: { name: "owners", ownerReferences: "x" },
    });
    expect(owners.status).toBe(400);
  });
});
