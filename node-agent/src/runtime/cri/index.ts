/**
 * CriRuntime: the agent's container runtime (RuntimeClass handler "runc"),
 * walking Kubernetes' own path: agent → CRI (runtime.v1 over gRPC) →
 * containerd → runc. Pod networking is CNI, configured by
 * node-agent/src/network/cni.ts. Every method maps to one or two CRI calls
 * and reports what the runtime says; the pod state machine decides.
 */
import { mkdir } from "node:fs/promises";
import type {
  ContainerConfig,
  ContainerStatus,
  ExecResult,
  PullOptions,
  PullResult,
  Runtime,
  SandboxConfig,
  SandboxStatus,
} from "../types.ts";
import { PullError } from "../types.ts";
import { oomKills, removeCgroup } from "./cgroups.ts";
import { CriClient, isNotFound } from "./client.ts";
import {
  CGROUP_PARENT_ANNOTATION,
  CONTAINER_NAME_LABEL,
  fromCriContainerStatus,
  MANAGED_LABEL,
  POD_UID_LABEL,
  podCgroupParent,
  toAuthConfig,
  toCriContainerConfig,
  toPodSandboxConfig,
} from "./convert.ts";
import { collectImages, type ImageGcOptions, type ImageGcResult } from "./image-gc.ts";
import type { PodSandboxStatus } from "./messages.ts";

export { CriClient, isNotFound } from "./client.ts";
export { ContainerConfigError } from "./convert.ts";
export type { ImageGcOptions, ImageGcResult } from "./image-gc.ts";

/** How to reach the CRI runtime and how to run pods on it. */
export interface CriRuntimeOptions {
  /** The CRI unix socket (containerd's grpc.address). */
  endpoint: string;
  /** RuntimeClass handler this runtime serves (default "runc"). */
  handler?: string;
  /** CRI runtime handler to ask containerd for ("" = its default_runtime_name, runc). */
  criRuntimeHandler?: string;
  /** Allow securityContext.privileged (default false: such containers fail with CreateContainerConfigError). */
  allowPrivileged?: boolean;
  /** Pod cgroups go under <cgroupRoot>/pod<uid> unless the sandbox names its own (default "/edgeplane"). */
  cgroupRoot?: string;
  /** Inject a client (tests); otherwise one is made for `endpoint`. */
  client?: CriClient;
}

/** A command run by execSync did not finish within its timeout (an exec probe failure). */
export class ExecTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ExecTimeoutError";
  }
}

/** The container runtime behind the Runtime interface. */
export class CriRuntime implements Runtime {
  readonly handler: string;
  readonly client: CriClient;
  private readonly criHandler: string;
  private readonly allowPrivileged: boolean;
  private readonly cgroupRoot: string;
  /** Container id → its pod cgroup, and the pod cgroup's OOM kill count when it started (see oomKilled). */
  private readonly podCgroups = new Map<string, string>();
  private readonly oomBaseline = new Map<string, number>();
  /** Image id → last time a container used or a pull fetched it, for image GC's LRU order. */
  private readonly lastUsed = new Map<string, number>();
  /**
   * Sandbox id → pod IP. A sandbox's IP never changes, and the pod state
   * machine lists sandboxes once per pod it (re)starts, so listing must not
   * cost one PodSandboxStatus per sandbox on the node.
   */
  private readonly sandboxIps = new Map<string, string | undefined>();

  constructor(options: CriRuntimeOptions) {
    this.handler = options.handler ?? "runc";
    this.criHandler = options.criRuntimeHandler ?? "";
    this.allowPrivileged = options.allowPrivileged ?? false;
    this.cgroupRoot = options.cgroupRoot ?? "/edgeplane";
    this.client = options.client ?? new CriClient(options.endpoint);
  }

  /** Pulls per policy: Never/IfNotPresent look at ImageStatus first. Failures are PullErrors (ErrImagePull, ErrImageNeverPull). */
  async pullImage(image: string, options: PullOptions): Promise<PullResult> {
    if (options.policy !== "Always") {
      let present: Awaited<ReturnType<CriClient["imageStatus"]>>;
      try {
        present = await this.client.imageStatus(image);
      } catch (err) {
        throw new PullError("ImageInspectError", `inspecting image ${image}: ${errorMessage(err)}`);
      }
      if (present) {
        this.lastUsed.set(present.id, Date.now());
        return { digest: digestOf(present), present: true };
      }
      if (options.policy === "Never") {
        throw new PullError(
          "ErrImageNeverPull",
          `image ${image} is not present and the pull policy is Never`,
        );
      }
    }
    try {
      const ref = await this.client.pullImage(image, toAuthConfig(options.auth), options.signal);
      this.lastUsed.set(ref, Date.now());
      const status = await this.client.imageStatus(ref);
      return { digest: status ? digestOf(status) : ref };
    } catch (err) {
      throw new PullError("ErrImagePull", `pulling image ${image}: ${errorMessage(err)}`);
    }
  }

  /** RunPodSandbox: network namespace (CNI), hostname, DNS, port mappings, pod cgroup. */
  async runSandbox(config: SandboxConfig): Promise<SandboxStatus> {
    await mkdir(config.podDir, { recursive: true });
    const id = await this.client.runPodSandbox(this.sandboxConfig(config), this.criHandler);
    const status = await this.sandboxStatus(id);
    return status ?? { id, state: "notready" };
  }

  /** PodSandboxStatus → ready/notready and the pod IP; undefined when the sandbox is gone. */
  async sandboxStatus(sandboxId: string): Promise<SandboxStatus | undefined> {
    const s = await this.rawSandboxStatus(sandboxId);
    if (!s) {
      this.sandboxIps.delete(sandboxId);
      return undefined;
    }
    const status = toSandboxStatus(s);
    if (status.state === "ready") this.sandboxIps.set(sandboxId, status.ip);
    return status;
  }

  /** StopPodSandbox: kills its containers, tears down its network. Idempotent. */
  async stopSandbox(sandboxId: string): Promise<void> {
    await ignoreNotFound(this.client.stopPodSandbox(sandboxId));
  }

  /** Stop (if still running), RemovePodSandbox, then the pod cgroup runc leaves behind. Idempotent. */
  async removeSandbox(sandboxId: string): Promise<void> {
    const s = await this.rawSandboxStatus(sandboxId);
    if (!s) return;
    // Callers may skip stopSandbox; the network (CNI DEL, netns) is released by the stop.
    if (s.state === "SANDBOX_READY") await this.stopSandbox(sandboxId);
    await ignoreNotFound(this.client.removePodSandbox(sandboxId));
    this.sandboxIps.delete(sandboxId);
    const cgroup = s.annotations[CGROUP_PARENT_ANNOTATION];
    if (cgroup) removeCgroup(cgroup);
  }

  /** CreateContainer with the next attempt number for this container name in the sandbox. */
  async createContainer(sandboxId: string, config: ContainerConfig, sandbox: SandboxConfig): Promise<string> {
    const previous = await this.client.listContainers({
      podSandboxId: sandboxId,
      labelSelector: { [CONTAINER_NAME_LABEL]: config.name },
    });
    // containerd reserves (name, attempt) for the sandbox's lifetime, so a restart needs a new attempt.
    const attempt = previous.reduce((max, c) => Math.max(max, (c.metadata?.attempt ?? 0) + 1), 0);
    const { config: criConfig, logDirectory } = toCriContainerConfig(config, sandbox, {
      attempt,
      allowPrivileged: this.allowPrivileged,
    });
    await mkdir(logDirectory, { recursive: true });
    const sandboxConfig = { ...this.sandboxConfig(sandbox), logDirectory };
    const id = await this.client.createContainer(sandboxId, criConfig, sandboxConfig);
    this.podCgroups.set(id, podCgroupParent(sandbox, this.cgroupRoot));
    const status = await this.client.containerStatus(id).catch(() => undefined);
    if (status?.imageRef) this.lastUsed.set(status.imageRef, Date.now());
    return id;
  }

  /** StartContainer. */
  async startContainer(containerId: string): Promise<void> {
    const cgroup = this.podCgroups.get(containerId);
    if (cgroup !== undefined) this.oomBaseline.set(containerId, oomKills(cgroup) ?? 0);
    await this.client.startContainer(containerId);
  }

  /** StopContainer: SIGTERM, SIGKILL after the grace period. Idempotent. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    await ignoreNotFound(this.client.stopContainer(containerId, Math.max(0, Math.ceil(timeoutSeconds))));
  }

  /** RemoveContainer. Idempotent. */
  async removeContainer(containerId: string): Promise<void> {
    await ignoreNotFound(this.client.removeContainer(containerId));
    this.podCgroups.delete(containerId);
    this.oomBaseline.delete(containerId);
  }

  /** ContainerStatus → state, exit code, reason (OOMKilled, Error, Completed), times, image digest. */
  async containerStatus(containerId: string): Promise<ContainerStatus | undefined> {
    try {
      const status = fromCriContainerStatus(await this.client.containerStatus(containerId));
      if (
        status.state === "exited" &&
        status.exitCode === 137 &&
        status.reason === "Error" &&
        this.oomKilled(containerId)
      )
        status.reason = "OOMKilled";
      return status;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /**
   * Whether the OOM killer struck in the container's pod cgroup since the
   * container started. containerd marks an OOM kill from the shim's TaskOOM
   * event, which races the exit event: read before it lands, the status says
   * "Error" (137) and a restartPolicy Never pod would keep that for good. The
   * pod cgroup outlives the container, and its memory.events counts kills in
   * every child, so a count above the one at start means this SIGKILL was the
   * OOM killer (a sibling container killed at the same moment would be
   * counted too; the agent restarts lose the baseline and fall back to
   * containerd's word).
   */
  private oomKilled(containerId: string): boolean {
    const cgroup = this.podCgroups.get(containerId);
    const base = this.oomBaseline.get(containerId);
    if (cgroup === undefined || base === undefined) return false;
    return (oomKills(cgroup) ?? 0) > base;
  }

  /** Every sandbox this agent created (labelled), with its pod UID, for adoption after a restart. */
  async listSandboxes(): Promise<(SandboxStatus & { podUid: string })[]> {
    const items = await this.client.listPodSandbox({ labelSelector: { [MANAGED_LABEL]: "true" } });
    const out: (SandboxStatus & { podUid: string })[] = [];
    for (const item of items) {
      const podUid = item.metadata?.uid ?? item.labels[POD_UID_LABEL] ?? "";
      let status: SandboxStatus | undefined;
      if (item.state === "SANDBOX_READY") {
        status = this.sandboxIps.has(item.id)
          ? withIp({ id: item.id, state: "ready" }, this.sandboxIps.get(item.id))
          : await this.sandboxStatus(item.id);
      }
      out.push({ ...(status ?? { id: item.id, state: "notready" }), podUid });
    }
    return out;
  }

  /** Containers this agent created, optionally in one sandbox, with full status. */
  async listContainers(
    sandboxId?: string,
  ): Promise<(ContainerStatus & { sandboxId: string; podUid: string })[]> {
    const items = await this.client.listContainers({
      podSandboxId: sandboxId,
      labelSelector: { [MANAGED_LABEL]: "true" },
    });
    const out: (ContainerStatus & { sandboxId: string; podUid: string })[] = [];
    for (const item of items) {
      const status = await this.containerStatus(item.id);
      if (!status) continue;
      out.push({ ...status, sandboxId: item.podSandboxId, podUid: item.labels[POD_UID_LABEL] ?? "" });
    }
    return out;
  }

  /** ExecSync (exec probes). A command still running at the timeout throws ExecTimeoutError. */
  async execSync(containerId: string, command: string[], timeoutSeconds: number): Promise<ExecResult> {
    const timeout = Math.max(1, Math.ceil(timeoutSeconds));
    try {
      const res = await this.client.execSync(containerId, command, timeout);
      return {
        exitCode: res.exitCode,
        stdout: new Uint8Array(res.stdout),
        stderr: new Uint8Array(res.stderr),
      };
    } catch (err) {
      const code = (err as { code?: number }).code;
      if (code === 4 /* DEADLINE_EXCEEDED */ || /timeout/i.test(errorMessage(err))) {
        throw new ExecTimeoutError(`command timed out after ${timeout}s: ${errorMessage(err)}`);
      }
      throw err;
    }
  }

  /**
   * Stops and removes every sandbox of ours whose pod UID is not in
   * `livePodUids` (pods deleted while the agent was away). Returns the
   * removed sandbox ids.
   */
  async removeOrphans(livePodUids: ReadonlySet<string>): Promise<string[]> {
    const removed: string[] = [];
    for (const s of await this.listSandboxes()) {
      if (livePodUids.has(s.podUid)) continue;
      await this.stopSandbox(s.id);
      await this.removeSandbox(s.id);
      removed.push(s.id);
    }
    return removed;
  }

  /** Removes unused images, least recently used first, when the image filesystem is fuller than the threshold. */
  async garbageCollectImages(options: ImageGcOptions = {}): Promise<ImageGcResult> {
    return collectImages(this.client, this.lastUsed, options);
  }

  /** Closes the gRPC channel; pods keep running. */
  async close(): Promise<void> {
    this.client.close();
  }

  private sandboxConfig(config: SandboxConfig) {
    return toPodSandboxConfig(config, { cgroupRoot: this.cgroupRoot, allowPrivileged: this.allowPrivileged });
  }

  private async rawSandboxStatus(sandboxId: string): Promise<PodSandboxStatus | undefined> {
    try {
      return await this.client.podSandboxStatus(sandboxId);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
}

function toSandboxStatus(s: PodSandboxStatus): SandboxStatus {
  const out: SandboxStatus = { id: s.id, state: s.state === "SANDBOX_READY" ? "ready" : "notready" };
  if (s.network?.ip) out.ip = s.network.ip;
  return out;
}

function withIp(s: SandboxStatus, ip: string | undefined): SandboxStatus {
  return ip ? { ...s, ip } : s;
}

/** The manifest digest (sha256:...) when the image came from a registry, else its id. */
function digestOf(image: { id: string; repoDigests: string[] }): string {
  const rd = image.repoDigests[0];
  return rd?.includes("@") ? rd.slice(rd.indexOf("@") + 1) : image.id;
}

async function ignoreNotFound(p: Promise<void>): Promise<void> {
  try {
    await p;
  } catch (err) {
    if (!isNotFound(err)) throw err;
  }
}

function errorMessage(err: unknown): string {
  const e = err as { details?: string; message?: string };
  return e.details || e.message || String(err);
}
