/**
 * Store leases for objects that expire (kube-apiserver's etcd3 leaseManager):
 * every write of such an object attaches a lease so the store deletes the
 * object when the lease runs out. One lease is shared by the writes of a
 * short window (5% of the TTL, at most a minute) and granted that much
 * longer, so a burst of Events costs one grant, not one per Event, and no
 * object lives less than the TTL.
 *
 * The manager is shared by an isolate's requests, so it holds no store: a
 * grant goes through the calling request's. workerd binds a Durable Object
 * stub to the request that made it; a store kept from the first request
 * failed every later grant ("Cannot perform I/O on behalf of a different
 * request", I/O type OutgoingFactory), so once the first shared lease aged
 * out no Event could be written in that isolate again.
 */
import type { Store } from "../../../durable-objects/store/types.ts";

const REUSE_FRACTION = 0.05;
const MAX_REUSE_SECONDS = 60;

/** Hands out lease ids for a TTL, reusing a recent grant. */
export interface LeaseManager {
  /** A lease that lives at least `ttlSeconds` from now, granted (when a new one is due) through `store`, the caller's. */
  leaseFor(store: Pick<Store, "leaseGrant">, ttlSeconds: number): Promise<number>;
  /** Forget a lease the store refused (revoked early), so the next call grants a fresh one. */
  forget(id: number): void;
}

/** A lease manager over the injected clock (ms). */
export function createLeaseManager(now: () => number): LeaseManager {
  let previous: { id: number; ttl: number; expiresAt: number } | undefined;
  return {
    async leaseFor(store, ttl) {
      const reuse = Math.min(Math.floor(ttl * REUSE_FRACTION), MAX_REUSE_SECONDS);
      const t = now();
      // Valid: outlives this object's TTL. Sufficient: not granted so long ago that it outlives it by more than the window.
      if (
        previous &&
        previous.ttl === ttl + reuse &&
        t + ttl * 1000 < previous.expiresAt &&
        t + (ttl + reuse) * 1000 >= previous.expiresAt
      )
        return previous.id;
      const granted = await store.leaseGrant(ttl + reuse);
      previous = { id: granted.id, ttl: ttl + reuse, expiresAt: t + (ttl + reuse) * 1000 };
      return granted.id;
    },
    forget(id) {
      if (previous?.id === id) previous = undefined;
    },
  };
}
