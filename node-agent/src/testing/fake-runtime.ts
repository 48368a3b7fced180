/**
 * An in-memory Runtime for unit tests of the pod state machine: records every
 * call, and lets the test decide when containers exit and whether pulls fail.
 */

import type { Clock } from "../clock.ts";
import type {
  ContainerConfig,
  ContainerStatus,
  PullOptions,
  PullResult,
  Runtime,
  SandboxConfig,
  SandboxStatus,
} from "../runtime/types.ts";
import { PullError } from "../runtime/types.ts";

interface FakeContainer {
  id: string;
  sandboxId: string;
  podUid: string;
  config: ContainerConfig;
  state: ContainerStatus["state"];
  startedAt?: Date;
  finishedAt?: Date;
  exitCode?: number;
  reason?: string;
}

/** A Runtime whose containers run until the test says they exit. */
export class FakeRuntime implements Runtime {
  readonly handler = "wasm";
  readonly calls: string[] = [];
  readonly containers = new Map<string, FakeContainer>();
  readonly sandboxes = new Map<string, SandboxStatus & { podUid: string }>();
  /** image → number of pulls that should still fail. */
  failPulls = new Map<string, number>();
  /** stopContainer: does the container honour SIGTERM (exit 143) or need SIGKILL after the grace period? */
  ignoresSigterm = false;
  private next = 0;

  constructor(private readonly clock: Clock) {}

  async pullImage(image: string, _options: PullOptions): Promise<PullResult> {
    this.calls.push(`pull ${image}`);
    const failures = this.failPulls.get(image) ?? 0;
    if (failures > 0) {
      this.failPulls.set(image, failures - 1);
      throw new PullError("ErrImagePull", `failed to pull ${image}: not found`);
    }
    return { digest: `sha256:${"a".repeat(64)}` };
  }

  async runSandbox(config: SandboxConfig): Promise<SandboxStatus> {
    const id = `sb-${config.uid}`;
    this.calls.push(`runSandbox ${config.name}`);
    const sandbox = { id, state: "ready" as const, ip: "10.0.0.7", podUid: config.uid };
    this.sandboxes.set(id, sandbox);
    return sandbox;
  }

  async sandboxStatus(id: string) {
    return this.sandboxes.get(id);
  }

  async stopSandbox(id: string): Promise<void> {
    this.calls.push(`stopSandbox ${id}`);
    const sandbox = this.sandboxes.get(id);
    if (sandbox) sandbox.state = "notready";
  }

  async removeSandbox(id: string): Promise<void> {
    this.calls.push(`removeSandbox ${id}`);
    this.sandboxes.delete(id);
  }

  async createContainer(sandboxId: string, config: ContainerConfig, sandbox: SandboxConfig): Promise<string> {
    const id = `c${++this.next}`;
    this.calls.push(`create ${config.name}`);
    this.containers.set(id, { id, sandboxId, podUid: sandbox.uid, config, state: "created" });
    return id;
  }

  async startContainer(id: string): Promise<void> {
    const c = this.mustGet(id);
    this.calls.push(`start ${c.config.name}`);
    c.state = "running";
    c.startedAt = this.clock.now();
  }

  async stopContainer(id: string, timeoutSeconds: number): Promise<void> {
    const c = this.containers.get(id);
    if (c?.state !== "running") return;
    this.calls.push(`stop ${c.config.name} ${timeoutSeconds}`);
    if (this.ignoresSigterm) {
      await this.clock.sleep(timeoutSeconds * 1000);
      this.exit(id, 137);
    } else this.exit(id, 143);
  }

  async removeContainer(id: string): Promise<void> {
    this.containers.delete(id);
  }

  async containerStatus(id: string): Promise<ContainerStatus | undefined> {
    const c = this.containers.get(id);
    if (!c) return undefined;
    return {
      id,
      name: c.config.name,
      state: c.state,
      startedAt: c.startedAt,
      finishedAt: c.finishedAt,
      exitCode: c.exitCode,
      reason: c.reason,
      imageId: `sha256:${"a".repeat(64)}`,
    };
  }

  async listSandboxes() {
    return [...this.sandboxes.values()];
  }

  async listContainers(sandboxId?: string) {
    const out: (ContainerStatus & { sandboxId: string; podUid: string })[] = [];
    for (const c of this.containers.values()) {
      if (sandboxId && c.sandboxId !== sandboxId) continue;
      const status = await this.containerStatus(c.id);
      if (status) out.push({ ...status, sandboxId: c.sandboxId, podUid: c.podUid });
    }
    return out;
  }

  async close(): Promise<void> {}

  /** The test's hand: container `id` exits with `code` now. */
  exit(id: string, code: number, reason?: string): void {
    const c = this.mustGet(id);
    c.state = "exited";
    c.exitCode = code;
    c.reason = reason ?? (code === 0 ? "Completed" : "Error");
    c.finishedAt = this.clock.now();
  }

  /** The running instance of container `name`, if any. */
  running(name: string): FakeContainer | undefined {
    return [...this.containers.values()].find((c) => c.config.name === name && c.state === "running");
  }

  private mustGet(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new Error(`no container ${id}`);
    return c;
  }
}
