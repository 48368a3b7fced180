/**
 * The NetworkPolicy enforcer (the policy half of a CNI agent such as
 * kube-router's or Calico's felix): cluster-wide informers over
 * NetworkPolicies, Pods (their labels, addresses and named ports) and
 * Namespaces (their labels) feed one loop that renders this node's policy
 * table (render.ts) and loads it whole in one `nft -f` transaction whenever
 * it changes. Changes are coalesced, at most one load per minSyncPeriodMs;
 * a failed load is logged and retried with backoff.
 */
import { spawn } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import type { KubeClient, KubeObject, ResourceRef } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import type { Clock } from "../clock.ts";
import { Informer } from "../proxy/informer.ts";
import {
  type NamespaceObject,
  type PodObject,
  type PolicyObject,
  podRules,
  podsFingerprint,
} from "./model.ts";
import { renderPolicies } from "./render.ts";

const NETWORK_POLICIES: ResourceRef = {
  group: "networking.k8s.io",
  version: "v1",
  resource: "networkpolicies",
  namespaced: true,
};

/** What the enforcer needs. */
export interface NetpolOptions {
  client: KubeClient;
  nodeName: string;
  clock: Clock;
  log: (message: string) => void;
  /** The pod bridge: names the table ("edgeplane-netpol" on the default bridge, else "edgeplane-netpol-<bridge>"). */
  bridge: string;
  /** Least time between two loads; default 500 ms. */
  minSyncPeriodMs?: number;
  /** Loads a script; default `nft -f -`. */
  apply?: (script: string) => Promise<void>;
  /** Called after each load (tests, figures): how many of this node's pods are isolated and how long it took. */
  onSync?: (info: { ms: number; isolatedPods: number }) => void;
}

/** A running enforcer. */
export class NetpolEnforcer {
  readonly policies: Informer<KubeObject>;
  readonly pods: Informer<KubeObject>;
  readonly namespaces: Informer<KubeObject>;
  /** The nft table it owns. */
  readonly table: string;
  private dirty = false;
  private wake?: () => void;
  private live = "";
  private lastProblems = "";
  /** Whether only pods changed since the last sync; then an unchanged podsFingerprint means unchanged rules. */
  private podsOnly = false;
  private podsKey = "";

  constructor(private readonly options: NetpolOptions) {
    this.table = options.bridge === "edgeplane0" ? "edgeplane-netpol" : `edgeplane-netpol-${options.bridge}`;
    const changed = () => {
      this.podsOnly = false;
      this.markDirty();
    };
    const { client, clock, log } = options;
    this.policies = new Informer(client, NETWORK_POLICIES, changed, clock, log);
    this.pods = new Informer(client, R.pods, () => this.markDirty(), clock, log);
    this.namespaces = new Informer(client, R.namespaces, changed, clock, log);
  }

  /** Runs the informers and the sync loop until `signal` aborts. */
  run(signal: AbortSignal): Promise<unknown> {
    return Promise.all([
      this.policies.run(signal),
      this.pods.run(signal),
      this.namespaces.run(signal),
      this.loop(signal),
    ]);
  }

  /** Deletes the table (tests; a stopping agent leaves its rules in force, as CNI agents do). */
  async cleanup(): Promise<void> {
    await this.apply(`add table ip ${this.table}\ndelete table ip ${this.table}\n`);
  }

  private markDirty(): void {
    this.dirty = true;
    this.wake?.();
  }

  private synced(): boolean {
    return this.policies.synced && this.pods.synced && this.namespaces.synced;
  }

  private async loop(signal: AbortSignal): Promise<void> {
    const { clock, log } = this.options;
    const minPeriod = this.options.minSyncPeriodMs ?? 500;
    let last = Number.NEGATIVE_INFINITY;
    let failures = 0;
    signal.addEventListener("abort", () => this.wake?.(), { once: true });
    while (!signal.aborted) {
      if (!this.dirty || !this.synced()) {
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
        this.live = "";
        this.podsOnly = false;
        log(`network policy: rule sync failed (attempt ${failures}): ${(error as Error).message}`);
        await clock.sleep(Math.min(30_000, 500 * 2 ** Math.min(failures, 6)), signal);
      }
    }
  }

  private async sync(): Promise<void> {
    const started = performance.now();
    const podsKey = podsFingerprint(this.pods.items.values() as Iterable<PodObject>);
    const skip = this.podsOnly && this.live !== "" && podsKey === this.podsKey;
    this.podsOnly = true;
    this.podsKey = podsKey;
    if (skip) return;
    const model = podRules(
      this.policies.items.values() as Iterable<PolicyObject>,
      this.pods.items.values() as Iterable<PodObject>,
      this.namespaces.items.values() as Iterable<NamespaceObject>,
      this.options.nodeName,
    );
    const all = model.problems.join("; ");
    if (all && all !== this.lastProblems) this.options.log(`network policy: skipped: ${all}`);
    this.lastProblems = all;
    const script = renderPolicies(model.pods, { table: this.table });
    // Pod status churn (readiness, restarts) rarely changes a rule: load only what differs.
    if (script === this.live) return;
    await this.apply(script);
    this.live = script;
    this.options.onSync?.({ ms: performance.now() - started, isolatedPods: model.pods.length });
  }

  private apply(script: string): Promise<void> {
    if (this.options.apply) return this.options.apply(script);
    return new Promise((resolve, reject) => {
      const child = spawn("nft", ["-f", "-"], { stdio: ["pipe", "ignore", "pipe"] });
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
}

const BRIDGE_NF = "/proc/sys/net/bridge/bridge-nf-call-iptables";

/**
 * Pods on one bridge talk at layer 2; the forward hook sees that traffic only with br_netfilter's
 * bridge-nf-call-iptables on (kubeadm's preflight demands it for the same reason). Turns it on when the
 * module is loaded and it is off; says so when it cannot, since same-node pod-to-pod traffic then escapes policy.
 */
export function ensureBridgeNetfilter(log: (message: string) => void, path = BRIDGE_NF): boolean {
  try {
    if (readFileSync(path, "utf8").trim() === "1") return true;
    writeFileSync(path, "1\n");
    log(
      "network policy: set net.bridge.bridge-nf-call-iptables=1 (same-node pod traffic must reach the forward hook)",
    );
    return true;
  } catch (error) {
    log(
      `network policy: WARNING: net.bridge.bridge-nf-call-iptables is not available (${(error as Error).message}); ` +
        "load br_netfilter (modprobe br_netfilter) or traffic between pods of this node is not policed",
    );
    return false;
  }
}
