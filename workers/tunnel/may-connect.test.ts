import { describe, expect, it } from "vitest";
import { mayConnect } from "./connect.ts";

describe("mayConnect", () => {
  it("lets admins hold any node's tunnel and a node only its own", () => {
    expect(mayConnect({ name: "system:admin", groups: ["system:masters"] }, "n1")).toBe(true);
    expect(mayConnect({ name: "system:node:n1", groups: ["system:nodes"] }, "n1")).toBe(true);
    expect(mayConnect({ name: "system:node:n1", groups: ["system:nodes"] }, "n2")).toBe(false);
  });

  it("refuses a bootstrap token that is not bound to a node", () => {
    const unbound = {
      name: "system:bootstrap:abcdef",
      groups: ["system:bootstrappers", "system:authenticated"],
    };
    expect(mayConnect(unbound, "n1")).toBe(false);
    // even if it was given the nodes group by auth-extra-groups
    expect(mayConnect({ ...unbound, groups: [...unbound.groups, "system:nodes"] }, "n1")).toBe(false);
  });
});
