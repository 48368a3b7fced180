/**
 * An ordinary application bundle, applied as a new user would (issue 23's
 * first check): one `kubectl apply -f` of a Namespace, PriorityClass,
 * ResourceQuota, LimitRange, Deployment, Service, PodDisruptionBudget,
 * NetworkPolicy, Ingress and ValidatingWebhookConfiguration against the real
 * control plane. Every object is created, a second apply changes nothing
 * (server defaults cause no diff), and the kinds act on each other: the
 * Deployment's pods get the class's priority and the LimitRange's defaults,
 * and the quota and the budget count them. No node: the pods stay Pending,
 * which is all the admission plugins and controllers need.
 */
import { afterAll, beforeAll, expect, it } from "vitest";
import { until } from "../../node-agent/src/testing/agent-process.ts";
import { type ControlPlane, startControlPlane } from "./harness.ts";

const BUNDLE = `apiVersion: v1
kind: Namespace
metadata:
  name: shop
---
apiVersion: scheduling.k8s.io/v1
kind: PriorityClass
metadata:
  name: shop-high
value: 100000
description: the shop's front end
---
apiVersion: v1
kind: ResourceQuota
metadata:
  name: shop-quota
  namespace: shop
spec:
  hard:
    pods: "10"
    requests.cpu: "2"
    requests.memory: 2Gi
---
apiVersion: v1
kind: LimitRange
metadata:
  name: shop-limits
  namespace: shop
spec:
  limits:
  - type: Container
    default: { cpu: 200m, memory: 128Mi }
    defaultRequest: { cpu: 100m, memory: 64Mi }
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      priorityClassName: shop-high
      containers:
      - name: web
        image: busybox:1.36
        command: ["httpd", "-f", "-p", "8080"]
        ports:
        - { name: http, containerPort: 8080 }
---
apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: { app: web }
  ports:
  - { name: http, port: 80, targetPort: http }
---
apiVersion: policy/v1
kind: PodDisruptionBudget
metadata:
  name: web
  namespace: shop
spec:
  minAvailable: 1
  selector:
    matchLabels: { app: web }
---
apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: web-from-shop
  namespace: shop
spec:
  podSelector:
    matchLabels: { app: web }
  policyTypes: [Ingress]
  ingress:
  - from:
    - podSelector: {}
    ports:
    - { protocol: TCP, port: http }
---
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: web
  namespace: shop
spec:
  rules:
  - host: shop.local
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: { name: web, port: { name: http } }
---
apiVersion: admissionregistration.k8s.io/v1
kind: ValidatingWebhookConfiguration
metadata:
  name: shop-policy
webhooks:
- name: orders.shop.example.com
  clientConfig:
    url: https://127.0.0.1:9/validate
  rules:
  - operations: [CREATE]
    apiGroups: [""]
    apiVersions: [v1]
    resources: [configmaps]
    # rules is an atomic list: a default the server adds inside it (scope) would make every apply differ, as in kube.
    scope: "*"
  namespaceSelector:
    matchLabels: { shop-webhooks: "on" }
  failurePolicy: Ignore
  sideEffects: None
  admissionReviewVersions: [v1]
`;

const OBJECTS = [
  "namespace/shop",
  "priorityclass.scheduling.k8s.io/shop-high",
  "resourcequota/shop-quota",
  "limitrange/shop-limits",
  "deployment.apps/web",
  "service/web",
  "poddisruptionbudget.policy/web",
  "networkpolicy.networking.k8s.io/web-from-shop",
  "ingress.networking.k8s.io/web",
  "validatingwebhookconfiguration.admissionregistration.k8s.io/shop-policy",
];

interface PodJson {
  spec: { priority?: number; containers: { resources?: { requests?: Record<string, string> } }[] };
}

let cp: ControlPlane;

beforeAll(async () => {
  cp = await startControlPlane();
}, 120_000);

afterAll(async () => {
  await cp?.stop();
});

it("applies a bundle of every kind an application ships, idempotently, and the kinds act on each other", async () => {
  const first = await cp.kubectl(["apply", "-f", "-"], { input: BUNDLE });
  expect(first.code, first.stderr).toBe(0);
  for (const object of OBJECTS) expect(first.stdout).toContain(`${object} created`);

  const again = await cp.kubectl(["apply", "-f", "-"], { input: BUNDLE });
  expect(again.code, again.stderr).toBe(0);
  for (const object of OBJECTS) expect(again.stdout).toContain(`${object} unchanged`);

  // The Deployment's pods: the class's priority (Priority admission) and the LimitRange's defaults (LimitRanger).
  const pods = await until(
    async () => {
      const r = await cp.fetch("/api/v1/namespaces/shop/pods?labelSelector=app%3Dweb");
      const items = ((await r.json()) as { items: PodJson[] }).items;
      return items.length === 2 && items;
    },
    60_000,
    "the Deployment's two pods",
  );
  for (const pod of pods) {
    expect(pod.spec.priority).toBe(100000);
    expect(pod.spec.containers[0].resources?.requests).toEqual({ cpu: "100m", memory: "64Mi" });
  }
  // The quota counts them (its controller), and so does the budget (the disruption controller).
  await until(
    async () => {
      const used = await cp.kubectl([
        "get",
        "resourcequota/shop-quota",
        "-n",
        "shop",
        "-o",
        "jsonpath={.status.used.pods} {.status.used.requests\\.cpu}",
      ]);
      return used.stdout === "2 200m";
    },
    60_000,
    "quota usage of two pods",
  );
  await until(
    async () => {
      const pdb = await cp.kubectl(["get", "pdb/web", "-n", "shop", "-o", "jsonpath={.status.expectedPods}"]);
      return pdb.stdout === "2";
    },
    60_000,
    "the budget's expected pods",
  );
  // kubectl prints each kind's own table.
  const tables = await cp.kubectl(["get", "pdb,quota,limits,netpol,ing", "-n", "shop"]);
  expect(tables.code, tables.stderr).toBe(0);
  for (const header of ["MIN AVAILABLE", "REQUEST", "CREATED AT", "POD-SELECTOR", "HOSTS"])
    expect(tables.stdout).toContain(header);
  const cluster = await cp.kubectl([
    "get",
    "priorityclass/shop-high",
    "validatingwebhookconfiguration/shop-policy",
  ]);
  expect(cluster.code, cluster.stderr).toBe(0);
  expect(cluster.stdout).toMatch(/shop-high\s+100000\s+false/);
  expect(cluster.stdout).toMatch(/shop-policy\s+1\s/);
}, 180_000);
