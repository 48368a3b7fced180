import { describe, expect, it } from "vitest";
import { mergePatch } from "./patch.ts";
import { strategicMergePatch } from "./strategicpatch.ts";

const pod = {
  metadata: { name: "p", finalizers: ["a"], labels: { x: "1", y: "2" } },
  spec: {
    containers: [
      {
        name: "app",
        image: "nginx:1",
        ports: [{ containerPort: 80, name: "http" }],
        env: [{ name: "A", value: "1" }],
      },
      { name: "side", image: "busybox" },
    ],
    volumes: [{ name: "data", emptyDir: {} }],
    tolerations: [{ key: "k", operator: "Exists" }],
  },
};

describe("strategic merge patch", () => {
  it("merges containers by name, ports by containerPort and env by name", () => {
    const out = strategicMergePatch(pod, {
      spec: {
        containers: [
          {
            name: "app",
            image: "nginx:2",
            ports: [{ containerPort: 443, name: "https" }],
            env: [
              { name: "A", value: "2" },
              { name: "B", value: "3" },
            ],
          },
          { name: "new", image: "redis" },
        ],
      },
    });
    expect(out.spec.containers.map((c) => c.name)).toEqual(["app", "side", "new"]);
    expect(out.spec.containers[0].image).toBe("nginx:2");
    expect(out.spec.containers[0].ports).toEqual([
      { containerPort: 80, name: "http" },
      { containerPort: 443, name: "https" },
    ]);
    expect(out.spec.containers[0].env).toEqual([
      { name: "A", value: "2" },
      { name: "B", value: "3" },
    ]);
    // Lists without a merge key are replaced.
    const replaced = strategicMergePatch(pod, { spec: { tolerations: [{ key: "z", operator: "Exists" }] } });
    expect(replaced.spec.tolerations).toEqual([{ key: "z", operator: "Exists" }]);
    // Inputs are not mutated.
    expect(pod.spec.containers[0].image).toBe("nginx:1");
  });

  it("honours $patch delete/replace, null, $retainKeys and $deleteFromPrimitiveList", () => {
    const out = strategicMergePatch(pod, {
      metadata: { labels: { x: null }, "$deleteFromPrimitiveList/finalizers": ["a"] },
      spec: {
        containers: [{ name: "side", $patch: "delete" }],
        volumes: [{ $patch: "replace" }, { name: "cache", emptyDir: {} }],
      },
    });
    expect(out.metadata.labels).toEqual({ y: "2" });
    expect(out.metadata.finalizers).toEqual([]);
    expect(out.spec.containers.map((c) => c.name)).toEqual(["app"]);
    expect(out.spec.volumes).toEqual([{ name: "cache", emptyDir: {} }]);
    const replaced = strategicMergePatch(pod, { metadata: { labels: { $patch: "replace", z: "9" } } });
    expect(replaced.metadata.labels).toEqual({ z: "9" });
    const retained = strategicMergePatch(
      { spec: { strategy: { type: "RollingUpdate", rollingUpdate: { maxSurge: 1 } } } },
      { spec: { strategy: { $retainKeys: ["type"], type: "Recreate" } } },
    );
    expect(retained.spec.strategy).toEqual({ type: "Recreate" });
    const order = strategicMergePatch(pod, {
      spec: { "$setElementOrder/containers": [{ name: "side" }, { name: "app" }] },
    });
    expect(order.spec.containers.map((c) => c.name)).toEqual(["app", "side"]);
  });

  it("merges metadata.finalizers as a set", () => {
    expect(strategicMergePatch(pod, { metadata: { finalizers: ["b", "a"] } }).metadata.finalizers).toEqual([
      "a",
      "b",
    ]);
  });
});

describe("JSON merge patch (RFC 7386)", () => {
  it("replaces lists, merges maps and deletes with null", () => {
    const out = mergePatch(pod, {
      metadata: { labels: { x: null, z: "3" } },
      spec: { containers: [{ name: "only" }] },
    }) as typeof pod;
    expect(out.metadata.labels).toEqual({ y: "2", z: "3" });
    expect(out.spec.containers).toEqual([{ name: "only" }]);
  });
});

describe("managedFields", () => {
  it("the create fast path builds the same fieldsV1 as the general diff", async () => {
    const { leaves, objectFieldsV1, toFieldsV1 } = await import("./managedfields.ts");
    expect(objectFieldsV1(pod)).toEqual(toFieldsV1(leaves(pod).keys()));
  });
});
