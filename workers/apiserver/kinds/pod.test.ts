import { describe, expect, it } from "vitest";
import type { KubeObject } from "../../client/kube.ts";
import { runRegistryTester } from "../registry/tester.ts";
import type { RequestContext } from "../registry/types.ts";
import { findResource, RESOURCES } from "./index.ts";
import { podStatusCells } from "./pod-print.ts";

// Strategies through their table rows, as the registry calls them: the fixtures are request bodies (KubeObject).
const podStrategy = findResource("", "pods")!.strategy;

const pods = findResource("", "pods")!;
const ctx: RequestContext = {
  user: "admin",
  groups: [],
  now: new Date("2024-01-01T00:10:00Z"),
  dryRun: false,
};

function pod(name: string, spec: Record<string, unknown> = {}): KubeObject {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default", labels: { app: name } },
    spec: {
      containers: [{ name: "main", image: "nginx:1.25", ports: [{ containerPort: 80, name: "http" }] }],
      ...spec,
    },
  };
}

runRegistryTester(
  pods,
  {
    valid: [
      pod("web"),
      pod("with-volumes", {
        volumes: [
          { name: "cfg", configMap: { name: "cfg" } },
          { name: "scratch", emptyDir: {} },
        ],
        containers: [
          {
            name: "app",
            image: "example.com/app",
            env: [
              { name: "MODE", value: "prod" },
              { name: "NODE", valueFrom: { fieldRef: { fieldPath: "spec.nodeName" } } },
            ],
            volumeMounts: [
              { name: "cfg", mountPath: "/etc/cfg" },
              { name: "scratch", mountPath: "/tmp" },
            ],
            resources: { requests: { cpu: "100m", memory: "64Mi" }, limits: { cpu: "1", memory: "128Mi" } },
          },
        ],
        initContainers: [{ name: "init", image: "busybox", command: ["true"] }],
        restartPolicy: "OnFailure",
        tolerations: [{ key: "k", operator: "Equal", value: "v", effect: "NoSchedule" }],
      }),
    ],
    invalid: [
      { object: pod("no-containers", { containers: [] }), fields: ["spec.containers"] },
      {
        object: pod("many-errors", {
          containers: [
            { name: "Bad_Name", image: "" },
            { name: "dup", image: "x", ports: [{ containerPort: 70000, protocol: "ICMP" }] },
            {
              name: "dup",
              image: "x",
              imagePullPolicy: "Sometimes",
              volumeMounts: [{ name: "missing", mountPath: "/m" }],
            },
          ],
          restartPolicy: "Sometimes",
          dnsPolicy: "Nope",
          volumes: [{ name: "v" }],
        }),
        fields: [
          "spec.containers[0].name",
          "spec.containers[0].image",
          "spec.containers[1].ports[0].containerPort",
          "spec.containers[1].ports[0].protocol",
          "spec.containers[2].name",
          "spec.containers[2].imagePullPolicy",
          "spec.containers[2].volumeMounts[0].name",
          "spec.restartPolicy",
          "spec.dnsPolicy",
          "spec.volumes[0]",
        ],
      },
      {
        object: pod("bad-probes", {
          containers: [
            {
              name: "c",
              image: "x",
              livenessProbe: { periodSeconds: 0 },
              readinessProbe: { httpGet: { path: "/", port: 8080 }, tcpSocket: { port: 8080 } },
              startupProbe: { exec: { command: [] } },
              lifecycle: { preStop: { sleep: { seconds: 1 } }, postStart: {} },
            },
          ],
          affinity: {
            nodeAffinity: {
              requiredDuringSchedulingIgnoredDuringExecution: {
                nodeSelectorTerms: [
                  {
                    matchExpressions: [
                      { key: "zone", operator: "Near" },
                      { key: "gpu", operator: "In" },
                    ],
                  },
                ],
              },
            },
          },
        }),
        fields: [
          "spec.containers[0].livenessProbe",
          "spec.containers[0].livenessProbe.periodSeconds",
          "spec.containers[0].readinessProbe.tcpSocket",
          "spec.containers[0].startupProbe.exec.command",
          "spec.containers[0].lifecycle.postStart",
          "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[0].operator",
          "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[0].matchExpressions[1].values",
        ],
      },
      {
        object: pod("bad-resources", {
          containers: [
            {
              name: "c",
              image: "x",
              resources: { requests: { cpu: "2" }, limits: { cpu: "1", memory: "lots" } },
            },
          ],
        }),
        fields: ["spec.containers[0].resources.requests[cpu]", "spec.containers[0].resources.limits[memory]"],
      },
    ],
  },
  RESOURCES,
);

describe("pod strategy", () => {
  it("applies kube's defaults to the pod and its containers", () => {
    const p = pod("d", {
      containers: [
        { name: "a", image: "nginx" },
        { name: "b", image: "nginx:1.2", ports: [{ containerPort: 1 }] },
      ],
    });
    podStrategy.defaults?.(p);
    podStrategy.prepareForCreate?.(p, ctx);
    const spec = p.spec as Record<string, unknown> & { containers: Record<string, unknown>[] };
    expect(spec).toMatchObject({
      restartPolicy: "Always",
      dnsPolicy: "ClusterFirst",
      terminationGracePeriodSeconds: 30,
      schedulerName: "default-scheduler",
      serviceAccountName: "default",
      enableServiceLinks: true,
    });
    expect(spec.containers[0]).toMatchObject({
      imagePullPolicy: "Always",
      terminationMessagePath: "/dev/termination-log",
      terminationMessagePolicy: "File",
    });
    expect(spec.containers[1].imagePullPolicy).toBe("IfNotPresent");
    expect(spec.containers[1].ports).toEqual([{ containerPort: 1, protocol: "TCP" }]);
    expect(p.status).toEqual({ phase: "Pending", qosClass: "BestEffort" });
  });

  it("allows only image, activeDeadlineSeconds and added tolerations to change", () => {
    const old = pod("u");
    podStrategy.defaults?.(old);
    const images = structuredClone(old);
    (images.spec as { containers: { image: string }[] }).containers[0].image = "nginx:1.26";
    expect(podStrategy.validateUpdate?.(images, old, ctx)).toEqual([]);
    const moved = structuredClone(old);
    (moved.spec as Record<string, unknown>).nodeName = "n1";
    const errs = podStrategy.validateUpdate?.(moved, old, ctx) ?? [];
    expect(errs.map((e) => [e.field, e.reason])).toEqual([["spec", "FieldValueForbidden"]]);
    // pods/binding may set the node once.
    expect(podStrategy.validateUpdate?.(moved, old, { ...ctx, subresource: "binding" })).toEqual([]);
  });

  it("uses the pod's grace period, or 0 when it never reached a node", () => {
    const p = pod("g", { terminationGracePeriodSeconds: 45 });
    expect(podStrategy.gracePeriod?.(p, undefined)).toBe(0);
    (p.spec as Record<string, unknown>).nodeName = "n1";
    expect(podStrategy.gracePeriod?.(p, undefined)).toBe(45);
    expect(podStrategy.gracePeriod?.(p, 5)).toBe(5);
    p.status = { phase: "Succeeded" };
    expect(podStrategy.gracePeriod?.(p, undefined)).toBe(0);
  });

  it("selects by node, phase and the other fields kubectl uses", () => {
    const p = pod("f", { nodeName: "n1" });
    p.status = { phase: "Running", podIP: "10.244.0.5" };
    const sel = podStrategy.fieldSelectors!;
    expect(sel["spec.nodeName"](p)).toBe("n1");
    expect(sel["status.phase"](p)).toBe("Running");
    expect(sel["status.podIP"](p)).toBe("10.244.0.5");
    expect(sel["spec.nodeName"](pod("unscheduled"))).toBe("");
  });
});

describe("pod printing (kubectl's printPod)", () => {
  const now = new Date("2024-01-01T01:00:00Z");
  const base = (status: Record<string, unknown>, spec: Record<string, unknown> = {}) => {
    const p = pod("p", spec);
    p.metadata!.creationTimestamp = "2024-01-01T00:00:00Z";
    p.status = status;
    return p;
  };

  it("prints Running with ready counts and restarts", () => {
    const p = base({
      phase: "Running",
      containerStatuses: [
        {
          name: "main",
          ready: true,
          restartCount: 2,
          state: { running: {} },
          lastState: { terminated: { finishedAt: "2024-01-01T00:55:00Z" } },
        },
      ],
    });
    expect(podStatusCells(p, now)).toEqual(["1/1", "Running", "2 (5m ago)"]);
    expect(podStrategy.row(p, now)).toEqual([
      "1/1",
      "Running",
      "2 (5m ago)",
      "60m",
      "<none>",
      "<none>",
      "<none>",
      "<none>",
    ]);
  });

  it("prints waiting reasons, Completed, init progress and Terminating", () => {
    expect(
      podStatusCells(
        base({
          phase: "Running",
          containerStatuses: [
            { name: "main", state: { waiting: { reason: "CrashLoopBackOff" } }, restartCount: 4 },
          ],
        }),
        now,
      )[1],
    ).toBe("CrashLoopBackOff");
    expect(
      podStatusCells(
        base({
          phase: "Succeeded",
          containerStatuses: [{ name: "main", state: { terminated: { reason: "Completed", exitCode: 0 } } }],
        }),
        now,
      )[1],
    ).toBe("Completed");
    expect(
      podStatusCells(
        base({
          phase: "Failed",
          containerStatuses: [{ name: "main", state: { terminated: { exitCode: 3 } } }],
        }),
        now,
      )[1],
    ).toBe("ExitCode:3");
    const init = base(
      {
        phase: "Pending",
        initContainerStatuses: [
          { name: "i1", state: { terminated: { exitCode: 0 } } },
          { name: "i2", state: { running: {} } },
        ],
      },
      {
        initContainers: [
          { name: "i1", image: "x" },
          { name: "i2", image: "x" },
        ],
      },
    );
    expect(podStatusCells(init, now)[1]).toBe("Init:1/2");
    const crashInit = base(
      {
        phase: "Pending",
        initContainerStatuses: [{ name: "i1", state: { waiting: { reason: "CrashLoopBackOff" } } }],
      },
      { initContainers: [{ name: "i1", image: "x" }] },
    );
    expect(podStatusCells(crashInit, now)[1]).toBe("Init:CrashLoopBackOff");
    const terminating = base({ phase: "Running" });
    terminating.metadata!.deletionTimestamp = "2024-01-01T00:59:00Z";
    expect(podStatusCells(terminating, now)[1]).toBe("Terminating");
    expect(podStatusCells(base({ phase: "Pending" }), now)).toEqual(["0/1", "Pending", "0"]);
  });
});
