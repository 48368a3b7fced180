import { describe, expect, it } from "vitest";
import type { ContainerConfig, SandboxConfig } from "../types.ts";
import { hostsToml, mirrorHostsToml, renderContainerdConfig } from "./containerd.ts";
import {
  ContainerConfigError,
  fromCriContainerStatus,
  imageRegistry,
  nanosToDate,
  toAuthConfig,
  toCriContainerConfig,
  toLinuxResources,
  toPodSandboxConfig,
} from "./convert.ts";
import type { CriContainerStatus } from "./messages.ts";

const sandbox: SandboxConfig = {
  uid: "1234-abcd",
  namespace: "ns",
  name: "web-0",
  hostname: "web-0",
  labels: { app: "web" },
  annotations: { note: "x" },
  ports: [
    { containerPort: 80, hostPort: 8080, protocol: "TCP" },
    { containerPort: 53, protocol: "UDP" },
  ],
  dns: { servers: ["10.96.0.10"], searches: ["ns.svc.cluster.local"], options: ["ndots:5"] },
  podDir: "/var/lib/agent/pods/1234-abcd",
};

function container(over: Partial<ContainerConfig> = {}): ContainerConfig {
  return {
    name: "app",
    image: "registry.local/app:1",
    command: ["/bin/app"],
    args: ["--flag"],
    env: { A: "1" },
    mounts: [{ hostPath: "/h", containerPath: "/c", readOnly: true }],
    limits: {},
    requests: {},
    ports: [],
    logPath: "/var/lib/agent/pods/1234-abcd/logs/app/0.log",
    ...over,
  };
}

describe("CRI conversions", () => {
  it("builds the sandbox config: labels with the pod UID, host ports only, DNS, pod cgroup", () => {
    const c = toPodSandboxConfig(sandbox, { cgroupRoot: "/edgeplane/", allowPrivileged: false });
    expect(c.metadata).toEqual({ name: "web-0", uid: "1234-abcd", namespace: "ns", attempt: 0 });
    expect(c.portMappings).toEqual([{ protocol: "TCP", containerPort: 80, hostPort: 8080 }]);
    expect(c.labels).toMatchObject({
      app: "web",
      "io.kubernetes.pod.uid": "1234-abcd",
      "edgeplane.io/managed": "true",
    });
    expect(c.linux?.cgroupParent).toBe("/edgeplane/pod1234-abcd");
    expect(c.annotations["edgeplane.io/cgroup-parent"]).toBe("/edgeplane/pod1234-abcd");
    expect(c.dnsConfig?.servers).toEqual(["10.96.0.10"]);
    expect(
      toPodSandboxConfig({ ...sandbox, cgroupParent: "/mine" }, { cgroupRoot: "/x", allowPrivileged: false })
        .linux,
    ).toMatchObject({ cgroupParent: "/mine" });
  });

  it("maps requests to shares and limits to CFS quota and memory, like kubelet", () => {
    expect(toLinuxResources(container())).toEqual({ cpuShares: 2 });
    expect(
      toLinuxResources(
        container({ requests: { cpuMillis: 100 }, limits: { cpuMillis: 1500, memoryBytes: 1e8 } }),
      ),
    ).toEqual({ cpuShares: 102, cpuPeriod: 100000, cpuQuota: 150000, memoryLimitInBytes: 1e8 });
    // A limit alone also sets the request (API defaulting), and tiny limits get kubelet's minimum quota.
    expect(toLinuxResources(container({ limits: { cpuMillis: 5 } }))).toEqual({
      cpuShares: 5,
      cpuPeriod: 100000,
      cpuQuota: 1000,
    });
  });

  it("splits the log path into the directory containerd joins with the file name", () => {
    const { config, logDirectory } = toCriContainerConfig(container(), sandbox, {
      attempt: 2,
      allowPrivileged: false,
    });
    expect(logDirectory).toBe("/var/lib/agent/pods/1234-abcd/logs/app");
    expect(config.logPath).toBe("0.log");
    expect(config.metadata).toEqual({ name: "app", attempt: 2 });
    expect(config.envs).toEqual([{ key: "A", value: "1" }]);
    expect(config.mounts).toEqual([
      { containerPath: "/c", hostPath: "/h", readonly: true, propagation: "PROPAGATION_PRIVATE" },
    ]);
    expect(config.linux?.securityContext?.maskedPaths).toContain("/proc/kcore");
  });

  it("maps the security context and refuses privileged unless allowed", () => {
    const sc = toCriContainerConfig(
      container({
        securityContext: {
          runAsUser: 1000,
          runAsGroup: 2000,
          readOnlyRootFilesystem: true,
          capabilities: { add: ["net_admin", "CAP_SYS_TIME"], drop: ["ALL"] },
        },
      }),
      sandbox,
      { attempt: 0, allowPrivileged: false },
    ).config.linux?.securityContext;
    expect(sc).toMatchObject({
      runAsUser: { value: 1000 },
      runAsGroup: { value: 2000 },
      readonlyRootfs: true,
      privileged: false,
      capabilities: { addCapabilities: ["NET_ADMIN", "SYS_TIME"], dropCapabilities: ["ALL"] },
    });
    const priv = container({ securityContext: { privileged: true } });
    expect(() => toCriContainerConfig(priv, sandbox, { attempt: 0, allowPrivileged: false })).toThrow(
      ContainerConfigError,
    );
    const allowed = toCriContainerConfig(priv, sandbox, { attempt: 0, allowPrivileged: true }).config.linux;
    expect(allowed?.securityContext).toMatchObject({ privileged: true });
    expect(allowed?.securityContext?.maskedPaths).toBeUndefined();
    expect(() =>
      toCriContainerConfig(container({ securityContext: { runAsGroup: 5 } }), sandbox, {
        attempt: 0,
        allowPrivileged: false,
      }),
    ).toThrow(/runAsGroup needs runAsUser/);
  });

  it("reads container statuses: states, nanosecond times, exit reasons", () => {
    const base: CriContainerStatus = {
      id: "c1",
      metadata: { name: "app", attempt: 0 },
      state: "CONTAINER_EXITED",
      createdAt: "1700000000000000000",
      startedAt: "1700000000123456789",
      finishedAt: "1700000001000000000",
      exitCode: 137,
      image: { image: "x" },
      imageRef: "registry.local/app@sha256:abc",
      reason: "OOMKilled",
      message: "",
      labels: {},
      annotations: {},
      logPath: "/l",
    };
    expect(fromCriContainerStatus(base)).toEqual({
      id: "c1",
      name: "app",
      state: "exited",
      startedAt: new Date(1700000000123),
      finishedAt: new Date(1700000001000),
      exitCode: 137,
      reason: "OOMKilled",
      imageId: "registry.local/app@sha256:abc",
    });
    expect(fromCriContainerStatus({ ...base, reason: "", exitCode: 0 }).reason).toBe("Completed");
    expect(fromCriContainerStatus({ ...base, reason: "", exitCode: 2 }).reason).toBe("Error");
    const running = fromCriContainerStatus({
      ...base,
      state: "CONTAINER_RUNNING",
      finishedAt: "0",
      reason: "",
    });
    expect(running).toMatchObject({ state: "running", finishedAt: undefined });
    expect(running.exitCode).toBeUndefined();
    expect(nanosToDate("0")).toBeUndefined();
  });

  it("passes pull-secret credentials with the image's registry", () => {
    expect(imageRegistry("busybox")).toBe("docker.io");
    expect(imageRegistry("library/busybox:1")).toBe("docker.io");
    expect(imageRegistry("127.0.0.1:5000/x/y:1")).toBe("127.0.0.1:5000");
    expect(imageRegistry("localhost/x")).toBe("localhost");
    expect(toAuthConfig(undefined)).toBeUndefined();
    expect(toAuthConfig({ username: "u", password: "p" })).toEqual({ username: "u", password: "p" });
    expect(toAuthConfig({ auth: "dTpw", registrytoken: "t" })).toEqual({ auth: "dTpw", registryToken: "t" });
  });
});

describe("containerd config", () => {
  it("fills every placeholder and escapes paths for TOML", () => {
    const out = renderContainerdConfig('root = "@ROOT@"\nsock = "@SOCKET@"\nimg = "@SANDBOX_IMAGE@"\n', {
      dataDir: '/data/with"quote',
    });
    expect(out).toBe(
      'root = "/data/with\\"quote/root"\nsock = "/data/with\\"quote/containerd.sock"\nimg = "edgeplane.local/pause:1"\n',
    );
    expect(() => renderContainerdConfig("x = @NOPE@", { dataDir: "/d" })).toThrow(/unknown placeholder/);
    expect(hostsToml({ host: "10.0.0.5:5000", insecure: true })).toBe(
      'server = "http://10.0.0.5:5000"\n\n[host."http://10.0.0.5:5000"]\n  capabilities = ["pull", "resolve"]\n  skip_verify = true\n',
    );
  });
});

describe("registry mirrors", () => {
  it("lists the mirrors in order before the registry itself (plain HTTP for loopback ones)", () => {
    expect(mirrorHostsToml("docker.io", ["127.0.0.1:6500", "mirror.example:5000"])).toBe(
      [
        'server = "https://registry-1.docker.io"',
        "",
        '[host."http://127.0.0.1:6500"]',
        '  capabilities = ["pull", "resolve"]',
        "",
        '[host."https://mirror.example:5000"]',
        '  capabilities = ["pull", "resolve"]',
        "",
      ].join("\n"),
    );
    expect(mirrorHostsToml("quay.io", [])).toBe('server = "https://quay.io"\n');
  });

  it("passes a credential's server address, so containerd sends it to that host only", () => {
    expect(toAuthConfig({ username: "node", password: "t", serveraddress: "http://127.0.0.1:6500" })).toEqual(
      { username: "node", password: "t", serverAddress: "http://127.0.0.1:6500" },
    );
  });
});
