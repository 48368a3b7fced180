/** The pod spec → runtime config translation, without a runtime: what the states hand to createContainer/runSandbox. */
import { describe, expect, it } from "vitest";
import { containerConfig, containerSandboxConfig, sandboxConfig } from "./container-config.ts";
import type { PreparedPod } from "./context.ts";
import type { Container, Pod } from "./k8s.ts";

const app: Container = {
  name: "app",
  image: "busybox:1.36",
  command: ["sh", "-c"],
  args: ["echo hi"],
  workingDir: "/srv",
  ports: [{ containerPort: 8080, hostPort: 80, name: "http" }],
  resources: { limits: { memory: "64Mi", cpu: "500m" }, requests: { memory: "1G", cpu: "0.25" } },
  securityContext: { runAsUser: 1000, readOnlyRootFilesystem: true },
};

const pod = (spec: Partial<Pod["spec"]> = {}): Pod =>
  ({
    metadata: { name: "web", namespace: "prod", uid: "u1", labels: { app: "web" } },
    spec: { containers: [app], ...spec },
  }) as Pod;

const prepared: PreparedPod = {
  env: (c) => ({ NAME: c.name }),
  mounts: (c) => [{ hostPath: `/pods/u1/volumes/${c.name}`, containerPath: "/data", readOnly: false }],
};

describe("containerConfig", () => {
  it("resolves command, args, env, mounts, resources, ports, log path and security context", () => {
    const p = pod({ securityContext: { runAsUser: 1, runAsGroup: 2 } } as Partial<Pod["spec"]>);
    expect(containerConfig(p, app, prepared, "/pods/u1", 3)).toEqual({
      name: "app",
      image: "busybox:1.36",
      command: ["sh", "-c"],
      args: ["echo hi"],
      env: { NAME: "app" },
      workingDir: "/srv",
      mounts: [{ hostPath: "/pods/u1/volumes/app", containerPath: "/data", readOnly: false }],
      limits: { memoryBytes: 64 * 1024 * 1024, cpuMillis: 500 },
      requests: { memoryBytes: 1e9, cpuMillis: 250 },
      ports: [{ containerPort: 8080, protocol: "TCP", name: "http" }],
      logPath: "/pods/u1/logs/app/3.log",
      // The container's runAsUser wins over the pod's; the pod's runAsGroup fills the gap.
      securityContext: {
        runAsUser: 1000,
        runAsGroup: 2,
        readOnlyRootFilesystem: true,
        privileged: undefined,
        capabilities: undefined,
      },
      tty: undefined,
      stdin: undefined,
    });
  });

  it("leaves absent resources and command undefined or empty rather than zero", () => {
    const bare: Container = { name: "bare" };
    const config = containerConfig(pod(), bare, prepared, "/p", 0);
    expect([config.image, config.command, config.args, config.limits, config.requests]).toEqual([
      "",
      [],
      [],
      { memoryBytes: undefined, cpuMillis: undefined },
      { memoryBytes: undefined, cpuMillis: undefined },
    ]);
  });
});

describe("sandboxConfig", () => {
  it("collects every container's ports, marks projected volumes read-only, and keeps the default DNS", () => {
    const p = pod({
      hostname: "h1",
      volumes: [
        { name: "cfg", configMap: { name: "c" } },
        { name: "scratch", emptyDir: {} },
      ],
    } as Partial<Pod["spec"]>);
    expect(sandboxConfig(p, "/pods/u1")).toEqual({
      uid: "u1",
      namespace: "prod",
      name: "web",
      hostname: "h1",
      dns: undefined,
      labels: { app: "web" },
      annotations: {},
      ports: [{ containerPort: 8080, hostPort: 80, protocol: "TCP", name: "http" }],
      podDir: "/pods/u1",
      hostNetwork: false,
      readOnlyVolumes: ["cfg"],
    });
  });

  it("uses the pod's dnsConfig only with dnsPolicy None", () => {
    const dnsConfig = {
      nameservers: ["1.1.1.1"],
      searches: ["svc"],
      options: [{ name: "ndots", value: "2" }],
    };
    const none = pod({ dnsPolicy: "None", dnsConfig } as Partial<Pod["spec"]>);
    const first = pod({ dnsPolicy: "ClusterFirst", dnsConfig } as Partial<Pod["spec"]>);
    expect(sandboxConfig(none, "/p").dns).toEqual({
      servers: ["1.1.1.1"],
      searches: ["svc"],
      options: ["ndots:2"],
    });
    expect(sandboxConfig(first, "/p").dns).toBeUndefined();
  });

  it("gives createContainer the pod's identity without ports", () => {
    expect(containerSandboxConfig(pod(), "/p")).toEqual({
      uid: "u1",
      namespace: "prod",
      name: "web",
      hostname: "web",
      labels: { app: "web" },
      annotations: {},
      ports: [],
      podDir: "/p",
    });
  });
});
