/** The printer columns' JSONPath subset. */
import { describe, expect, it } from "vitest";
import { evaluate, parseJsonPath } from "./jsonpath.ts";

const object = {
  spec: { replicas: 3, "dotted.key": "d", containers: [{ image: "a" }, { image: "b" }] },
  status: {
    conditions: [
      { type: "Ready", status: "True" },
      { type: "Synced", status: "False" },
    ],
  },
};

const at = (path: string) => evaluate(parseJsonPath(path) ?? [], object);

describe("printer column JSONPath", () => {
  it("reads fields, quoted keys, indices, wildcards and filters", () => {
    expect(at(".spec.replicas")).toEqual([3]);
    expect(at(".spec['dotted.key']")).toEqual(["d"]);
    expect(at(".spec.containers[1].image")).toEqual(["b"]);
    expect(at(".spec.containers[*].image")).toEqual(["a", "b"]);
    expect(at('.status.conditions[?(@.type=="Ready")].status')).toEqual(["True"]);
    expect(at(".status.conditions[?(@.type == 'Synced')].status")).toEqual(["False"]);
    expect(at("{.spec.replicas}")).toEqual([3]);
    expect(at(".spec.missing")).toEqual([]);
  });

  it("refuses what it does not know instead of guessing", () => {
    expect(parseJsonPath(".spec..replicas")).toBeUndefined();
    expect(parseJsonPath(".spec.containers[?(@.image > 1)]")).toBeUndefined();
  });
});
