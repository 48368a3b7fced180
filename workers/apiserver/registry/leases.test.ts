/**
 * The Event lease manager is shared by an isolate's requests: a grant must go
 * through the store of the request that needs it. One kept from the first
 * request is a Durable Object stub of that request, which workerd refuses
 * from any other ("Cannot perform I/O on behalf of a different request"):
 * every Event write failed once the first shared lease aged out.
 */
import { describe, expect, it } from "vitest";
import { createLeaseManager } from "./leases.ts";

/** A store's lease grants, counted (the manager needs nothing else of it). */
function grants(firstId: number) {
  const granted: number[] = [];
  let next = firstId;
  return {
    granted,
    leaseGrant: async (ttl: number) => {
      granted.push(ttl);
      return { id: next++, ttl };
    },
  };
}

describe("LeaseManager", () => {
  it("reuses a recent grant, and grants a new one through the calling request's store", async () => {
    let now = 1_000_000;
    const leases = createLeaseManager(() => now);
    const first = grants(1);
    const second = grants(100);
    // TTL 3600 s: a grant of 3660 s is shared for 60 s.
    expect(await leases.leaseFor(first, 3600)).toBe(1);
    now += 30_000;
    expect(await leases.leaseFor(second, 3600)).toBe(1);
    expect(second.granted).toEqual([]);
    now += 31_000;
    // Past the window: a new grant, and only the caller's store is asked for it.
    expect(await leases.leaseFor(second, 3600)).toBe(100);
    expect(second.granted).toEqual([3660]);
    expect(first.granted).toEqual([3660]);
  });

  it("grants afresh after a lease was forgotten (revoked under us)", async () => {
    const leases = createLeaseManager(() => 0);
    const store = grants(7);
    expect(await leases.leaseFor(store, 60)).toBe(7);
    leases.forget(7);
    expect(await leases.leaseFor(store, 60)).toBe(8);
    expect(store.granted).toEqual([63, 63]);
  });
});
