/**
 * The lease authority: one object (named LEASE_AUTHORITY) grants leases,
 * renews them and decides when they expire; keys using a lease live in their
 * own shards, which register with the authority on first use. Revoking (by
 * call or on expiry) tells every registered shard to delete the lease's keys;
 * a shard that cannot be reached is retried on the next alarm, so a key never
 * outlives its lease for good.
 */
import type { ShardSql } from "./sql.ts";
import { StoreError } from "./types.ts";

/** Tells one shard to delete a lease's keys (and refuse the lease from then on). */
export type RevokeInShard = (shard: string, lease: number) => Promise<void>;

/** Lease bookkeeping over the authority object's tables. */
export class LeaseAuthority {
  constructor(
    private readonly sql: ShardSql,
    private readonly now: () => number,
    private readonly revokeInShard: RevokeInShard,
  ) {}

  grant(ttl: number): { id: number; ttl: number } {
    const id = this.sql.meta("next_lease", 1);
    this.sql.setMeta("next_lease", id + 1);
    this.sql.leaseInsert(id, ttl, this.now() + ttl * 1000);
    return { id, ttl };
  }

  keepAlive(id: number): { id: number; ttl: number } {
    const lease = this.live(id);
    this.sql.leaseExtend(id, this.now() + lease.ttl * 1000);
    return { id, ttl: lease.ttl };
  }

  /** A shard is about to attach a key to `id`: remember the shard so revocation reaches it. */
  attach(id: number, shard: string): void {
    this.live(id);
    this.sql.leaseShardAdd(id, shard);
  }

  /** Revokes now; LeaseNotFound if it does not exist (expired leases may still be mid-revocation). */
  async revoke(id: number): Promise<void> {
    if (!this.sql.lease(id)) throw new StoreError("LeaseNotFound", `lease ${id} not found`);
    // Expire it first: if a shard is unreachable, the alarm finishes the job.
    this.sql.leaseExtend(id, 0);
    await this.finish(id);
  }

  /** Revokes up to `limit` expired leases; returns whether some could not be finished. */
  async expire(limit: number): Promise<boolean> {
    let failed = false;
    for (const id of this.sql.expiredLeases(this.now(), limit)) {
      try {
        await this.finish(id);
      } catch {
        failed = true;
      }
    }
    return failed;
  }

  /** When the next lease falls due, in this clock's ms. */
  nextExpiry(): number | undefined {
    return this.sql.nextLeaseExpiry();
  }

  private async finish(id: number): Promise<void> {
    const errors: unknown[] = [];
    for (const shard of this.sql.leaseShards(id)) {
      try {
        await this.revokeInShard(shard, id);
        this.sql.leaseShardDelete(id, shard);
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0)
      throw new StoreError("Unavailable", `lease ${id}: ${errors.length} shard(s) not reached`);
    this.sql.leaseDelete(id);
  }

  private live(id: number): { ttl: number; expiresAt: number } {
    const lease = this.sql.lease(id);
    if (!lease || lease.expiresAt <= this.now())
      throw new StoreError("LeaseNotFound", `lease ${id} not found`);
    return lease;
  }
}
