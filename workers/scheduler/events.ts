/**
 * The scheduler's Events off the binding path, as kube-scheduler's event
 * broadcaster keeps them: a binding slot is freed as soon as the binding is
 * written, and the `Scheduled` Events follow through a few writers of their
 * own, so a pass binding thousands of pods spends the API's capacity on
 * bindings first. A pass waits for its Events, taking in new pods meanwhile,
 * for as long as it may take them in; the rest are written behind it (their
 * writers: the config's writeConcurrency).
 */
import type { KubeObject } from "../client/kube.ts";
import type { Recorder } from "../reconcile/types.ts";

/** A Recorder whose events are written by at most `limit` writers; `drain()` resolves when all are written. */
export interface QueuedRecorder extends Recorder {
  drain(): Promise<void>;
  /** Are Events still being written? */
  busy(): boolean;
}

/** Queue a pass's Events in front of `recorder` (which never throws: events are best effort). */
export function queuedRecorder(recorder: Recorder, limit: number): QueuedRecorder {
  const queue: [KubeObject, "Normal" | "Warning", string, string][] = [];
  let writers = 0;
  let idle: (() => void) | undefined;
  const write = async () => {
    writers++;
    for (let next = queue.shift(); next; next = queue.shift()) await recorder.event(...next);
    writers--;
    const done = writers === 0 ? idle : undefined;
    if (done) idle = undefined;
    done?.();
  };
  return {
    async event(object, type, reason, message) {
      queue.push([object, type, reason, message]);
      // Started at once while a writer is free, so Events keep the order they were recorded in.
      if (writers < limit) void write();
    },
    busy: () => writers > 0,
    drain() {
      if (writers === 0) return Promise.resolve();
      return new Promise((resolve) => {
        const previous = idle;
        idle = () => {
          previous?.();
          resolve();
        };
      });
    },
  };
}
