/**
 * Watches only this node's pods (fieldSelector spec.nodeName=<node>), the way
 * client-go's reflector does: list, then watch from the list's
 * resourceVersion; after a dropped stream resume from the last
 * resourceVersion seen; after 410 Expired relist. Every (re)list reports the
 * full set so the agent can notice pods deleted while it was away.
 */
import type { KubeClient } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import { ApiError } from "../../workers/client/status.ts";
import type { Clock } from "./clock.ts";
import type { Pod } from "./pod/k8s.ts";

/** What the agent does with pod events. */
export interface PodHandler {
  /** A pod was added or changed. */
  upsert(pod: Pod): void;
  /** A pod is gone from the API. */
  remove(pod: Pod): void;
  /** After each (re)list: the complete set of this node's pods. */
  synced(pods: Pod[]): void;
}

/** Run the list/watch loop until `signal` aborts. */
export async function watchPods(
  client: KubeClient,
  nodeName: string,
  handler: PodHandler,
  clock: Clock,
  signal: AbortSignal,
  log: (message: string) => void = () => {},
): Promise<void> {
  const fieldSelector = `spec.nodeName=${nodeName}`;
  let resourceVersion: string | undefined;
  // client-go's reflector: the first list takes the API server's watch cache's answer ("0": no store read
  // per agent when many restart at once), a relist after 410 Expired a consistent one (its relistResourceVersion).
  let listVersion = "0";
  let failures = 0;
  while (!signal.aborted) {
    try {
      if (resourceVersion === undefined) {
        const list = await client.list<Pod>(R.pods, undefined, {
          fieldSelector,
          resourceVersion: listVersion,
        });
        listVersion = "";
        resourceVersion = list.metadata.resourceVersion ?? "0";
        handler.synced(list.items);
      }
      for await (const event of client.watch<Pod>(R.pods, undefined, {
        fieldSelector,
        resourceVersion,
        allowWatchBookmarks: true,
        timeoutSeconds: 300,
        signal,
      })) {
        failures = 0;
        if (event.type === "ERROR") {
          const status = event.object as unknown as { code?: number; reason?: string; message?: string };
          if (status.code === 410 || status.reason === "Expired" || status.reason === "Gone")
            resourceVersion = undefined;
          else log(`pod watch error: ${status.message ?? JSON.stringify(status)}`);
          break;
        }
        resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
        if (event.type === "BOOKMARK") continue;
        if (event.type === "DELETED") handler.remove(event.object);
        else handler.upsert(event.object);
      }
    } catch (error) {
      if (signal.aborted) return;
      if (error instanceof ApiError && error.code === 410) resourceVersion = undefined;
      else {
        failures++;
        log(`pod watch: ${(error as Error).message}; retrying`);
        // Back off 0.5 s, 1 s, 2 s ... 30 s while the API server is unreachable.
        await clock.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal);
      }
    }
  }
}
