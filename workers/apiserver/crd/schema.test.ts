/** The structural-schema engine: kube's messages, pruning, defaults, nullable and the x-kubernetes-* rules. */
import { describe, expect, it } from "vitest";
import { compileSchema } from "./schema.ts";
import type { SchemaProps } from "./types.ts";

const SCHEMA: SchemaProps = {
  type: "object",
  properties: {
    spec: {
      type: "object",
      required: ["size"],
      properties: {
        size: { type: "integer", minimum: 1, maximum: 10 },
        ratio: { type: "number", exclusiveMinimum: true, minimum: 0, exclusiveMaximum: true, maximum: 1 },
        name: { type: "string", minLength: 2, maxLength: 5, pattern: "^[a-z]+$" },
        mode: { type: "string", enum: ["Fast", "Slow"] },
        port: { type: "integer", format: "int32" },
        when: { type: "string", format: "date-time" },
        tags: {
          type: "array",
          minItems: 1,
          maxItems: 2,
          items: { type: "string" },
          "x-kubernetes-list-type": "set",
        },
        ports: {
          type: "array",
          items: { type: "object", properties: { name: { type: "string" }, port: { type: "integer" } } },
          "x-kubernetes-list-type": "map",
          "x-kubernetes-list-map-keys": ["name"],
        },
        target: { "x-kubernetes-int-or-string": true },
        labels: { type: "object", additionalProperties: { type: "string" } },
        template: {
          type: "object",
          "x-kubernetes-embedded-resource": true,
          "x-kubernetes-preserve-unknown-fields": true,
        },
        free: { type: "object", "x-kubernetes-preserve-unknown-fields": true },
        maybe: { type: "string", nullable: true },
        flag: { type: "boolean", default: true },
        either: {
          type: "object",
          properties: { a: { type: "string" }, b: { type: "string" } },
          oneOf: [{ required: ["a"] }, { required: ["b"] }],
        },
        some: { type: "string", anyOf: [{ pattern: "^x" }, { pattern: "^y" }], not: { pattern: "^xx" } },
        nested: {
          type: "object",
          default: {},
          properties: { level: { type: "string", default: "info" }, keep: { type: "integer" } },
        },
      },
    },
    status: { type: "object", properties: { replicas: { type: "integer" } } },
  },
};

const engine = compileSchema(SCHEMA);

function errorsOf(spec: Record<string, unknown>): string[] {
  return engine
    .validate({ apiVersion: "x/v1", kind: "X", metadata: { name: "a" }, spec: { size: 1, ...spec } })
    .map((e) => `${e.field}: ${e.message}`);
}

describe("validation messages (kube's wording)", () => {
  const cases: [string, Record<string, unknown>, string][] = [
    [
      "minimum",
      { size: 0 },
      "spec.size: Invalid value: 0: spec.size in body should be greater than or equal to 1",
    ],
    [
      "maximum",
      { size: 11 },
      "spec.size: Invalid value: 11: spec.size in body should be less than or equal to 10",
    ],
    [
      "exclusiveMinimum",
      { ratio: 0 },
      "spec.ratio: Invalid value: 0: spec.ratio in body should be greater than 0",
    ],
    [
      "exclusiveMaximum",
      { ratio: 1 },
      "spec.ratio: Invalid value: 1: spec.ratio in body should be less than 1",
    ],
    [
      "type integer",
      { size: "3" },
      'spec.size: Invalid value: "3": spec.size in body must be of type integer: "string"',
    ],
    [
      "type integer (float)",
      { size: 1.5 },
      'spec.size: Invalid value: 1.5: spec.size in body must be of type integer: "number"',
    ],
    [
      "minLength",
      { name: "a" },
      'spec.name: Invalid value: "a": spec.name in body should be at least 2 chars long',
    ],
    ["maxLength", { name: "abcdef" }, "spec.name: Too long: may not be longer than 5"],
    [
      "pattern",
      { name: "AB" },
      "spec.name: Invalid value: \"AB\": spec.name in body should match '^[a-z]+$'",
    ],
    ["enum", { mode: "Medium" }, 'spec.mode: Unsupported value: "Medium": supported values: "Fast", "Slow"'],
    [
      "format int32",
      { port: 2 ** 31 },
      'spec.port: Invalid value: 2147483648: spec.port in body must be of type int32: "2147483648"',
    ],
    [
      "format date-time",
      { when: "yesterday" },
      'spec.when: Invalid value: "yesterday": spec.when in body must be of type date-time: "yesterday"',
    ],
    [
      "minItems",
      { tags: [] },
      "spec.tags: Invalid value: []: spec.tags in body should have at least 1 items",
    ],
    ["maxItems", { tags: ["a", "b", "c"] }, "spec.tags: Too many: 3: must have at most 2 items"],
    ["list-type set", { tags: ["a", "a"] }, 'spec.tags[1]: Duplicate value: "a"'],
    [
      "list-type map",
      {
        ports: [
          { name: "a", port: 1 },
          { name: "a", port: 2 },
        ],
      },
      'spec.ports[1]: Duplicate value: {"name":"a"}',
    ],
    [
      "item type",
      { tags: [1] },
      'spec.tags[0]: Invalid value: 1: spec.tags[0] in body must be of type string: "integer"',
    ],
    [
      "int-or-string",
      { target: true },
      'spec.target: Invalid value: true: spec.target in body must be of type integer or string: "boolean"',
    ],
    [
      "additionalProperties",
      { labels: { a: 1 } },
      'spec.labels.a: Invalid value: 1: spec.labels.a in body must be of type string: "integer"',
    ],
    [
      "embedded resource",
      { template: { metadata: {} } },
      "spec.template.apiVersion: Required value: must not be empty",
    ],
    ["required", { size: undefined }, "spec.size: Required value"],
    [
      "object type",
      { labels: "x" },
      'spec.labels: Invalid value: "x": spec.labels in body must be of type object: "string"',
    ],
    [
      "boolean type",
      { flag: "yes" },
      'spec.flag: Invalid value: "yes": spec.flag in body must be of type boolean: "string"',
    ],
  ];
  for (const [name, spec, message] of cases)
    it(name, () => {
      expect(errorsOf(spec)).toContain(message);
    });

  it("accepts what the schema allows, and reports every error of an object at once", () => {
    expect(
      errorsOf({
        ratio: 0.5,
        name: "abc",
        mode: "Fast",
        port: 80,
        when: "2026-01-01T00:00:00Z",
        tags: ["a"],
        target: "50%",
        labels: { a: "b" },
        template: { apiVersion: "v1", kind: "Pod", anything: { goes: 1 } },
        free: { x: [1, { y: 2 }] },
        maybe: null,
        either: { a: "1" },
        some: "y1",
      }),
    ).toEqual([]);
    expect(errorsOf({ target: 3 })).toEqual([]);
    // "A" breaks both minLength and pattern.
    expect(errorsOf({ size: 0, name: "A", mode: "x" })).toHaveLength(4);
  });
});

describe("pruning", () => {
  it("drops undeclared fields and reports their paths, keeping preserved and embedded ones", () => {
    const object = {
      apiVersion: "x/v1",
      kind: "X",
      metadata: { name: "a" },
      spec: {
        size: 1,
        bogus: 1,
        ports: [{ name: "a", extra: true }],
        labels: { any: "key" },
        free: { x: 1 },
        template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, more: 1 },
      },
      status: { replicas: 1, phase: "x" },
      top: 1,
    };
    expect(engine.prune(object).sort()).toEqual(["spec.bogus", "spec.ports[0].extra", "status.phase", "top"]);
    expect(object).toEqual({
      apiVersion: "x/v1",
      kind: "X",
      metadata: { name: "a" },
      spec: {
        size: 1,
        ports: [{ name: "a" }],
        labels: { any: "key" },
        free: { x: 1 },
        template: { apiVersion: "v1", kind: "Pod", metadata: { name: "p" }, more: 1 },
      },
      status: { replicas: 1 },
    });
  });
});

describe("defaults", () => {
  it("fills defaults at every level, keeps given values, and drops nulls of non-nullable fields", () => {
    const object: Record<string, unknown> = {
      spec: { size: 2, flag: null, maybe: null, nested: { keep: 1 } },
    };
    engine.applyDefaults(object);
    expect(object.spec).toEqual({ size: 2, flag: true, maybe: null, nested: { keep: 1, level: "info" } });
    const empty: Record<string, unknown> = { spec: { size: 1 } };
    engine.applyDefaults(empty);
    expect(empty.spec).toEqual({ size: 1, flag: true, nested: { level: "info" } });
  });
});
