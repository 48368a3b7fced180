/**
 * A cluster-wide list+watch of one resource kept as a map, the way
 * client-go's reflector feeds an informer store: list, watch from the list's
 * resourceVersion, resume from the last one seen after a dropped stream,
 * relist after 410 Expired. `changed` fires after every applied event or
 * relist, so the consumer can coalesce.
 */
import type { KubeClient, KubeObject, ResourceRef } from "../../../workers/client/kube.ts";
import { ApiError } from "../../../workers/client/status.ts";
import type { Clock } from "../clock.ts";

/** The live objects of one resource, keyed `<namespace>/<name>`. */
export class Informer<T extends KubeObject> {
  readonly items = new Map<string, T>();
  /** True once the first list has been applied. */
  synced = false;

  constructor(
    private readonly client: KubeClient,
    private readonly ref: ResourceRef,
    private readonly changed: () => void,
    private readonly clock: Clock,
    private readonly log: (message: string) => void,
  ) {}

  /** Runs until `signal` aborts. */
  async run(signal: AbortSignal): Promise<void> {
    let resourceVersion: string | undefined;
    // As client-go's reflector: the first list from the API server's watch cache ("0"), a relist after 410 consistent.
    let listVersion = "0";
    let failures = 0;
    const key = (o: KubeObject) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
    while (!signal.aborted) {
      try {
        if (resourceVersion === undefined) {
          const list = await this.client.list<T>(this.ref, undefined, { resourceVersion: listVersion });
          listVersion = "";
          resourceVersion = list.metadata.resourceVersion ?? "0";
          this.items.clear();
          for (const item of list.items) this.items.set(key(item), item);
          this.synced = true;
          this.changed();
        }
        for await (const event of this.client.watch<T>(this.ref, undefined, {
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
            else this.log(`${this.ref.resource} watch error: ${status.message ?? status.reason}`);
            break;
          }
          resourceVersion = event.object.metadata?.resourceVersion ?? resourceVersion;
          if (event.type === "BOOKMARK") continue;
          if (event.type === "DELETED") this.items.delete(key(event.object));
          else this.items.set(key(event.object), event.object);
          this.changed();
        }
      } catch (error) {
        if (signal.aborted) return;
        if (error instanceof ApiError && error.code === 410) resourceVersion = undefined;
        else {
          failures++;
          this.log(`${this.ref.resource} watch: ${(error as Error).message}; retrying`);
          await this.clock.sleep(Math.min(30_000, 250 * 2 ** Math.min(failures, 7)), signal);
        }
      }
    }
  }
}
