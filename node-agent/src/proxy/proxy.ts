/**
 * The service proxy (kube-proxy's role): informers over Services and
 * EndpointSlices feed one sync loop that renders the whole nftables table and
 * loads what changed since the last sync in one `nft -f` transaction (the
 * whole table at start and after a failure). Syncs are coalesced and at most one
 * per minSyncPeriod (kube-proxy's minSyncPeriod); a failed sync is logged,
 * reported once as an Event on the Node, and retried with backoff.
 */
import { spawn } from "node:child_process";
import type { KubeClient, KubeObject } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import type { Clock } from "../clock.ts";
import { Informer } from "./informer.ts";
import { type LocalEndpoints, type ProxyService, type ProxySlice, servicePorts } from "./model.ts";
import { deltaScript, fullScript, type Rendered, render } from "./render.ts";

/** What the proxy needs. */
export interface ServiceProxyOptions {
  client: KubeClient;
  nodeName: string;
  clock: Clock;
  log: (message: string) => void;
  /** nft table (family ip); default "edgeplane" on the default bridge, else "edgeplane-<bridge>". */
  table?: string;
  /** The pod bridge (cni.ts DEFAULT_BRIDGE unless --cni-bridge). */
  bridge: string;
  /** All pods' addresses; default 10.244.0.0/16. */
  clusterCidr?: string;
  /** The Service ClusterIP range (render.ts serviceCidr); default 10.96.0.0/16, the control plane's. */
  serviceCidr?: string;
  /** Least time between two syncs; default 1000 ms. */
  minSyncPeriodMs?: number;
  /** Loads a script; default `nft -f -` (in `netns` when given). */
  apply?: (script: string) => Promise<void>;
  /** Run nft inside this named network namespace (tests). */
  netns?: string;
  /** Services served by the agent itself (model.ts LocalEndpoints). */
  local?: LocalEndpoints;
  /** Called after each successful sync with how long render+apply took (bench, tests). */
  onSync?: (info: { ms: number; servicePorts: number }) => void;
}

/** A running service proxy. */
export class ServiceProxy {
  /** The live Services (cluster DNS reads them too). */
  readonly services: Informer<KubeObject>;
  /** The live EndpointSlices. */
  readonly slices: Informer<KubeObject>;
  private dirty = false;
  private wake?: () => void;
  /** What the kernel holds now; undefined after a failure, so the next sync replaces the whole table. */
  private live?: Rendered;
  private lastProblems = "";
  private readonly table: string;

  constructor(private readonly options: ServiceProxyOptions) {
    // One table per bridge: the default bridge gets "edgeplane", test agents on private bridges their own.
    this.table =
      options.table ?? (options.bridge === "edgeplane0" ? "edgeplane" : `edgeplane-${options.bridge}`);
    const changed = () => this.markDirty();
    this.services = new Informer(options.client, R.services, changed, options.clock, options.log);
    this.slices = new Informer(options.client, R.endpointslices, changed, options.clock, options.log);
  }

  /** Runs the informers and the sync loop until `signal` aborts. */
  run(signal: AbortSignal): Promise<unknown> {
    return Promise.all([this.services.run(signal), this.slices.run(signal), this.loop(signal)]);
  }

  /** Deletes the table (tests; a stopping agent leaves its rules, as kube-proxy does). */
  async cleanup(): Promise<void> {
    await this.apply(`add table ip ${this.table}\ndelete table ip ${this.table}\n`);
  }

  private markDirty(): void {
    this.dirty = true;
    this.wake?.();
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { clock, log } = this.options;
    const minPeriod = this.options.minSyncPeriodMs ?? 1000;
    let last = Number.NEGATIVE_INFINITY;
    let failures = 0;
    signal.addEventListener("abort", () => this.wake?.(), { once: true });
    while (!signal.aborted) {
      if (!this.dirty || !this.services.synced || !this.slices.synced) {
        await new Promise<void>((resolve) => {
          this.wake = resolve;
        });
        continue;
      }
      const wait = last + minPeriod - clock.now().getTime();
      if (wait > 0) await clock.sleep(wait, signal);
      if (signal.aborted) return;
      this.dirty = false;
      last = clock.now().getTime();
      try {
        await this.sync();
        failures = 0;
      } catch (error) {
        failures++;
        this.dirty = true;
        const message = `service proxy: rule sync failed (attempt ${failures}): ${(error as Error).message}`;
        log(message);
        if (failures === 1) void this.event("FailedToSyncProxyRules", message);
        await clock.sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), signal);
      }
    }
  }

  private async sync(): Promise<void> {
    const started = performance.now();
    const model = servicePorts(
      this.services.items.values() as Iterable<ProxyService>,
      this.slices.items.values() as Iterable<ProxySlice>,
      this.options.nodeName,
      this.options.local,
    );
    const { rendered, problems } = render(model.ports, {
      table: this.table,
      bridge: this.options.bridge,
      clusterCidr: this.options.clusterCidr ?? "10.244.0.0/16",
      serviceCidr: this.options.serviceCidr ?? "10.96.0.0/16",
      listeners: Object.values(this.options.local ?? {}).flatMap((ports) =>
        Object.entries(ports).map(([key, at]) => ({ ...at, protocol: key.split("/")[0] ?? "tcp" })),
      ),
    });
    const all = [...model.problems, ...problems].join("; ");
    // Bad input is named once per change, not on every sync.
    if (all && all !== this.lastProblems) this.options.log(`service proxy: skipped: ${all}`);
    this.lastProblems = all;
    const script = this.live ? deltaScript(this.live, rendered) : fullScript(rendered);
    if (!script) return;
    this.live = undefined;
    await this.apply(script);
    this.live = rendered;
    this.options.onSync?.({ ms: performance.now() - started, servicePorts: model.ports.length });
  }

  private apply(script: string): Promise<void> {
    if (this.options.apply) return this.options.apply(script);
    const [cmd, args] = this.options.netns
      ? ["ip", ["netns", "exec", this.options.netns, "nft", "-f", "-"]]
      : ["nft", ["-f", "-"]];
    return new Promise((resolve, reject) => {
      const child = spawn(cmd, args as string[], { stdio: ["pipe", "ignore", "pipe"] });
      let stderr = "";
      child.stderr.on("data", (d) => {
        if (stderr.length < 4096) stderr += d;
      });
      child.on("error", reject);
      child.on("close", (code) =>
        code === 0 ? resolve() : reject(new Error(`nft exited ${code}: ${stderr.trim().slice(0, 1000)}`)),
      );
      child.stdin.end(script);
    });
  }

  private async event(reason: string, message: string): Promise<void> {
    const { client, nodeName, clock } = this.options;
    const now = clock.now().toISOString();
    await client
      .create(R.events, "default", {
        apiVersion: "v1",
        kind: "Event",
        metadata: { generateName: `${nodeName}.`, namespace: "default" },
        involvedObject: { kind: "Node", name: nodeName, uid: nodeName, apiVersion: "v1" },
        reason,
        message: message.slice(0, 1024),
        type: "Warning",
        source: { component: "edgeplane-proxy", host: nodeName },
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      } as never)
      .catch((error) => this.options.log(`service proxy: event: ${(error as Error).message}`));
  }
}
