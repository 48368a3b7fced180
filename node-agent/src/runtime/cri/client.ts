/**
 * A thin typed client for the CRI (runtime.v1 RuntimeService + ImageService)
 * over a unix socket, generated at run time from api.proto by
 * @grpc/proto-loader. Every call has a deadline so a wedged runtime cannot
 * hang the pod state machine.
 */
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type {
  AuthConfig,
  CriContainer,
  CriContainerConfig,
  CriContainerState,
  CriContainerStatus,
  CriImage,
  FilesystemUsage,
  PodSandbox,
  PodSandboxConfig,
  PodSandboxState,
  PodSandboxStatus,
  RuntimeCondition,
} from "./messages.ts";

const PROTO_PATH = fileURLToPath(new URL("./api.proto", import.meta.url));

/** Default deadline of a CRI call; pulls and stops pass their own. */
const DEFAULT_DEADLINE_MS = 30_000;

type Unary = (
  req: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  cb: (err: grpc.ServiceError | null, res: unknown) => void,
) => grpc.ClientUnaryCall;

let cachedDefinition: grpc.GrpcObject | undefined;

function loadDefinition(): grpc.GrpcObject {
  // Parsing the proto takes a few ms; every client shares the result.
  if (!cachedDefinition) {
    const pkg = protoLoader.loadSync(PROTO_PATH, {
      keepCase: false,
      longs: String,
      enums: String,
      defaults: true,
      arrays: true,
      objects: false,
      oneofs: true,
    });
    cachedDefinition = grpc.loadPackageDefinition(pkg);
  }
  return cachedDefinition;
}

/** True when a CRI call failed because the sandbox/container/image does not exist. */
export function isNotFound(err: unknown): boolean {
  return (err as { code?: number } | undefined)?.code === grpc.status.NOT_FOUND;
}

/** A connection to one CRI endpoint. */
export class CriClient {
  private readonly runtime: grpc.Client;
  private readonly image: grpc.Client;

  /** `endpoint` is a unix socket path (or a `unix://` URL). */
  constructor(endpoint: string) {
    const target = endpoint.startsWith("unix:") ? endpoint : `unix://${endpoint}`;
    const v1 = (loadDefinition().runtime as grpc.GrpcObject).v1 as grpc.GrpcObject;
    const RuntimeService = v1.RuntimeService as grpc.ServiceClientConstructor;
    const ImageService = v1.ImageService as grpc.ServiceClientConstructor;
    const creds = grpc.credentials.createInsecure();
    const options = { "grpc.max_receive_message_length": 32 * 1024 * 1024 };
    this.runtime = new RuntimeService(target, creds, options);
    // Share one channel: the image service lives on the same socket.
    this.image = new ImageService(target, creds, { ...options, channelOverride: this.runtime.getChannel() });
  }

  private call<T>(
    client: grpc.Client,
    method: string,
    req: object,
    deadlineMs = DEFAULT_DEADLINE_MS,
    signal?: AbortSignal,
  ): Promise<T> {
    const fn = (client as unknown as Record<string, Unary>)[method];
    return new Promise<T>((resolve, reject) => {
      if (signal?.aborted) {
        reject(signal.reason ?? new Error("aborted"));
        return;
      }
      const call = fn.call(
        client,
        req,
        new grpc.Metadata(),
        { deadline: Date.now() + deadlineMs },
        (err, res) => {
          signal?.removeEventListener("abort", onAbort);
          if (err) reject(err);
          else resolve(res as T);
        },
      );
      // Cancelling the call makes the runtime stop the work (a pull) too.
      const onAbort = () => call.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Runtime name and versions; doubles as a liveness check of the socket. */
  version(
    deadlineMs?: number,
  ): Promise<{ runtimeName: string; runtimeVersion: string; runtimeApiVersion: string }> {
    return this.call(this.runtime, "version", { version: "v1" }, deadlineMs);
  }

  /** RuntimeReady / NetworkReady conditions. */
  async status(): Promise<RuntimeCondition[]> {
    const res = await this.call<{ status: { conditions: RuntimeCondition[] } | null }>(
      this.runtime,
      "status",
      {},
    );
    return res.status?.conditions ?? [];
  }

  /** Creates and starts a sandbox; resolves to its id. */
  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = "", deadlineMs?: number): Promise<string> {
    const res = await this.call<{ podSandboxId: string }>(
      this.runtime,
      "runPodSandbox",
      { config, runtimeHandler },
      deadlineMs,
    );
    return res.podSandboxId;
  }

  /** Stops a sandbox (kills its containers, releases its network). Idempotent. */
  async stopPodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "stopPodSandbox", { podSandboxId });
  }

  /** Removes a sandbox and its containers. Idempotent. */
  async removePodSandbox(podSandboxId: string): Promise<void> {
    await this.call(this.runtime, "removePodSandbox", { podSandboxId });
  }

  /** A sandbox's status; rejects with NOT_FOUND when it does not exist. */
  async podSandboxStatus(podSandboxId: string): Promise<PodSandboxStatus> {
    const res = await this.call<{ status: PodSandboxStatus }>(this.runtime, "podSandboxStatus", {
      podSandboxId,
    });
    return res.status;
  }

  /** The runtime's verbose sandbox info (containerd: JSON with the OCI runtime spec, netns path, pid...). */
  async podSandboxInfo(podSandboxId: string): Promise<Record<string, string>> {
    const res = await this.call<{ info: Record<string, string> }>(this.runtime, "podSandboxStatus", {
      podSandboxId,
      verbose: true,
    });
    return res.info;
  }

  /** Sandboxes matching a filter (labels are ANDed). */
  async listPodSandbox(
    filter: { id?: string; state?: PodSandboxState; labelSelector?: Record<string, string> } = {},
  ): Promise<PodSandbox[]> {
    const res = await this.call<{ items: PodSandbox[] }>(this.runtime, "listPodSandbox", {
      filter: {
        id: filter.id ?? "",
        state: filter.state ? { state: filter.state } : null,
        labelSelector: filter.labelSelector ?? {},
      },
    });
    return res.items;
  }

  /** Creates a container in a sandbox; resolves to its id. */
  async createContainer(
    podSandboxId: string,
    config: CriContainerConfig,
    sandboxConfig: PodSandboxConfig,
  ): Promise<string> {
    const res = await this.call<{ containerId: string }>(this.runtime, "createContainer", {
      podSandboxId,
      config,
      sandboxConfig,
    });
    return res.containerId;
  }

  /** Starts a created container. */
  async startContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "startContainer", { containerId });
  }

  /** SIGTERM, then SIGKILL after `timeoutSeconds`. Idempotent. */
  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    // The call itself must outlive the grace period.
    await this.call(
      this.runtime,
      "stopContainer",
      { containerId, timeout: timeoutSeconds },
      timeoutSeconds * 1000 + DEFAULT_DEADLINE_MS,
    );
  }

  /** Removes a container. Idempotent. */
  async removeContainer(containerId: string): Promise<void> {
    await this.call(this.runtime, "removeContainer", { containerId });
  }

  /** Containers matching a filter. */
  async listContainers(
    filter: {
      id?: string;
      podSandboxId?: string;
      state?: CriContainerState;
      labelSelector?: Record<string, string>;
    } = {},
  ): Promise<CriContainer[]> {
    const res = await this.call<{ containers: CriContainer[] }>(this.runtime, "listContainers", {
      filter: {
        id: filter.id ?? "",
        podSandboxId: filter.podSandboxId ?? "",
        state: filter.state ? { state: filter.state } : null,
        labelSelector: filter.labelSelector ?? {},
      },
    });
    return res.containers;
  }

  /** A container's status; rejects with NOT_FOUND when it does not exist. */
  async containerStatus(containerId: string): Promise<CriContainerStatus> {
    const res = await this.call<{ status: CriContainerStatus }>(this.runtime, "containerStatus", {
      containerId,
    });
    return res.status;
  }

  /** Runs a command in a running container and waits for it. */
  async execSync(
    containerId: string,
    cmd: string[],
    timeoutSeconds: number,
  ): Promise<{ stdout: Buffer; stderr: Buffer; exitCode: number }> {
    return this.call(
      this.runtime,
      "execSync",
      { containerId, cmd, timeout: timeoutSeconds },
      (timeoutSeconds > 0 ? timeoutSeconds * 1000 : DEFAULT_DEADLINE_MS) + 5_000,
    );
  }

  /**
   * A streaming URL on the runtime's stream server for an exec (cmd given) or
   * attach session; the caller dials it (SPDY, v4.channel.k8s.io).
   */
  async streamUrl(
    containerId: string,
    options: { cmd?: string[]; tty: boolean; stdin: boolean; stdout: boolean; stderr: boolean },
  ): Promise<string> {
    const { cmd, ...flags } = options;
    const res = await this.call<{ url: string }>(
      this.runtime,
      cmd ? "exec" : "attach",
      cmd ? { containerId, cmd, ...flags } : { containerId, ...flags },
    );
    return res.url;
  }

  /** Images the runtime holds. */
  async listImages(): Promise<CriImage[]> {
    const res = await this.call<{ images: CriImage[] }>(this.image, "listImages", { filter: null });
    return res.images;
  }

  /** An image's record, or undefined when the runtime does not have it. */
  async imageStatus(image: string): Promise<CriImage | undefined> {
    const res = await this.call<{ image: CriImage | null }>(this.image, "imageStatus", { image: { image } });
    return res.image ?? undefined;
  }

  /** Pulls an image; resolves to the image reference (id) the runtime stored it under. */
  async pullImage(
    image: string,
    auth?: AuthConfig,
    signal?: AbortSignal,
    deadlineMs = 10 * 60_000,
  ): Promise<string> {
    const res = await this.call<{ imageRef: string }>(
      this.image,
      "pullImage",
      { image: { image }, auth: auth ?? null },
      deadlineMs,
      signal,
    );
    return res.imageRef;
  }

  /** Removes an image. Idempotent. */
  async removeImage(image: string): Promise<void> {
    await this.call(this.image, "removeImage", { image: { image } });
  }

  /** Usage of the filesystem(s) holding images. */
  async imageFsInfo(): Promise<FilesystemUsage[]> {
    const res = await this.call<{ imageFilesystems: FilesystemUsage[] }>(this.image, "imageFsInfo", {});
    return res.imageFilesystems;
  }

  /** Closes the channel. */
  close(): void {
    this.image.close();
    this.runtime.close();
  }
}
