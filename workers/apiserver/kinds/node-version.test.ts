/** Version skew at registration: a Node whose agent is newer than the control plane (or too old) is refused with a 422 Status. */
import { describe, expect, it } from "vitest";
import { EDGEPLANE_VERSION } from "../../client/version.ts";
import { testServer } from "../testing/fixture.ts";
import { RESOURCES } from "./index.ts";

const node = (name: string, kubeletVersion: string) => ({
  metadata: { name },
  status: { nodeInfo: { kubeletVersion } },
});

describe("Node registration enforces the agent version skew", () => {
  it("takes an agent of the control plane's version or up to 3 minors older", async () => {
    const { call } = testServer({ resources: RESOURCES });
    expect((await call("POST", "/api/v1/nodes", node("same", EDGEPLANE_VERSION))).status).toBe(201);
    expect((await call("POST", "/api/v1/nodes", node("older", "v1.29.4-edgeplane"))).status).toBe(201);
    // Another kubelet's version that does not parse is not judged.
    expect((await call("POST", "/api/v1/nodes", node("other", "dev"))).status).toBe(201);
  });

  it("refuses an agent newer than the control plane with a clear Status", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const refused = await call("POST", "/api/v1/nodes", node("newer", "v1.33.0-edgeplane"));
    expect(refused.status).toBe(422);
    expect(refused.body.kind).toBe("Status");
    expect(refused.body.reason).toBe("Invalid");
    expect(refused.body.message).toContain(
      `agent v1.33.0-edgeplane is newer than the control plane ${EDGEPLANE_VERSION}`,
    );
    const patch = await call("POST", "/api/v1/nodes", node("patch", "v1.32.1"));
    expect(patch.status).toBe(422);
    expect((await call("GET", "/api/v1/nodes/newer")).status).toBe(404);
  });

  it("refuses an agent more than 3 minors older, and an in-place upgrade past the control plane", async () => {
    const { call } = testServer({ resources: RESOURCES });
    const old = await call("POST", "/api/v1/nodes", node("old", "v1.28.9"));
    expect(old.status).toBe(422);
    expect(old.body.message).toContain("too old");
    expect((await call("POST", "/api/v1/nodes", node("n1", EDGEPLANE_VERSION))).status).toBe(201);
    const upgraded = await call(
      "PATCH",
      "/api/v1/nodes/n1/status",
      { status: { nodeInfo: { kubeletVersion: "v1.34.0-edgeplane" } } },
      { "Content-Type": "application/merge-patch+json" },
    );
    expect(upgraded.status).toBe(422);
    expect(upgraded.body.message).toContain("newer than the control plane");
  });
});
