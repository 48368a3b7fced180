/** The pod spec → runtime config translation, without a runtime: what the states hand to createContainer/runSandbox. */
import { describe, expect, it } from "vitest";
import {
  containerConfig,
  containerSandboxConfig,
  parseResolvConf,
  sandboxConfig,
  serviceEnv,
} from "./container-config.ts";
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

describe("resolv.conf as the kubelet writes it", () => {
  const cluster = {
    servers: ["10.96.0.10"],
    domain: "cluster.local",
    host: { servers: ["192.168.1.1"], searches: ["corp.example"], options: ["edns0"] },
  };

  it("gives ClusterFirst pods the cluster DNS, the namespace search path and ndots:5", () => {
    expect(sandboxConfig(pod(), "/p", cluster).dns).toEqual({
      servers: ["10.96.0.10"],
      searches: ["prod.svc.cluster.local", "svc.cluster.local", "cluster.local", "corp.example"],
      options: ["ndots:5"],
    });
  });

  it("falls back to the host's resolv.conf for Default and for ClusterFirst on the host network", () => {
    const host = { servers: ["192.168.1.1"], searches: ["corp.example"], options: ["edns0"] };
    expect(sandboxConfig(pod({ dnsPolicy: "Default" } as Partial<Pod["spec"]>), "/p", cluster).dns).toEqual(
      host,
    );
    expect(sandboxConfig(pod({ hostNetwork: true } as Partial<Pod["spec"]>), "/p", cluster).dns).toEqual(
      host,
    );
    const withHostNet = pod({ hostNetwork: true, dnsPolicy: "ClusterFirstWithHostNet" } as Partial<
      Pod["spec"]
    >);
    expect(sandboxConfig(withHostNet, "/p", cluster).dns?.servers).toEqual(["10.96.0.10"]);
  });

  it("merges dnsConfig: servers and searches appended once, options replaced by name", () => {
    const p = pod({
      dnsConfig: {
        nameservers: ["1.1.1.1", "10.96.0.10"],
        searches: ["extra.example", "cluster.local"],
        options: [{ name: "ndots", value: "2" }, { name: "single-request" }],
      },
    } as Partial<Pod["spec"]>);
    expect(sandboxConfig(p, "/p", cluster).dns).toEqual({
      servers: ["10.96.0.10", "1.1.1.1"],
      searches: [
        "prod.svc.cluster.local",
        "svc.cluster.local",
        "cluster.local",
        "corp.example",
        "extra.example",
      ],
      options: ["ndots:2", "single-request"],
    });
  });

  it("reads the host's resolv.conf", () => {
    expect(
      parseResolvConf("# c\nnameserver 1.2.3.4\nsearch a.example b.example\noptions ndots:1 edns0\n"),
    ).toEqual({
      servers: ["1.2.3.4"],
      searches: ["a.example", "b.example"],
      options: ["ndots:1", "edns0"],
    });
  });
});

describe("Service environment variables", () => {
  const services = [
    {
      metadata: { name: "kubernetes", namespace: "default" },
      spec: { clusterIP: "10.96.0.1", ports: [{ name: "https", port: 443, protocol: "TCP" }] },
    },
    {
      metadata: { name: "redis-main", namespace: "prod" },
      spec: {
        clusterIP: "10.96.0.20",
        ports: [{ port: 6379 }, { name: "metrics", port: 9121, protocol: "TCP" }],
      },
    },
    { metadata: { name: "headless", namespace: "prod" }, spec: { clusterIP: "None", ports: [{ port: 80 }] } },
    {
      metadata: { name: "elsewhere", namespace: "other" },
      spec: { clusterIP: "10.96.0.30", ports: [{ port: 80 }] },
    },
  ];

  it("injects KUBERNETES_* and the namespace's Services in kubelet's names", () => {
    expect(serviceEnv(pod(), services)).toEqual({
      KUBERNETES_SERVICE_HOST: "10.96.0.1",
      KUBERNETES_SERVICE_PORT: "443",
      KUBERNETES_SERVICE_PORT_HTTPS: "443",
      KUBERNETES_PORT: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP: "tcp://10.96.0.1:443",
      KUBERNETES_PORT_443_TCP_PROTO: "tcp",
      KUBERNETES_PORT_443_TCP_PORT: "443",
      KUBERNETES_PORT_443_TCP_ADDR: "10.96.0.1",
      REDIS_MAIN_SERVICE_HOST: "10.96.0.20",
      REDIS_MAIN_SERVICE_PORT: "6379",
      REDIS_MAIN_SERVICE_PORT_METRICS: "9121",
      REDIS_MAIN_PORT: "tcp://10.96.0.20:6379",
      REDIS_MAIN_PORT_6379_TCP: "tcp://10.96.0.20:6379",
      REDIS_MAIN_PORT_6379_TCP_PROTO: "tcp",
      REDIS_MAIN_PORT_6379_TCP_PORT: "6379",
      REDIS_MAIN_PORT_6379_TCP_ADDR: "10.96.0.20",
      REDIS_MAIN_PORT_9121_TCP: "tcp://10.96.0.20:9121",
      REDIS_MAIN_PORT_9121_TCP_PROTO: "tcp",
      REDIS_MAIN_PORT_9121_TCP_PORT: "9121",
      REDIS_MAIN_PORT_9121_TCP_ADDR: "10.96.0.20",
    });
  });

  it("keeps only KUBERNETES_* with enableServiceLinks: false", () => {
    const env = serviceEnv(pod({ enableServiceLinks: false } as Partial<Pod["spec"]>), services);
    expect(Object.keys(env).every((k) => k.startsWith("KUBERNETES_"))).toBe(true);
    expect(env.KUBERNETES_SERVICE_HOST).toBe("10.96.0.1");
  });
});
