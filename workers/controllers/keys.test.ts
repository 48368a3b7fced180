import { describe, expect, it } from "vitest";
import { ALL_KEYS, type ObjectEvent } from "../reconcile/types.ts";
import { ownerKeys } from "./keys.ts";

const pod = (owner?: { kind: string; name: string }, name = "p"): ObjectEvent["object"] => ({
  metadata: {
    name,
    namespace: "ns",
    ownerReferences: owner ? [{ apiVersion: "x/v1", uid: "u", controller: true, ...owner }] : undefined,
  },
});
const rsKeys = ownerKeys("apps/replicasets", "ReplicaSet", ["/pods"], true);
const jobKeys = ownerKeys("batch/jobs", "Job", ["/pods"]);

describe("event → keys", () => {
  it("maps a controller's own objects by namespace/name", () => {
    expect(rsKeys({ resource: "apps/replicasets", type: "ADDED", object: pod(undefined, "web") })).toEqual([
      "ns/web",
    ]);
  });

  it("maps owned objects to their controller's key, before and after a change of owner", () => {
    const mine = pod({ kind: "ReplicaSet", name: "web" });
    expect(rsKeys({ resource: "/pods", type: "MODIFIED", object: mine })).toEqual(["ns/web"]);
    const moved = pod({ kind: "ReplicaSet", name: "api" });
    expect(rsKeys({ resource: "/pods", type: "MODIFIED", object: moved, old: mine }).sort()).toEqual([
      "ns/api",
      "ns/web",
    ]);
    // Someone else's pod is none of its business.
    expect(rsKeys({ resource: "/pods", type: "ADDED", object: pod({ kind: "Job", name: "pi" }) })).toEqual(
      [],
    );
  });

  it("maps orphans to every key only for a controller that adopts them", () => {
    expect(rsKeys({ resource: "/pods", type: "ADDED", object: pod() })).toEqual([ALL_KEYS]);
    expect(jobKeys({ resource: "/pods", type: "ADDED", object: pod() })).toEqual([]);
  });

  it("maps other watched resources to every key", () => {
    const ds = ownerKeys("apps/daemonsets", "DaemonSet", ["/pods"]);
    expect(ds({ resource: "/nodes", type: "MODIFIED", object: { metadata: { name: "n1" } } })).toEqual([
      ALL_KEYS,
    ]);
  });
});
