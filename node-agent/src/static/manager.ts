/**
 * Static pods: the pods of the manifest directory, run by this agent whatever
 * the API says, and mirrored into the API (the kubelet's file source plus its
 * mirror-pod handling in syncPod and HandlePodCleanups). Each pass reads the
 * directory, stops the pods whose file went away or changed (a changed file
 * is a new UID), starts the new ones, and makes the API agree: a missing,
 * stale or deleted mirror pod is (re)created, a mirror pod with no static pod
 * behind it is deleted. Passes run on a directory change, on a mirror pod
 * event, and every rescanMs as a fallback; one at a time.
 */
import type { KubeClient } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import type { Clock } from "../clock.ts";
import type { PodDeps } from "../pod/context.ts";
import { type Pod, type PodStatus, podKey } from "../pod/k8s.ts";
import { buildStatus } from "../pod/status.ts";
import { PodWorker } from "../pod/worker.ts";
import { isMirrorPod } from "./manifest.ts";
import { createMirror, deleteMirror, mirrorOf, mirrors } from "./mirror.ts";
import { readManifests, watchDirectory } from "./source.ts";

/** What the static pod manager is given. */
export interface StaticPodsOptions {
  /** The manifest directory (--pod-manifest-path). */
  dir: string;
  /** This node, as the mirror pods' owner. */
  node: { name: string; uid: string };
  client: KubeClient;
  clock: Clock;
  /** The agent's pod worker dependencies; status writes and release are redirected here. */
  deps: PodDeps;
  log: (message: string) => void;
  /** How often the directory is read without a change notice (the kubelet's fileCheckFrequency, 20 s). */
  rescanMs?: number;
}

interface Running {
  pod: Pod;
  worker: PodWorker;
}

/** The static pods of one node and their mirror pods. */
export class StaticPods {
  /** Running static pods by UID. */
  private readonly running = new Map<string, Running>();
  /** This node's mirror pods as last seen from the API, by namespace/name. */
  private readonly mirrors = new Map<string, Pod>();
  /** Problems already reported (file or pod key → message), so a rescan does not repeat them. */
  private readonly reported = new Map<string, string>();
  private readonly stopper = new AbortController();
  private readonly deps: PodDeps;
  private dirty = false;
  /** The next pass reads the mirror pods from the API instead of trusting the watch (periodic fallback). */
  private verify = false;
  private busy?: Promise<void>;

  constructor(private readonly options: StaticPodsOptions) {
    this.deps = {
      ...options.deps,
      writeStatus: (pod, status) => this.writeStatus(pod, status),
      // A static pod is not the API's to release: its mirror pod is deleted by the pass that stopped it.
      release: async () => {},
    };
  }

  /** Read the directory and start its pods (before the agent's first pod list, so their sandboxes count as live). */
  async start(): Promise<void> {
    await this.pass();
    watchDirectory(this.options.dir, () => this.kick(), this.stopper.signal, this.options.log);
  }

  /** The periodic rescan, until stop(). */
  async run(): Promise<void> {
    const { clock, rescanMs = 20_000 } = this.options;
    while (!this.stopper.signal.aborted) {
      await clock.sleep(rescanMs, this.stopper.signal);
      if (this.stopper.signal.aborted) break;
      this.verify = true;
      this.kick();
    }
    await this.busy;
  }

  /** Stop watching; the static pods keep running, as every pod does when the agent stops. */
  stop(): void {
    this.stopper.abort();
  }

  /** Whether `uid` is a running static pod (its sandbox is not an orphan). */
  has(uid: string): boolean {
    return this.running.has(uid);
  }

  /** The worker behind a mirror pod's UID (for logs requested through the API). */
  workerForMirror(uid: string): PodWorker | undefined {
    for (const [key, mirror] of this.mirrors)
      if (mirror.metadata.uid === uid)
        for (const entry of this.running.values()) if (podKey(entry.pod) === key) return entry.worker;
    return undefined;
  }

  /** The agent listed this node's pods: the mirror pods among them are the API's current truth. */
  listed(mirrorPods: Pod[]): void {
    this.mirrors.clear();
    for (const pod of mirrorPods) this.mirrors.set(podKey(pod), pod);
    this.kick();
  }

  /** A mirror pod was added or changed (e.g. `kubectl delete` set its deletionTimestamp). */
  seen(mirror: Pod): void {
    this.mirrors.set(podKey(mirror), mirror);
    this.kick();
  }

  /** A mirror pod is gone from the API. */
  gone(mirror: Pod): void {
    const key = podKey(mirror);
    if (this.mirrors.get(key)?.metadata.uid === mirror.metadata.uid) this.mirrors.delete(key);
    this.kick();
  }

  /** Run a pass now, or right after the one under way. */
  private kick(): void {
    this.dirty = true;
    this.busy ??= this.drain();
  }

  private async drain(): Promise<void> {
    while (this.dirty && !this.stopper.signal.aborted) {
      this.dirty = false;
      await this.pass();
    }
    this.busy = undefined;
  }

  private async pass(): Promise<void> {
    const { dir, node, clock, log } = this.options;
    let manifests: Awaited<ReturnType<typeof readManifests>>;
    try {
      manifests = await readManifests(dir, node.name, clock.now());
    } catch (error) {
      log(`static pods: cannot read ${dir}: ${(error as Error).message}`);
      return;
    }
    const desired = new Map<string, Pod>();
    const names = new Set<string>();
    for (const m of manifests) {
      if ("error" in m) {
        await this.report(m.file, `invalid static pod manifest ${m.file}: ${m.error}`);
        continue;
      }
      const key = podKey(m.pod);
      if (names.has(key)) {
        await this.report(
          m.file,
          `static pod manifest ${m.file} ignored: pod ${key} comes from another file`,
        );
        continue;
      }
      this.reported.delete(m.file);
      names.add(key);
      desired.set(m.pod.metadata.uid ?? "", m.pod);
    }
    for (const file of this.reported.keys())
      if (file.startsWith("/") && !manifests.some((m) => m.file === file)) this.reported.delete(file);

    for (const [uid, entry] of this.running) {
      if (desired.has(uid)) continue;
      this.running.delete(uid);
      log(`static pod ${podKey(entry.pod)}: manifest removed or changed; stopping`);
      entry.worker.update(terminating(entry.pod, clock.now()));
    }
    for (const [uid, pod] of desired) {
      if (this.running.has(uid)) continue;
      log(`static pod ${podKey(pod)}: starting from its manifest`);
      this.running.set(uid, { pod, worker: new PodWorker(pod, this.deps) });
    }

    const verify = this.verify;
    this.verify = false;
    for (const entry of this.running.values()) {
      const key = podKey(entry.pod);
      try {
        if (verify) await this.refresh(entry.pod);
        await this.ensureMirror(entry);
        this.reported.delete(key);
      } catch (error) {
        await this.report(key, `mirror pod ${key}: ${(error as Error).message}`);
      }
    }
    for (const [key, mirror] of this.mirrors) {
      if (names.has(key)) continue;
      await deleteMirror(this.options.client, mirror).then(
        () => this.mirrors.delete(key),
        (error) => log(`static pods: deleting mirror pod ${key}: ${(error as Error).message}`),
      );
    }
  }

  /** Replace what the watch said about a static pod's mirror with what the API holds now. */
  private async refresh(pod: Pod): Promise<void> {
    const key = podKey(pod);
    try {
      const found = await this.options.client.get<Pod>(
        R.pods,
        pod.metadata.namespace,
        pod.metadata.name ?? "",
      );
      if (isMirrorPod(found)) this.mirrors.set(key, found);
      else this.mirrors.delete(key);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
      this.mirrors.delete(key);
    }
  }

  /** Make the API hold a live mirror of exactly this version of the static pod, with the worker's status. */
  private async ensureMirror({ pod, worker }: Running): Promise<void> {
    const { client, node } = this.options;
    const key = podKey(pod);
    const known = this.mirrors.get(key);
    if (known && mirrors(known, pod)) return;
    if (known) await deleteMirror(client, known);
    let mirror = await createMirror(client, mirrorOf(pod, node));
    if (!mirrors(mirror, pod)) {
      // Only mirror pods are ours to replace (as the kubelet's syncPod); a user's pod keeps the name.
      if (!isMirrorPod(mirror)) throw new Error("a pod that is not a mirror pod holds the name");
      // A stale mirror (an older version, or one being deleted) held the name.
      await deleteMirror(client, mirror);
      mirror = await createMirror(client, mirrorOf(pod, node));
      if (!mirrors(mirror, pod))
        throw new Error("the name is held by another pod; retrying on the next pass");
    }
    // The watch may already have brought this mirror, newer than the create's answer (a status write, a delete).
    if (this.mirrors.get(key)?.metadata.uid !== mirror.metadata.uid) this.mirrors.set(key, mirror);
    // A new mirror starts Pending: give it what the worker knows now.
    await this.writeStatus(pod, buildStatus(worker.context));
  }

  /** Status goes to the mirror pod of the static pod's name, only from the version that runs now; no mirror yet is fine. */
  private async writeStatus(pod: Pod, status: PodStatus): Promise<void> {
    if (!this.running.has(pod.metadata.uid ?? "")) return;
    try {
      await this.options.deps.writeStatus(pod, status);
    } catch (error) {
      if (!(error instanceof ApiError && error.code === 404)) throw error;
    }
  }

  /** Log a problem and record it as a Warning Event on the Node, once per distinct message. */
  private async report(subject: string, message: string): Promise<void> {
    if (this.reported.get(subject) === message) return;
    this.reported.set(subject, message);
    const { client, node, clock, log } = this.options;
    log(`static pods: ${message}`);
    const now = clock.now().toISOString();
    await client
      .create(R.events, "default", {
        metadata: {
          name: `${node.name}.${clock.now().getTime().toString(16)}${Math.random().toString(16).slice(2, 8)}`,
        },
        involvedObject: { apiVersion: "v1", kind: "Node", name: node.name, uid: node.uid },
        reason: "FailedStaticPod",
        message,
        type: "Warning",
        source: { component: "kubelet", host: node.name },
        reportingComponent: "kubelet",
        reportingInstance: node.name,
        firstTimestamp: now,
        lastTimestamp: now,
        count: 1,
      } as never)
      .catch((error) => log(`static pods: event: ${(error as Error).message}`));
  }
}

/** The static pod marked for graceful deletion, as the API would mark it. */
function terminating(pod: Pod, now: Date): Pod {
  return {
    ...pod,
    metadata: {
      ...pod.metadata,
      deletionTimestamp: now.toISOString(),
      deletionGracePeriodSeconds: pod.spec.terminationGracePeriodSeconds ?? 30,
    },
  };
}
