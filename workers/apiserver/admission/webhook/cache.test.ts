/**
 * The per-isolate configuration cache, through two registries over one
 * store (two isolates): a write through this isolate applies to its next
 * request, another isolate's write once the revision check runs, and
 * a fresh snapshot is not listed again. (MemoryStore has one revision for
 * all keys, so its revision check cannot show an unchanged shard.)
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../../durable-objects/store/memory.ts";
import { findResource, RESOURCES } from "../../kinds/index.ts";
import { Registry } from "../../registry/registry.ts";
import type { RequestContext } from "../../registry/types.ts";
import { WebhookConfigCache } from "./cache.ts";
import { webhookAdmission } from "./plugin.ts";
import type { WebhookFetch } from "./review.ts";

const validating = findResource("admissionregistration.k8s.io", "validatingwebhookconfigurations")!;
const configmaps = findResource("", "configmaps")!;
const ctx: RequestContext = { user: "alice", groups: [], now: new Date(0), dryRun: false };

describe("the webhook configuration cache", () => {
  it("lists once while fresh, sees this isolate's writes at once and another isolate's after maxAgeMs", async () => {
    const store = new MemoryStore();
    const called: string[] = [];
    const fetch: WebhookFetch = async (url, init) => {
      called.push(new URL(url).pathname);
      const { request } = JSON.parse(String(init.body));
      const response = { uid: request.uid, allowed: true };
      return Response.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
    };
    const clock = { ms: 0 };
    const cache = new WebhookConfigCache({ maxAgeMs: 1000, now: () => clock.ms });
    const here = new Registry({
      store,
      resources: RESOURCES,
      now: () => new Date(0),
      admission: [webhookAdmission({ fetch, cache })],
      onWrite: (event) => cache.observe(event),
    });
    const elsewhere = new Registry({ store, resources: RESOURCES, now: () => new Date(0) });
    const config = (name: string) => ({
      metadata: { name },
      webhooks: [
        {
          name: `${name}.example.com`,
          clientConfig: { url: `https://hooks.example.com/${name}` },
          rules: [
            { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
          ],
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
        },
      ],
    });
    let n = 0;
    const createCM = () =>
      here.create(configmaps, "default", { metadata: { name: `cm-${n++}` } }, ctx, { manager: "test" });

    await createCM();
    await createCM();
    expect(cache.loads).toBe(1);

    await here.create(validating, undefined, config("local"), ctx, { manager: "test" });
    await createCM();
    expect(called).toEqual(["/local"]);

    await elsewhere.create(validating, undefined, config("remote"), ctx, { manager: "test" });
    clock.ms += 999;
    await createCM();
    expect(called).toEqual(["/local", "/local"]);
    clock.ms += 1;
    await createCM();
    expect(called.slice(2).sort()).toEqual(["/local", "/remote"]);
  });
});
