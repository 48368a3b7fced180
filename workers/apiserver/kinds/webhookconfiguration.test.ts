/** Validating/MutatingWebhookConfiguration: registry-tester examples with kube's field errors, defaults and the table. */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import type { RequestContext } from "../registry/types.ts";
import { findResource, RESOURCES } from "./index.ts";

const GROUP = "admissionregistration.k8s.io";
const validating = findResource(GROUP, "validatingwebhookconfigurations")!;
const mutating = findResource(GROUP, "mutatingwebhookconfigurations")!;

const hook = (name: string, extra: Record<string, unknown> = {}) => ({
  name,
  clientConfig: { url: "https://hooks.example.com/check", caBundle: btoa("not checked here") },
  rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
  sideEffects: "None",
  admissionReviewVersions: ["v1"],
  ...extra,
});
const config = (kind: string, name: string, webhooks: unknown[]): KubeObject => ({
  kind,
  metadata: { name },
  webhooks,
});

const invalidHooks = [
  hook(""),
  hook("two.segments"),
  hook("Bad_Name.example.com"),
  hook("dup.example.com"),
  hook("dup.example.com", {
    sideEffects: "Some",
    timeoutSeconds: 31,
    admissionReviewVersions: ["v1beta1"],
    failurePolicy: "Maybe",
    matchPolicy: "Sometimes",
    clientConfig: { url: "http://u:p@hooks.example.com/x?q=1#frag" },
    rules: [
      {
        operations: ["*", "CREATE"],
        apiGroups: [],
        apiVersions: [""],
        resources: ["*", "pods", "*/*"],
        scope: "Global",
      },
      { operations: ["PATCH"], apiGroups: ["*"], apiVersions: ["*"], resources: ["pods/*", "pods/status"] },
    ],
  }),
  hook("noside.example.com", {
    sideEffects: undefined,
    admissionReviewVersions: [],
    timeoutSeconds: 0,
    clientConfig: {},
  }),
  hook("both.example.com", {
    clientConfig: { url: "https://a.example.com", service: { name: "s", namespace: "n" } },
  }),
  hook("svc.example.com", {
    clientConfig: { service: { name: "", namespace: "", port: 70000, path: "no-slash//x" } },
  }),
  hook("cel.example.com", {
    matchConditions: [
      { name: "", expression: "" },
      { name: "a", expression: "1 +" },
      { name: "a", expression: "authorizer.group('').check()" },
      { name: "not bool", expression: "'a string'" },
    ],
  }),
  hook("selectors.example.com", {
    namespaceSelector: { matchExpressions: [{ key: "a", operator: "In" }] },
    objectSelector: { matchLabels: { "bad key!": "v" } },
  }),
  hook("many.example.com", {
    matchConditions: Array.from({ length: 65 }, (_, i) => ({ name: `c${i}`, expression: "true" })),
  }),
];
const invalidFields = [
  "webhooks[0].name",
  "webhooks[1].name",
  "webhooks[2].name",
  "webhooks[4].name",
  "webhooks[4].sideEffects",
  "webhooks[4].timeoutSeconds",
  "webhooks[4].admissionReviewVersions",
  "webhooks[4].failurePolicy",
  "webhooks[4].matchPolicy",
  "webhooks[4].clientConfig.url",
  "webhooks[4].clientConfig.url",
  "webhooks[4].clientConfig.url",
  "webhooks[4].clientConfig.url",
  "webhooks[4].rules[0].operations",
  "webhooks[4].rules[0].apiGroups",
  "webhooks[4].rules[0].apiVersions[0]",
  "webhooks[4].rules[0].resources",
  "webhooks[4].rules[0].resources",
  "webhooks[4].rules[0].scope",
  "webhooks[4].rules[1].operations[0]",
  "webhooks[4].rules[1].resources[1]",
  "webhooks[5].sideEffects",
  "webhooks[5].admissionReviewVersions",
  "webhooks[5].timeoutSeconds",
  "webhooks[5].clientConfig",
  "webhooks[6].clientConfig",
  "webhooks[7].clientConfig.service.name",
  "webhooks[7].clientConfig.service.namespace",
  "webhooks[7].clientConfig.service.port",
  "webhooks[7].clientConfig.service.path",
  "webhooks[7].clientConfig.service.path",
  "webhooks[8].matchConditions[0].name",
  "webhooks[8].matchConditions[0].expression",
  "webhooks[8].matchConditions[1].expression",
  "webhooks[8].matchConditions[2].name",
  "webhooks[8].matchConditions[2].expression",
  "webhooks[8].matchConditions[3].name",
  "webhooks[8].matchConditions[3].expression",
  "webhooks[9].namespaceSelector.matchExpressions[0].values",
  "webhooks[9].objectSelector.matchLabels",
  "webhooks[10].matchConditions",
];

for (const [info, kind] of [
  [validating, "ValidatingWebhookConfiguration"],
  [mutating, "MutatingWebhookConfiguration"],
] as const) {
  runRegistryTester(
    info,
    {
      valid: [
        config(kind, "minimal", [hook("pods.policy.example.com")]),
        config(kind, "full", [
          hook("svc.policy.example.com", {
            clientConfig: { service: { name: "hook", namespace: "system", path: "/validate/pods" } },
            rules: [
              {
                operations: ["*"],
                apiGroups: ["*"],
                apiVersions: ["*"],
                resources: ["*/*"],
                scope: "Namespaced",
              },
            ],
            failurePolicy: "Ignore",
            matchPolicy: "Exact",
            sideEffects: "NoneOnDryRun",
            timeoutSeconds: 30,
            admissionReviewVersions: ["v1", "v1beta1"],
            namespaceSelector: { matchExpressions: [{ key: "env", operator: "NotIn", values: ["prod"] }] },
            objectSelector: { matchLabels: { app: "web" } },
            matchConditions: [
              { name: "not-system", expression: "!request.userInfo.username.startsWith('system:')" },
              { name: "example.com/has-labels", expression: "has(object.metadata.labels)" },
            ],
          }),
          hook("url.policy.example.com.", {
            rules: [
              {
                operations: ["CREATE", "UPDATE"],
                apiGroups: ["apps"],
                apiVersions: ["v1"],
                resources: ["*", "deployments/scale"],
              },
            ],
          }),
        ]),
        config(kind, "empty", []),
      ],
      invalid: [
        {
          object: config(kind, "bad", invalidHooks),
          fields: invalidFields,
        },
      ],
    },
    RESOURCES,
  );
}

describe("webhook configurations", () => {
  it("default as kube does", () => {
    for (const info of [validating, mutating]) {
      const object = config(info.kind, "d", [
        hook("d.example.com", { clientConfig: { service: { name: "s", namespace: "n" } } }),
      ]);
      info.strategy.defaults?.(object);
      expect((object.webhooks as unknown[])[0]).toEqual({
        ...hook("d.example.com"),
        clientConfig: { service: { name: "s", namespace: "n", port: 443 } },
        rules: [
          { operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"], scope: "*" },
        ],
        failurePolicy: "Fail",
        matchPolicy: "Equivalent",
        namespaceSelector: {},
        objectSelector: {},
        timeoutSeconds: 10,
        ...(info === mutating ? { reinvocationPolicy: "Never" } : {}),
      });
    }
  });

  it("print NAME WEBHOOKS AGE, and warn that a service reference cannot be called", () => {
    const object = config("ValidatingWebhookConfiguration", "t", [
      hook("a.example.com"),
      hook("b.example.com"),
    ]);
    expect(validating.strategy.columns.map((c) => c.name)).toEqual(["Webhooks"]);
    expect(validating.strategy.row(object, new Date())).toEqual([2]);
    const ctx = { warnings: [] } as unknown as RequestContext;
    const svc = config("MutatingWebhookConfiguration", "s", [
      hook("s.example.com", { clientConfig: { service: { name: "s", namespace: "n" } } }),
    ]);
    mutating.strategy.prepareForCreate?.(svc, ctx);
    expect(ctx.warnings).toEqual([
      'webhooks[0].clientConfig.service: this server calls webhooks by clientConfig.url only; calls to "s.example.com" fail and its failurePolicy applies',
    ]);
  });
});
