/**
 * Every kind's defaulted and prepared sample object uses only fields its
 * schema knows: strict field validation must accept what our own defaults
 * write (a typo in a default would otherwise make every strict create fail).
 */
import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { RESOURCES } from "../kinds/index.ts";
import type { RequestContext } from "../registry/types.ts";
import { unknownFields } from "./index.ts";

const podSpec = {
  containers: [
    {
      name: "app",
      image: "nginx",
      ports: [{ containerPort: 80 }],
      env: [{ name: "N", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } }],
      livenessProbe: { httpGet: { path: "/", port: 80 } },
      readinessProbe: { tcpSocket: { port: 80 } },
      volumeMounts: [{ name: "cfg", mountPath: "/cfg" }],
      resources: { limits: { cpu: "1", memory: "1Gi" } },
    },
  ],
  initContainers: [{ name: "init", image: "busybox" }],
  volumes: [
    { name: "cfg", configMap: { name: "cfg" } },
    { name: "sec", secret: { secretName: "s" } },
    { name: "host", hostPath: { path: "/tmp" } },
  ],
};
const template = { metadata: { labels: { app: "x" } }, spec: podSpec };
const selector = { matchLabels: { app: "x" } };
const webhookSample = {
  name: "a.example.com",
  clientConfig: { service: { name: "s", namespace: "n" } },
  rules: [{ operations: ["CREATE"], apiGroups: [""], apiVersions: ["v1"], resources: ["pods"] }],
  sideEffects: "None",
  admissionReviewVersions: ["v1"],
};
const roleRef = { apiGroup: "rbac.authorization.k8s.io", kind: "ClusterRole", name: "view" };

/** One sample per resource (group/resource). */
const SAMPLES: Record<string, KubeObject> = {
  "/namespaces": {},
  "/pods": { spec: podSpec },
  "/nodes": {
    spec: { podCIDR: "10.244.0.0/24" },
    status: { conditions: [{ type: "Ready", status: "True" }] },
  },
  "/services": { spec: { type: "LoadBalancer", selector: { app: "x" }, ports: [{ port: 80 }] } },
  "/endpoints": { subsets: [{ addresses: [{ ip: "10.0.0.1" }], ports: [{ port: 80 }] }] },
  "/configmaps": { data: { a: "b" } },
  "/secrets": { stringData: { a: "b" } },
  "/serviceaccounts": { secrets: [{ name: "t" }] },
  "/events": { involvedObject: { kind: "Pod", name: "p" }, reason: "R", message: "m", type: "Normal" },
  "/replicationcontrollers": { spec: { template } },
  "/podtemplates": { template },
  "/persistentvolumeclaims": {
    spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage: "1Gi" } } },
  },
  "/persistentvolumes": {
    spec: { accessModes: ["ReadWriteOnce"], capacity: { storage: "1Gi" }, hostPath: { path: "/d" } },
  },
  "apps/deployments": { spec: { selector, template } },
  "apps/replicasets": { spec: { selector, template } },
  "apps/statefulsets": { spec: { selector, template, serviceName: "x" } },
  "apps/daemonsets": { spec: { selector, template } },
  "apps/controllerrevisions": { revision: 1, data: {} },
  "batch/jobs": { spec: { template: { ...template, spec: { ...podSpec, restartPolicy: "Never" } } } },
  "batch/cronjobs": {
    spec: {
      schedule: "@hourly",
      jobTemplate: { spec: { template: { ...template, spec: { ...podSpec, restartPolicy: "OnFailure" } } } },
    },
  },
  "storage.k8s.io/storageclasses": { provisioner: "rancher.io/local-path" },
  "apiextensions.k8s.io/customresourcedefinitions": {
    // A CRD's name is <plural>.<group>.
    metadata: { name: "crontabs.stable.example.com", uid: "u-1", labels: { app: "x" } },
    spec: {
      group: "stable.example.com",
      scope: "Namespaced",
      names: { plural: "crontabs", kind: "CronTab" },
      versions: [
        {
          name: "v1",
          served: true,
          storage: true,
          schema: { openAPIV3Schema: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
        },
      ],
    },
  },
  "coordination.k8s.io/leases": { spec: { holderIdentity: "h", leaseDurationSeconds: 10 } },
  "discovery.k8s.io/endpointslices": {
    addressType: "IPv4",
    endpoints: [{ addresses: ["10.0.0.1"] }],
    ports: [{ port: 80 }],
  },
  "events.k8s.io/events": {
    eventTime: "2024-01-01T00:00:00.000000Z",
    reportingController: "c",
    reportingInstance: "i",
    action: "A",
    reason: "R",
    type: "Normal",
  },
  "networking.k8s.io/networkpolicies": {
    spec: { podSelector: {}, egress: [{ ports: [{ port: 53 }] }], ingress: [{ ports: [{ port: 80 }] }] },
  },
  "node.k8s.io/runtimeclasses": { handler: "wasm" },
  "/limitranges": { spec: { limits: [{ type: "Container", max: { cpu: "1" }, min: { memory: "1Mi" } }] } },
  "/resourcequotas": { spec: { hard: { pods: "2" } } },
  "policy/poddisruptionbudgets": { spec: { minAvailable: 1, selector: { matchLabels: { app: "a" } } } },
  "scheduling.k8s.io/priorityclasses": { value: 1000, description: "d" },
  "admissionregistration.k8s.io/validatingwebhookconfigurations": { webhooks: [webhookSample] },
  "admissionregistration.k8s.io/mutatingwebhookconfigurations": { webhooks: [webhookSample] },
  "networking.k8s.io/ingresses": {
    spec: { defaultBackend: { service: { name: "web", port: { number: 80 } } } },
  },
  "networking.k8s.io/ingressclasses": { spec: { controller: "edgeplane.dev/ingress" } },
  "authentication.k8s.io/tokenreviews": { spec: { token: "t", audiences: ["a"] } },
  "rbac.authorization.k8s.io/roles": { rules: [{ apiGroups: [""], resources: ["pods"], verbs: ["get"] }] },
  "rbac.authorization.k8s.io/clusterroles": { rules: [{ nonResourceURLs: ["/healthz"], verbs: ["get"] }] },
  "rbac.authorization.k8s.io/rolebindings": { roleRef, subjects: [{ kind: "ServiceAccount", name: "sa" }] },
  "rbac.authorization.k8s.io/clusterrolebindings": {
    roleRef,
    subjects: [{ kind: "ServiceAccount", name: "sa", namespace: "d" }],
  },
  "authorization.k8s.io/selfsubjectaccessreviews": {
    spec: {
      resourceAttributes: {
        namespace: "d",
        verb: "get",
        group: "apps",
        resource: "deployments",
        subresource: "scale",
        name: "x",
      },
    },
  },
  "authorization.k8s.io/selfsubjectrulesreviews": { spec: { namespace: "d" } },
  "authorization.k8s.io/subjectaccessreviews": {
    spec: { user: "u", groups: ["g"], uid: "1", nonResourceAttributes: { path: "/healthz", verb: "get" } },
  },
  "authorization.k8s.io/localsubjectaccessreviews": {
    spec: { user: "u", resourceAttributes: { namespace: "default", verb: "get", resource: "pods" } },
  },
  "authentication.k8s.io/selfsubjectreviews": {},
  "autoscaling/horizontalpodautoscalers": {
    spec: { scaleTargetRef: { kind: "Deployment", name: "web" }, maxReplicas: 3 },
  },
  "metrics.k8s.io/nodes": { timestamp: "2024-01-01T00:00:00Z", window: "15s", usage: { cpu: "1n" } },
  "metrics.k8s.io/pods": { timestamp: "2024-01-01T00:00:00Z", window: "15s", containers: [] },
};

const ctx: RequestContext = {
  user: "admin",
  groups: [],
  now: new Date("2024-01-01T00:00:00Z"),
  dryRun: false,
};

describe("defaults and prepareForCreate only write fields the schemas know", () => {
  for (const info of RESOURCES) {
    it(`${info.resource}.${info.group || "core"}`, () => {
      const sample = SAMPLES[`${info.group}/${info.resource}`];
      expect(sample, "add a sample for this resource").toBeDefined();
      const object: KubeObject = {
        apiVersion: info.group ? `${info.group}/${info.version}` : info.version,
        kind: info.kind,
        metadata: {
          name: "x",
          namespace: info.namespaced ? "default" : undefined,
          uid: "u-1",
          labels: { app: "x" },
        },
        ...structuredClone(sample),
      };
      info.strategy.defaults?.(object);
      info.strategy.prepareForCreate?.(object, ctx);
      expect(info.strategy.validate(object, ctx)).toEqual([]);
      expect(unknownFields(info.model, JSON.parse(JSON.stringify(object)))).toEqual([]);
    });
  }
});
