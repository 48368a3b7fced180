/** Kubernetes Events (core/v1) for `kubectl describe`, written through the API like everything else. */
import type { KubeClient, KubeObject } from "../client/kube.ts";
import { R } from "../client/resources.ts";
import { randomSuffix, timestamp } from "../reconcile/k8s.ts";
import type { Recorder } from "../reconcile/types.ts";

/** A Recorder that creates one Event per call; write failures are swallowed (events are best effort). */
export function eventRecorder(client: KubeClient, component: string, now: () => Date): Recorder {
  return {
    async event(object, type, reason, message) {
      const meta = object.metadata ?? {};
      const namespace = meta.namespace || "default";
      const at = timestamp(now());
      const event: KubeObject = {
        apiVersion: "v1",
        kind: "Event",
        metadata: { name: `${meta.name}.${randomSuffix(10)}`, namespace },
        involvedObject: {
          apiVersion: object.apiVersion,
          kind: object.kind,
          name: meta.name,
          namespace: meta.namespace,
          uid: meta.uid,
          resourceVersion: meta.resourceVersion,
        },
        reason,
        message,
        type,
        count: 1,
        firstTimestamp: at,
        lastTimestamp: at,
        source: { component },
        reportingComponent: component,
        reportingInstance: component,
      };
      try {
        await client.create(R.events, namespace, event);
      } catch (error) {
        console.warn(
          `event ${reason} for ${namespace}/${meta.name} not recorded: ${(error as Error).message}`,
        );
      }
    },
  };
}
