import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { RbacCache, type RbacResource, type RbacSource } from "./cache.ts";

/** A source over plain lists that counts its calls; `revision` bumps on each change. */
function fakeSource() {
  const objects: Record<RbacResource, KubeObject[]> = {
    clusterroles: [],
    roles: [],
    clusterrolebindings: [],
    rolebindings: [],
  };
  const state = { revision: 1, lists: 0, revisionChecks: 0 };
  const source: RbacSource = {
    async list(resource) {
      state.lists++;
      return { items: objects[resource], revision: String(state.revision) };
    },
    async revision() {
      state.revisionChecks++;
      return String(state.revision);
    },
  };
  return { objects, state, source };
}

describe("RbacCache", () => {
  it("serves from memory within maxAgeMs, checks revisions after, reloads on a change or an observed write", async () => {
    const { objects, state, source } = fakeSource();
    let now = 0;
    const cache = new RbacCache({ maxAgeMs: 1000, now: () => now });
    await cache.get(source);
    expect(state).toMatchObject({ lists: 4, revisionChecks: 0 });
    now = 999;
    await cache.get(source);
    expect(state).toMatchObject({ lists: 4, revisionChecks: 0 });
    now = 1000;
    await cache.get(source);
    expect(state).toMatchObject({ lists: 4, revisionChecks: 4 });
    objects.clusterroles.push({ metadata: { name: "r" }, rules: [] } as KubeObject);
    state.revision++;
    now = 2000;
    const changed = await cache.get(source);
    expect(state).toMatchObject({ lists: 8, revisionChecks: 8 });
    expect(changed.clusterRoles.has("r")).toBe(true);
    // A write through this isolate: the next read reloads at once, whatever the clock says.
    cache.observe({ group: "apps" });
    await cache.get(source);
    expect(state.lists).toBe(8);
    cache.observe({ group: "rbac.authorization.k8s.io" });
    await cache.get(source);
    expect(state.lists).toBe(12);
    expect(cache.loads).toBe(3);
  });
});
