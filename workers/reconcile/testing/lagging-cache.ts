/**
 * A cache whose pods lag behind the writes, as a pod informer whose watch is
 * slow: pods are read as listed at the last `catchUp()` (our own writes are not
 * applied), and catching up reports each pod that appeared or went away to the
 * expectations as the informer's events would. Other resources read current
 * (so the owner's status writes do not conflict).
 */
import type { KubeObject, ResourceRef } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import type { Expectations } from "../expectations.ts";
import { Snapshot } from "../snapshot.ts";
import type { ObjectCache } from "../types.ts";
import type { FakeClient } from "./fake-client.ts";

const uidOf = (o: KubeObject) => o.metadata?.uid ?? "";

/** A stale view of a FakeClient; see the file comment. */
export class LaggingCache implements ObjectCache {
  private view: Snapshot;
  private pods: KubeObject[] = [];

  constructor(
    private readonly client: FakeClient,
    private readonly expectations: Expectations,
  ) {
    this.view = new Snapshot(client);
  }

  list<T extends KubeObject = KubeObject>(ref: ResourceRef): Promise<T[]> {
    return this.viewOf(ref).list<T>(ref);
  }

  get<T extends KubeObject = KubeObject>(
    ref: ResourceRef,
    namespace: string | undefined,
    name: string,
  ): Promise<T | undefined> {
    return this.viewOf(ref).get<T>(ref, namespace, name);
  }

  private viewOf(ref: ResourceRef): Snapshot {
    return ref === R.pods ? this.view : new Snapshot(this.client);
  }

  /** The lag: our own writes are not seen until the watch catches up. */
  wrote(): void {}
  assume(): void {}

  /** The watch catches up: deliver the pod events since the last catch-up, then read the new state. */
  async catchUp(): Promise<void> {
    const before = new Map(this.pods.map((p) => [uidOf(p), p]));
    const after = await new Snapshot(this.client).list(R.pods);
    for (const pod of after) {
      const old = before.get(uidOf(pod));
      this.expectations.observe(
        old ? { type: "MODIFIED", object: pod, old } : { type: "ADDED", object: pod },
      );
      before.delete(uidOf(pod));
    }
    for (const gone of before.values())
      this.expectations.observe({ type: "DELETED", object: gone, old: gone });
    this.pods = after;
    this.view = new Snapshot(this.client);
  }
}
