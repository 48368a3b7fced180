/**
 * The webhook dispatcher through the real registry and resource table, with a
 * fake webhook behind the injected fetch: what the AdmissionReview carries,
 * denials, patches, failure policies, dry run and warnings.
 */
import { describe, expect, it } from "vitest";
import { MemoryStore } from "../../../../durable-objects/store/memory.ts";
import type { KubeObject } from "../../../client/kube.ts";
import { ApiError } from "../../../client/status.ts";
import { findResource, RESOURCES } from "../../kinds/index.ts";
import { Registry } from "../../registry/registry.ts";
import type { RequestContext } from "../../registry/types.ts";
import { testServer } from "../../testing/fixture.ts";
import { resourceQuotaAdmission } from "../resourcequota.ts";
import { webhookAdmission } from "./plugin.ts";
import type { ReviewRequest, WebhookFetch } from "./review.ts";

const GROUP = "admissionregistration.k8s.io";
const validating = findResource(GROUP, "validatingwebhookconfigurations")!;
const mutating = findResource(GROUP, "mutatingwebhookconfigurations")!;
const configmaps = findResource("", "configmaps")!;
const namespaces = findResource("", "namespaces")!;

/** What the fake webhook answers for one request (merged into {uid, allowed: true}). */
type Answer =
  | Record<string, unknown>
  | ((request: ReviewRequest) => Record<string, unknown> | Promise<Record<string, unknown>>);

/** A registry with the webhook plugin, whose fetch is a fake webhook server per URL path. */
function setup(answers: Record<string, Answer | Error> = {}) {
  const calls: { path: string; url: string; request: ReviewRequest; signal: boolean }[] = [];
  const fetch: WebhookFetch = async (url, init) => {
    const u = new URL(url);
    const request = JSON.parse(String(init.body)).request as ReviewRequest;
    calls.push({ path: u.pathname, url, request, signal: init.signal instanceof AbortSignal });
    const answer = answers[u.pathname] ?? {};
    if (answer instanceof Error) throw answer;
    const extra = typeof answer === "function" ? await answer(request) : answer;
    const response = { uid: request.uid, allowed: true, ...extra };
    return Response.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
  };
  const registry = new Registry({
    store: new MemoryStore(),
    resources: RESOURCES,
    now: () => new Date("2026-01-01T00:00:00Z"),
    admission: [webhookAdmission({ fetch })],
  });
  const ctx = (extra: Partial<RequestContext> = {}): RequestContext => ({
    user: "alice",
    groups: ["devs", "system:authenticated"],
    now: new Date("2026-01-01T00:00:00Z"),
    dryRun: false,
    warnings: [],
    ...extra,
  });
  const hook = (name: string, path: string, extra: Record<string, unknown> = {}) => ({
    name,
    clientConfig: { url: `https://hooks.example.com${path}` },
    rules: [
      { operations: ["CREATE", "UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] },
    ],
    sideEffects: "None",
    admissionReviewVersions: ["v1"],
    ...extra,
  });
  const addConfig = (kind: "validating" | "mutating", name: string, webhooks: unknown[]) =>
    registry.create(
      kind === "validating" ? validating : mutating,
      undefined,
      { metadata: { name }, webhooks },
      ctx(),
      {
        manager: "test",
      },
    );
  const createCM = (name: string, c = ctx(), namespace = "default", labels?: Record<string, string>) =>
    registry.create(configmaps, namespace, { metadata: { name, labels }, data: { k: "v" } }, c, {
      manager: "test",
    });
  return { registry, calls, ctx, hook, addConfig, createCM };
}

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  const error = await promise.then(
    () => undefined,
    (e) => e,
  );
  expect(error).toBeInstanceOf(ApiError);
  return error as ApiError;
}

describe("admission webhooks", () => {
  it("send an AdmissionReview v1 with the request's attributes, old object and options", async () => {
    const t = setup();
    await t.addConfig("validating", "v", [t.hook("check.example.com", "/check", { timeoutSeconds: 3 })]);
    await t.createCM("a", t.ctx({ dryRun: true }));
    await t.createCM("a");
    await t.registry.update(configmaps, "default", "a", (cm) => ({ ...cm, data: { k: "w" } }), t.ctx(), {
      manager: "test",
      target: "main",
    });
    expect(t.calls).toHaveLength(3);
    const [dry, create, update] = t.calls;
    expect(create.url).toBe("https://hooks.example.com/check?timeout=3s");
    expect(create.signal).toBe(true);
    expect(create.request).toMatchObject({
      kind: { group: "", version: "v1", kind: "ConfigMap" },
      resource: { group: "", version: "v1", resource: "configmaps" },
      requestKind: { group: "", version: "v1", kind: "ConfigMap" },
      requestResource: { group: "", version: "v1", resource: "configmaps" },
      name: "a",
      namespace: "default",
      operation: "CREATE",
      userInfo: { username: "alice", groups: ["devs", "system:authenticated"] },
      object: { kind: "ConfigMap", metadata: { name: "a", namespace: "default" }, data: { k: "v" } },
      dryRun: false,
      options: { apiVersion: "meta.k8s.io/v1", kind: "CreateOptions" },
    });
    expect(create.request.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(create.request.oldObject).toBeUndefined();
    expect(create.request.subResource).toBeUndefined();
    expect(dry.request).toMatchObject({ dryRun: true, options: { dryRun: ["All"] } });
    expect(update.request).toMatchObject({
      operation: "UPDATE",
      object: { data: { k: "w" } },
      oldObject: { data: { k: "v" } },
      options: { kind: "UpdateOptions" },
    });
    expect(update.request.uid).not.toBe(create.request.uid);
  });

  it("refuse with the webhook's message and code (400 when it gives none below 400)", async () => {
    const t = setup({
      "/forbid": { allowed: false, status: { code: 403, reason: "Forbidden", message: "not on Fridays" } },
      "/plain": { allowed: false, status: { message: "no" } },
      "/silent": { allowed: false },
    });
    await t.addConfig("validating", "a", [t.hook("forbid.example.com", "/forbid")]);
    let error = await refusal(t.createCM("x"));
    expect(error.toStatus()).toMatchObject({
      code: 403,
      reason: "Forbidden",
      message: 'admission webhook "forbid.example.com" denied the request: not on Fridays',
    });
    await t.registry.delete(validating, undefined, "a", t.ctx());
    await t.addConfig("validating", "b", [
      t.hook("plain.example.com", "/plain"),
      t.hook("silent.example.com", "/silent"),
    ]);
    error = await refusal(t.createCM("x"));
    expect(error.code).toBe(400);
    expect(error.message).toBe('admission webhook "plain.example.com" denied the request: no');
    await t.registry.delete(validating, undefined, "b", t.ctx());
    await t.addConfig("validating", "c", [t.hook("silent.example.com", "/silent")]);
    error = await refusal(t.createCM("x"));
    expect(error.message).toBe(
      'admission webhook "silent.example.com" denied the request without explanation',
    );
  });

  it("call validating webhooks together and pass their warnings on", async () => {
    let release: () => void = () => {};
    const both = new Promise<void>((resolve) => {
      release = resolve;
    });
    let waiting = 0;
    // Each answer waits until both webhooks were called: calling them one after the other would never finish.
    const together = (warnings: string[]) => async () => {
      if (++waiting === 2) release();
      await both;
      return { warnings };
    };
    const t = setup({ "/w": together(["deprecated label"]), "/w2": together([]) });
    await t.addConfig("validating", "v", [t.hook("w.example.com", "/w"), t.hook("w2.example.com", "/w2")]);
    const ctx = t.ctx();
    await t.createCM("x", ctx);
    expect(ctx.warnings).toEqual(["deprecated label"]);
    expect(t.calls.map((c) => c.path).sort()).toEqual(["/w", "/w2"]);
  });

  it("apply mutating patches in configuration-name order, then validate the result", async () => {
    const patch = (ops: unknown[]) => ({ patchType: "JSONPatch", patch: btoa(JSON.stringify(ops)) });
    const t = setup({
      "/label": patch([{ op: "add", path: "/metadata/labels", value: { injected: "yes" } }]),
      "/second": (request) =>
        patch([{ op: "add", path: "/data/seen", value: String(request.object?.metadata?.labels?.injected) }]),
      "/break": patch([{ op: "add", path: "/data/bad key!", value: "x" }]),
    });
    await t.addConfig("mutating", "b-second", [t.hook("second.example.com", "/second")]);
    await t.addConfig("mutating", "a-label", [t.hook("label.example.com", "/label")]);
    const created = await t.createCM("m");
    expect(created.metadata?.labels).toEqual({ injected: "yes" });
    expect(created.data).toEqual({ k: "v", seen: "yes" });
    expect(t.calls.map((c) => c.path)).toEqual(["/label", "/second"]);
    const stored = await t.registry.get(configmaps, "default", "m");
    expect(stored.metadata?.labels).toEqual({ injected: "yes" });

    await t.addConfig("mutating", "c-break", [t.hook("break.example.com", "/break")]);
    const error = await refusal(t.createCM("n"));
    expect(error.code).toBe(422);
    expect(error.details?.causes?.[0]?.field).toBe("data[bad key!]");
  });

  it("call an IfNeeded webhook again when a later one changed the object", async () => {
    const patch = (ops: unknown[]) => ({ patchType: "JSONPatch", patch: btoa(JSON.stringify(ops)) });
    const t = setup({ "/late": patch([{ op: "add", path: "/data/late", value: "1" }]) });
    await t.addConfig("mutating", "a", [
      t.hook("again.example.com", "/again", { reinvocationPolicy: "IfNeeded" }),
    ]);
    await t.addConfig("mutating", "b", [t.hook("late.example.com", "/late")]);
    await t.createCM("r");
    expect(t.calls.map((c) => c.path)).toEqual(["/again", "/late", "/again"]);
    expect(t.calls[2].request.object?.data).toEqual({ k: "v", late: "1" });
  });

  it("follow failurePolicy when a webhook cannot be called or answers badly", async () => {
    const t = setup({
      "/down": new TypeError("Network connection lost."),
      "/slow": new DOMException("The operation was aborted due to timeout", "TimeoutError"),
      "/liar": (request) => ({ uid: `${request.uid}-other` }),
      "/patcher": { patchType: "JSONPatch", patch: btoa("[]") },
    });
    await t.addConfig("validating", "ignore", [
      t.hook("down.example.com", "/down", { failurePolicy: "Ignore" }),
      t.hook("svc.example.com", "/", {
        failurePolicy: "Ignore",
        clientConfig: { service: { name: "hook", namespace: "default" } },
      }),
    ]);
    expect((await t.createCM("ok")).metadata?.name).toBe("ok");

    const failing: [string, Record<string, unknown>, string][] = [
      [
        "down.example.com",
        {},
        'failed calling webhook "down.example.com": failed to call webhook: Post "https://hooks.example.com/down?timeout=10s": Network connection lost.',
      ],
      ["slow.example.com", {}, "context deadline exceeded (timeout 10s)"],
      ["liar.example.com", {}, "received invalid webhook response: expected response.uid="],
      ["patcher.example.com", {}, "webhook returned a patch for a validating admission request"],
      [
        "svc.example.com",
        { clientConfig: { service: { name: "hook", namespace: "default" } } },
        "clientConfig.service is not supported by this server",
      ],
    ];
    for (const [name, extra, message] of failing) {
      const path = `/${name.split(".")[0]}`;
      await t.addConfig("validating", `fail-${name}`, [
        t.hook(name, path, { failurePolicy: "Fail", ...extra }),
      ]);
      const error = await refusal(t.createCM(`x-${name}`));
      expect(error.code, name).toBe(500);
      expect(error.reason).toBe("InternalError");
      expect(error.message).toContain("Internal error occurred: ");
      expect(error.message).toContain(message);
      await t.registry.delete(validating, undefined, `fail-${name}`, t.ctx());
    }
  });

  it("call a webhook only when its objectSelector and matchConditions hold on the object as patched so far", async () => {
    const t = setup({
      "/label": {
        patchType: "JSONPatch",
        patch: btoa(JSON.stringify([{ op: "add", path: "/metadata/labels", value: { tier: "db" } }])),
      },
    });
    const when = (name: string, expression: string) => ({ name, expression });
    await t.addConfig("mutating", "a", [t.hook("label.example.com", "/label")]);
    await t.addConfig("mutating", "b", [
      t.hook("db.example.com", "/db", {
        matchConditions: [
          when("db-tier", "object.metadata.labels['tier'] == 'db'"),
          when("not-system", "!request.userInfo.username.startsWith('system:')"),
          when("int-compare", "size(object.data) >= 1"),
        ],
      }),
      t.hook("never.example.com", "/never", {
        matchConditions: [when("update-only", "request.operation == 'UPDATE' && oldObject != null")],
      }),
      t.hook("selected.example.com", "/selected", { objectSelector: { matchLabels: { tier: "db" } } }),
    ]);
    await t.createCM("m");
    expect(t.calls.map((c) => c.path)).toEqual(["/label", "/db", "/selected"]);
    await t.createCM("s", t.ctx({ user: "system:kube-controller-manager" }));
    expect(t.calls.slice(3).map((c) => c.path)).toEqual(["/label", "/selected"]);

    // An evaluation error with no condition false: 403 under Fail, skipped under Ignore.
    const broken = [when("missing", "object.spec.replicas > 1")];
    await t.addConfig("validating", "c", [
      t.hook("broken.example.com", "/broken", { matchConditions: broken }),
    ]);
    const error = await refusal(t.createCM("e"));
    expect(error.code).toBe(403);
    expect(error.reason).toBe("Forbidden");
    expect(error.message).toMatch(
      /^configmaps "e" is forbidden: matchCondition "missing": No such key: spec/,
    );
    await t.registry.update(
      validating,
      undefined,
      "c",
      (config) => {
        (config.webhooks as { failurePolicy: string }[])[0].failurePolicy = "Ignore";
        return config;
      },
      t.ctx(),
      { manager: "test", target: "main" },
    );
    const before = t.calls.length;
    await t.createCM("i");
    expect(t.calls.slice(before).map((c) => c.path)).toEqual(["/label", "/db", "/selected"]);
  });

  it("refuse a dry run that would reach a webhook with side effects", async () => {
    const t = setup();
    await t.addConfig("validating", "v", [t.hook("effects.example.com", "/effects")]);
    // v1 only stores None/NoneOnDryRun: an older object with Unknown is written past validation.
    await t.registry.rawUpdate(validating, undefined, "v", (config) => {
      (config.webhooks as { sideEffects: string }[])[0].sideEffects = "Unknown";
      return config;
    });
    const error = await refusal(t.createCM("d", t.ctx({ dryRun: true })));
    expect(error.toStatus()).toMatchObject({
      code: 400,
      reason: "BadRequest",
      message: 'admission webhook "effects.example.com" does not support dry run',
    });
    expect(t.calls).toHaveLength(0);
    await t.createCM("d");
    expect(t.calls).toHaveLength(1);
  });

  it("select on namespace and object labels, see subresources, and skip their own configurations", async () => {
    const t = setup();
    await t.registry.create(
      namespaces,
      undefined,
      { metadata: { name: "prod", labels: { env: "prod" } } },
      t.ctx(),
      {
        manager: "test",
      },
    );
    await t.addConfig("validating", "v", [
      t.hook("ns.example.com", "/ns", { namespaceSelector: { matchLabels: { env: "prod" } } }),
      t.hook("obj.example.com", "/obj", { objectSelector: { matchLabels: { app: "web" } } }),
      t.hook("status.example.com", "/status", {
        rules: [
          { operations: ["UPDATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["namespaces/status"] },
        ],
      }),
      t.hook("all.example.com", "/all", {
        rules: [{ operations: ["*"], apiGroups: ["*"], apiVersions: ["*"], resources: ["*/*"] }],
        namespaceSelector: { matchLabels: { never: "true" } },
        objectSelector: { matchLabels: { never: "true" } },
      }),
    ]);
    await t.createCM("a", t.ctx(), "default");
    await t.createCM("b", t.ctx(), "prod");
    await t.createCM("c", t.ctx(), "default", { app: "web" });
    await t.registry.update(
      namespaces,
      undefined,
      "prod",
      (ns) => ({ ...ns, status: { phase: "Active" } }),
      t.ctx(),
      {
        manager: "test",
        target: "status",
      },
    );
    await t.addConfig("mutating", "m", []);
    await t.registry.create(
      validating,
      undefined,
      { metadata: { name: "never" }, webhooks: [] } as KubeObject,
      t.ctx(),
      { manager: "test" },
    );
    expect(t.calls.map((c) => `${c.path} ${c.request.name}`)).toEqual(["/ns b", "/obj c", "/status prod"]);
    expect(t.calls[2].request).toMatchObject({ subResource: "status", requestSubResource: "status" });
    expect(t.calls[2].request.namespace).toBeUndefined();
  });

  it("see deletes as kube sends them: validating only, object null, the stored object, DeleteOptions", async () => {
    const t = setup({
      "/guard": (request) =>
        request.oldObject?.metadata?.name === "protected"
          ? { allowed: false, status: { code: 403, reason: "Forbidden", message: "protected is protected" } }
          : {},
      "/down": new TypeError("Network connection lost."),
    });
    const deletes = {
      rules: [{ operations: ["DELETE"], apiGroups: [""], apiVersions: ["v1"], resources: ["configmaps"] }],
    };
    await t.addConfig("validating", "guard", [
      t.hook("guard.example.com", "/guard", {
        ...deletes,
        objectSelector: { matchLabels: { guarded: "yes" } },
      }),
      t.hook("writes.example.com", "/writes"),
    ]);
    await t.addConfig("mutating", "mutate-all", [
      t.hook("all.example.com", "/all", { rules: [{ ...deletes.rules[0], operations: ["*"] }] }),
    ]);
    const guarded = { guarded: "yes" };
    await t.createCM("protected", t.ctx(), "default", guarded);
    await t.createCM("free", t.ctx(), "default", guarded);
    await t.createCM("unlabelled");
    t.calls.length = 0;
    const gone = async (name: string) =>
      await t.registry.get(configmaps, "default", name).then(
        () => false,
        (e) => e instanceof ApiError && e.code === 404,
      );

    const error = await refusal(t.registry.remove(configmaps, "default", "protected", t.ctx()));
    expect(error.toStatus()).toMatchObject({
      code: 403,
      reason: "Forbidden",
      message: 'admission webhook "guard.example.com" denied the request: protected is protected',
    });
    expect((await t.registry.get(configmaps, "default", "protected")).metadata?.labels).toEqual(guarded);

    await t.registry.remove(configmaps, "default", "free", t.ctx({ dryRun: true }), {
      gracePeriodSeconds: 5,
    });
    expect(await gone("free")).toBe(false);
    await t.registry.remove(configmaps, "default", "free", t.ctx(), { propagationPolicy: "Foreground" });
    await t.registry.remove(configmaps, "default", "unlabelled", t.ctx());
    expect(t.calls.map((c) => c.path)).toEqual(["/guard", "/guard", "/guard"]);
    const [, dry, real] = t.calls.map((c) => c.request);
    expect(dry).toMatchObject({
      operation: "DELETE",
      dryRun: true,
      options: {
        kind: "DeleteOptions",
        apiVersion: "meta.k8s.io/v1",
        gracePeriodSeconds: 5,
        dryRun: ["All"],
      },
    });
    expect(real).toMatchObject({
      kind: { group: "", version: "v1", kind: "ConfigMap" },
      resource: { group: "", version: "v1", resource: "configmaps" },
      name: "free",
      namespace: "default",
      operation: "DELETE",
      object: null,
      oldObject: { kind: "ConfigMap", metadata: { name: "free", labels: guarded }, data: { k: "v" } },
      dryRun: false,
      options: { kind: "DeleteOptions", apiVersion: "meta.k8s.io/v1", propagationPolicy: "Foreground" },
    });
    expect(await gone("unlabelled")).toBe(true);

    // failurePolicy applies to deletes as to writes.
    await t.createCM("a");
    await t.createCM("b");
    await t.addConfig("validating", "down", [
      t.hook("down.example.com", "/down", { ...deletes, failurePolicy: "Fail" }),
    ]);
    expect((await refusal(t.registry.remove(configmaps, "default", "a", t.ctx()))).code).toBe(500);
    expect(await gone("a")).toBe(false);
    await t.registry.delete(validating, undefined, "down", t.ctx());
    await t.addConfig("validating", "down", [
      t.hook("down.example.com", "/down", { ...deletes, failurePolicy: "Ignore" }),
    ]);
    await t.registry.remove(configmaps, "default", "b", t.ctx());
    expect(await gone("b")).toBe(true);
  });

  it("see pods/binding as kube sends it: a CREATE of the Binding on pods/binding, not an UPDATE of the pod", async () => {
    const patch = (ops: unknown[]) => ({ patchType: "JSONPatch", patch: btoa(JSON.stringify(ops)) });
    const seen: ReviewRequest[] = [];
    const fetch: WebhookFetch = async (url, init) => {
      const request = JSON.parse(String(init.body)).request as ReviewRequest;
      seen.push(request);
      const path = new URL(url).pathname;
      const target = (request.object as { target?: { name?: string } } | null)?.target?.name;
      const answer =
        path === "/retarget"
          ? patch([{ op: "replace", path: "/target/name", value: "n2" }])
          : path === "/deny" && target === "n3"
            ? { allowed: false, status: { message: "not on n3" } }
            : {};
      const response = { uid: request.uid, allowed: true, ...answer };
      return Response.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
    };
    const quota = resourceQuotaAdmission();
    const { call } = testServer({ resources: RESOURCES, admission: [webhookAdmission({ fetch }), quota] });
    const rule = (operations: string[], resources: string[]) => ({
      rules: [{ operations, apiGroups: [""], apiVersions: ["v1"], resources }],
      sideEffects: "None",
      admissionReviewVersions: ["v1"],
    });
    const hooks = (path: string, operations: string[], resources: string[]) => ({
      metadata: { name: path.slice(1) },
      webhooks: [
        {
          name: `${path.slice(1)}.example.com`,
          clientConfig: { url: `https://hooks.example.com${path}` },
          ...rule(operations, resources),
        },
      ],
    });
    const ADM = "/apis/admissionregistration.k8s.io/v1";
    await call(
      "POST",
      `${ADM}/mutatingwebhookconfigurations`,
      hooks("/retarget", ["CREATE"], ["pods/binding"]),
    );
    await call(
      "POST",
      `${ADM}/validatingwebhookconfigurations`,
      hooks("/deny", ["CREATE"], ["pods/binding"]),
    );
    await call(
      "POST",
      `${ADM}/validatingwebhookconfigurations`,
      hooks("/updates", ["UPDATE"], ["pods", "pods/*"]),
    );
    const PODS = "/api/v1/namespaces/default/pods";
    // A quota with room for exactly the pods that exist: a Binding is no new pod to charge.
    for (const name of ["p", "q"]) {
      const made = await call("POST", PODS, {
        metadata: { name },
        spec: { containers: [{ name: "c", image: "nginx" }] },
      });
      expect(made.status, made.text).toBe(201);
    }
    const QUOTA = "/api/v1/namespaces/default/resourcequotas";
    const made = await call("POST", QUOTA, { metadata: { name: "q" }, spec: { hard: { pods: "2" } } });
    // What the quota controller would write (it does not run here): full, as both pods exist.
    const status = { hard: { pods: "2" }, used: { pods: "2" } };
    expect((await call("PUT", `${QUOTA}/q/status`, { ...made.body, status })).status).toBe(200);
    seen.length = 0;
    const bound = await call("POST", `${PODS}/p/binding`, {
      apiVersion: "v1",
      kind: "Binding",
      metadata: { name: "p" },
      target: { kind: "Node", name: "n1" },
    });
    expect(bound.status, bound.text).toBe(201);
    expect(((await call("GET", `${PODS}/p`)).body.spec as { nodeName: string }).nodeName).toBe("n2");
    expect(seen.map((r) => r.operation)).toEqual(["CREATE", "CREATE"]);
    expect(seen[1]).toMatchObject({
      kind: { group: "", version: "v1", kind: "Binding" },
      resource: { group: "", version: "v1", resource: "pods" },
      subResource: "binding",
      requestSubResource: "binding",
      name: "p",
      namespace: "default",
      operation: "CREATE",
      object: {
        apiVersion: "v1",
        kind: "Binding",
        metadata: { name: "p", namespace: "default" },
        target: { name: "n2" },
      },
      options: { kind: "CreateOptions" },
    });
    expect(seen[1].oldObject).toBeUndefined();
    const used = (await call("GET", `${QUOTA}/q`)).body.status as { used: Record<string, string> };
    expect(used.used.pods).toBe("2");

    await call("DELETE", `${ADM}/mutatingwebhookconfigurations/retarget`);
    const refused = await call("POST", `${PODS}/q/binding`, {
      metadata: { name: "q" },
      target: { name: "n3" },
    });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe('admission webhook "deny.example.com" denied the request: not on n3');
    expect(((await call("GET", `${PODS}/q`)).body.spec as { nodeName?: string }).nodeName).toBeUndefined();
  });

  it("see pods/exec and portforward as a CONNECT with the options object, and a denial stops the stream", async () => {
    const seen: ReviewRequest[] = [];
    const fetch: WebhookFetch = async (_url, init) => {
      const request = JSON.parse(String(init.body)).request as ReviewRequest;
      seen.push(request);
      const command = (request.object as { command?: string[] } | null)?.command ?? [];
      const answer = command[0] === "rm" ? { allowed: false, status: { message: "no rm in here" } } : {};
      const response = { uid: request.uid, allowed: true, ...answer };
      return Response.json({ apiVersion: "admission.k8s.io/v1", kind: "AdmissionReview", response });
    };
    const streams: string[] = [];
    const { call } = testServer({
      resources: RESOURCES,
      admission: [webhookAdmission({ fetch })],
      services: {
        podExec: async ({ kind }) => {
          streams.push(kind);
          return new Response("ok");
        },
      },
    });
    const PODS = "/api/v1/namespaces/default/pods";
    const pod = { metadata: { name: "p" }, spec: { containers: [{ name: "main", image: "nginx" }] } };
    expect((await call("POST", PODS, pod)).status).toBe(201);
    expect((await call("POST", `${PODS}/p/binding`, { target: { name: "n1" } })).status).toBe(201);
    const config = {
      metadata: { name: "connect" },
      webhooks: [
        {
          name: "connect.example.com",
          clientConfig: { url: "https://hooks.example.com/connect" },
          rules: [
            {
              operations: ["CONNECT"],
              apiGroups: [""],
              apiVersions: ["v1"],
              resources: ["pods/exec", "pods/portforward"],
            },
          ],
          sideEffects: "None",
          admissionReviewVersions: ["v1"],
        },
      ],
    };
    await call("POST", "/apis/admissionregistration.k8s.io/v1/validatingwebhookconfigurations", config);
    const ws = { Upgrade: "websocket" };
    const exec = await call(
      "GET",
      `${PODS}/p/exec?command=ls&command=-l&stdout=true&container=main`,
      undefined,
      ws,
    );
    expect(exec.status, exec.text).toBe(200);
    const refused = await call("GET", `${PODS}/p/exec?command=rm&command=-rf&stdout=true`, undefined, ws);
    expect(refused.status).toBe(400);
    expect(refused.body.message).toBe(
      'admission webhook "connect.example.com" denied the request: no rm in here',
    );
    await call("GET", `${PODS}/p/attach?stdout=true`, undefined, ws);
    await call("GET", `${PODS}/p/portforward?ports=8080`, undefined, ws);
    expect(streams).toEqual(["exec", "attach", "portforward"]);
    expect(seen.map((r) => `${r.operation} ${r.subResource}`)).toEqual([
      "CONNECT exec",
      "CONNECT exec",
      "CONNECT portforward",
    ]);
    expect(seen[0]).toMatchObject({
      kind: { group: "", version: "v1", kind: "PodExecOptions" },
      resource: { group: "", version: "v1", resource: "pods" },
      name: "p",
      namespace: "default",
      object: {
        kind: "PodExecOptions",
        apiVersion: "v1",
        stdout: true,
        container: "main",
        command: ["ls", "-l"],
      },
    });
    expect(seen[0].options).toBeUndefined();
    expect(seen[0].oldObject).toBeUndefined();
    expect(seen[2].object).toEqual({ kind: "PodPortForwardOptions", apiVersion: "v1", ports: [8080] });
  });
});
