/**
 * The agent's event recorder (kubelet's EventRecorder): events on pods (with
 * the container as fieldPath) and on the Node, source kubelet on this host.
 * Writes are queued and sent one at a time, so a pod state never waits on the
 * API for an event and a failed write only costs that event (as client-go's
 * broadcaster, which drops after its retries).
 */

import type { KubeClient, KubeObject } from "../../../workers/client/kube.ts";
import { R } from "../../../workers/client/resources.ts";
import { ApiError } from "../../../workers/client/status.ts";
import type { CoreEvent } from "../../../workers/client/types.ts";
import type { Clock } from "../clock.ts";
import { EventCorrelator } from "./correlator.ts";

/** "Normal" or "Warning", as kube's EventTypeNormal/EventTypeWarning. */
export type EventType = "Normal" | "Warning";

/** What the pod lifecycle records: events about one of its containers or the whole pod, and node events. */
export interface EventSink {
  /** An event on a pod; `fieldPath` is spec.containers{name} / spec.initContainers{name}, or absent for the pod. */
  pod(
    pod: { metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } },
    fieldPath: string | undefined,
    type: EventType,
    reason: string,
    message: string,
  ): void;
  /** An event on this agent's Node (namespace default, as kubelet's node events). */
  node(type: EventType, reason: string, message: string): void;
}

/** The recorder's inputs. */
export interface RecorderOptions {
  client: KubeClient;
  clock: Clock;
  node: { name: string };
  log(message: string): void;
  correlator?: EventCorrelator;
}

/** Records kubelet's events through the correlator and the API. */
export class EventRecorder implements EventSink {
  private queue: Promise<void> = Promise.resolve();
  private readonly correlator: EventCorrelator;

  constructor(private readonly options: RecorderOptions) {
    this.correlator = options.correlator ?? new EventCorrelator();
  }

  pod(
    pod: { metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string } },
    fieldPath: string | undefined,
    type: EventType,
    reason: string,
    message: string,
  ): void {
    const { name = "", namespace = "default", uid } = pod.metadata;
    this.record(
      namespace,
      { apiVersion: "v1", kind: "Pod", name, namespace, uid, ...(fieldPath ? { fieldPath } : {}) },
      type,
      reason,
      message,
    );
  }

  node(type: EventType, reason: string, message: string): void {
    const { name } = this.options.node;
    // kubelet's node reference has the node's name as its uid, and `kubectl describe node` searches by that.
    this.record("default", { kind: "Node", name, uid: name }, type, reason, message);
  }

  /** Resolves once every event recorded so far was written or given up (tests, shutdown). */
  flush(): Promise<void> {
    return this.queue;
  }

  private record(
    namespace: string,
    involvedObject: CoreEvent["involvedObject"],
    type: EventType,
    reason: string,
    message: string,
  ): void {
    const { clock, node } = this.options;
    const now = clock.now();
    const stamp = now.toISOString().replace(/\.\d+Z$/, "Z");
    // kubelet names events <object>.<unix nanoseconds in hex>; a random tail keeps two in one millisecond apart.
    const nanos = BigInt(now.getTime()) * 1_000_000n + BigInt(Math.floor(Math.random() * 1_000_000));
    const event: CoreEvent = {
      apiVersion: "v1",
      kind: "Event",
      metadata: { name: `${involvedObject.name}.${nanos.toString(16)}`, namespace },
      involvedObject,
      reason,
      message,
      type,
      source: { component: "kubelet", host: node.name },
      reportingComponent: "kubelet",
      reportingInstance: node.name,
      firstTimestamp: stamp,
      lastTimestamp: stamp,
      count: 1,
    };
    const decision = this.correlator.observe(event, now.getTime());
    if (decision.action === "drop") return;
    this.queue = this.queue.then(() => this.write(namespace, decision)).catch(() => {});
  }

  private async write(
    namespace: string,
    decision: Exclude<ReturnType<EventCorrelator["observe"]>, { action: "drop" }>,
  ) {
    const { client, log } = this.options;
    const event = decision.event as unknown as KubeObject;
    try {
      if (decision.action === "create") {
        await client.create(R.events, namespace, event);
        return;
      }
      try {
        await client.patch(R.events, namespace, event.metadata?.name ?? "", "strategic", decision.patch);
      } catch (error) {
        // As client-go: the aggregated object is gone (TTL, deleted), so write it anew.
        if (!(error instanceof ApiError && error.code === 404)) throw error;
        await client.create(R.events, namespace, {
          ...event,
          metadata: { ...event.metadata, resourceVersion: undefined },
        });
      }
    } catch (error) {
      log(
        `event ${decision.event.reason} on ${decision.event.involvedObject.name}: ${(error as Error).message}`,
      );
    }
  }
}
