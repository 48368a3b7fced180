/**
 * The store shard's SQL: schema plus every statement, in one module, so the
 * Durable Object methods stay thin (the workers-sdk pattern).
 *
 * `log` is the append-only history: its primary key is the revision (kine's
 * model). `kv` points each live key at its latest log row. A DELETE is a log
 * row with deleted = 1 whose prev_rev points at the state it removed.
 */
import type { KeyValue, WatchEvent } from "./types.ts";

/** Schema, applied idempotently when the object starts. */
const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  rev INTEGER PRIMARY KEY,
  key TEXT NOT NULL,
  deleted INTEGER NOT NULL,
  create_rev INTEGER NOT NULL,
  prev_rev INTEGER NOT NULL,
  version INTEGER NOT NULL,
  lease INTEGER NOT NULL,
  value TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS log_key_rev ON log (key, rev);
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, rev INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS checkpoint (at INTEGER PRIMARY KEY, rev INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lease (id INTEGER PRIMARY KEY, ttl INTEGER NOT NULL, expires_at INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS lease_shard (id INTEGER NOT NULL, shard TEXT NOT NULL, PRIMARY KEY (id, shard)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS lease_local (id INTEGER PRIMARY KEY, revoked INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS log_lease ON log (lease) WHERE lease != 0;
`;

type Row = Record<string, SqlStorageValue>;

const COLS = "rev, key, deleted, create_rev, version, lease, value";
const PREV_COLS =
  "p.rev AS p_rev, p.create_rev AS p_create_rev, p.version AS p_version, p.lease AS p_lease, p.value AS p_value";

/** Upper bound of a "/"-terminated prefix's key range: the prefix with its "/" bumped to "0". */
export function prefixEnd(prefix: string): string {
  return `${prefix.slice(0, -1)}0`;
}

function toKv(r: Row): KeyValue {
  return {
    key: r.key as string,
    value: r.value as string,
    createRevision: r.create_rev as number,
    modRevision: r.rev as number,
    version: r.version as number,
    lease: r.lease as number,
  };
}

function toEvent(r: Row): WatchEvent {
  const prevKv: KeyValue | undefined =
    r.p_rev == null
      ? undefined
      : {
          key: r.key as string,
          value: r.p_value as string,
          createRevision: r.p_create_rev as number,
          modRevision: r.p_rev as number,
          version: r.p_version as number,
          lease: r.p_lease as number,
        };
  if (r.deleted === 1) {
    const prev = prevKv as KeyValue;
    return { type: "DELETE", kv: { ...prev, modRevision: r.rev as number, version: 0 }, prevKv: prev };
  }
  return prevKv ? { type: "PUT", kv: toKv(r), prevKv } : { type: "PUT", kv: toKv(r) };
}

/** Typed statements over one shard's SQLite database. */
export class ShardSql {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(SCHEMA);
  }

  /** A meta counter (rev, compacted, next_lease, ...), or `fallback`. */
  meta(name: string, fallback: number): number {
    const row = this.sql.exec("SELECT value FROM meta WHERE name = ?", name).toArray()[0];
    return row ? (row.value as number) : fallback;
  }

  setMeta(name: string, value: number): void {
    this.sql.exec("INSERT OR REPLACE INTO meta (name, value) VALUES (?, ?)", name, value);
  }

  /** Current state of a key. */
  current(key: string): KeyValue | undefined {
    const r = this.sql
      .exec(`SELECT ${COLS} FROM log WHERE rev = (SELECT rev FROM kv WHERE key = ?)`, key)
      .toArray()[0];
    return r ? toKv(r) : undefined;
  }

  /** State of a key at a past revision. */
  at(key: string, rev: number): KeyValue | undefined {
    const r = this.sql
      .exec(`SELECT ${COLS} FROM log WHERE key = ? AND rev <= ? ORDER BY rev DESC LIMIT 1`, key, rev)
      .toArray()[0];
    return r && r.deleted === 0 ? toKv(r) : undefined;
  }

  /** Appends a log row and moves the key's pointer; returns nothing (the caller built the kv). */
  appendPut(kv: KeyValue, prevRev: number): void {
    this.sql.exec(
      "INSERT INTO log (rev, key, deleted, create_rev, prev_rev, version, lease, value) VALUES (?, ?, 0, ?, ?, ?, ?, ?)",
      kv.modRevision,
      kv.key,
      kv.createRevision,
      prevRev,
      kv.version,
      kv.lease,
      kv.value,
    );
    this.sql.exec("INSERT OR REPLACE INTO kv (key, rev) VALUES (?, ?)", kv.key, kv.modRevision);
  }

  /** Appends a tombstone for `prev` at `rev` and drops the key's pointer. */
  appendDelete(prev: KeyValue, rev: number): void {
    this.sql.exec(
      "INSERT INTO log (rev, key, deleted, create_rev, prev_rev, version, lease, value) VALUES (?, ?, 1, ?, ?, 0, ?, '')",
      rev,
      prev.key,
      prev.createRevision,
      prev.modRevision,
      prev.lease,
    );
    this.sql.exec("DELETE FROM kv WHERE key = ?", prev.key);
  }

  /** Live keys in [lower, upper) at the current revision, in key order. */
  listCurrent(lower: string, upper: string, limit: number): KeyValue[] {
    return this.sql
      .exec(
        `SELECT ${COLS.split(", ")
          .map((c) => `l.${c}`)
          .join(
            ", ",
          )} FROM kv JOIN log l ON l.rev = kv.rev WHERE kv.key > ? AND kv.key < ? ORDER BY kv.key LIMIT ?`,
        lower,
        upper,
        limit > 0 ? limit : -1,
      )
      .toArray()
      .map(toKv);
  }

  countCurrent(lower: string, upper: string): number {
    return this.sql.exec("SELECT count(*) AS n FROM kv WHERE key > ? AND key < ?", lower, upper).one()
      .n as number;
  }

  /** Keys in [lower, upper) as of a past revision (the latest row at or below it, unless a tombstone). */
  listAt(lower: string, upper: string, rev: number, limit: number): KeyValue[] {
    return this.sql
      .exec(
        `SELECT ${COLS} FROM (SELECT key, max(rev) AS rev, deleted, create_rev, version, lease, value FROM log
           WHERE key > ? AND key < ? AND rev <= ? GROUP BY key) WHERE deleted = 0 ORDER BY key LIMIT ?`,
        lower,
        upper,
        rev,
        limit > 0 ? limit : -1,
      )
      .toArray()
      .map(toKv);
  }

  countAt(lower: string, upper: string, rev: number): number {
    return this.sql
      .exec(
        `SELECT count(*) AS n FROM (SELECT max(rev) AS rev, deleted FROM log
           WHERE key > ? AND key < ? AND rev <= ? GROUP BY key) WHERE deleted = 0`,
        lower,
        upper,
        rev,
      )
      .one().n as number;
  }

  /** Events with after < rev <= upTo for keys in [lower, upper), in revision order, at most `limit`. */
  events(lower: string, upper: string, after: number, upTo: number, limit: number): WatchEvent[] {
    return this.sql
      .exec(
        `SELECT l.rev, l.key, l.deleted, l.create_rev, l.version, l.lease, l.value, ${PREV_COLS}
           FROM log l LEFT JOIN log p ON p.rev = l.prev_rev AND l.prev_rev != 0
           WHERE l.rev > ? AND l.rev <= ? AND l.key > ? AND l.key < ? ORDER BY l.rev LIMIT ?`,
        after,
        upTo,
        lower,
        upper,
        limit,
      )
      .toArray()
      .map(toEvent);
  }

  /**
   * Reclaims the rows that revisions (from, to] made dead, `to` being at or
   * below the compacted revision: every such row's predecessor (the state it
   * replaced, found through prev_rev wherever it lies), and tombstones. A row
   * still current at the compacted revision is reclaimed later, when the
   * cursor reaches the write that replaced it. Returns how far it got.
   */
  compactBatch(from: number, to: number, batch: number): number {
    const end = Math.min(to, from + batch);
    this.sql.exec(
      "DELETE FROM log WHERE rev IN (SELECT prev_rev FROM log WHERE rev > ? AND rev <= ? AND prev_rev != 0)",
      from,
      end,
    );
    this.sql.exec("DELETE FROM log WHERE rev > ? AND rev <= ? AND deleted = 1", from, end);
    return end;
  }

  /** Records (time, revision) so compaction can keep T minutes of history. */
  checkpoint(at: number, rev: number, dropBefore: number): void {
    this.sql.exec("INSERT OR REPLACE INTO checkpoint (at, rev) VALUES (?, ?)", at, rev);
    this.sql.exec("DELETE FROM checkpoint WHERE at < ?", dropBefore);
  }

  /** The newest revision recorded at or before `at` (0 if none). */
  revisionAsOf(at: number): number {
    return (
      (this.sql.exec("SELECT max(rev) AS rev FROM checkpoint WHERE at <= ?", at).one().rev as number) ?? 0
    );
  }

  /** Live keys attached to a lease. */
  keysWithLease(id: number): KeyValue[] {
    return this.sql
      .exec(
        `SELECT ${COLS.split(", ")
          .map((c) => `l.${c}`)
          .join(", ")} FROM log l JOIN kv ON kv.rev = l.rev WHERE l.lease = ? ORDER BY l.key`,
        id,
      )
      .toArray()
      .map(toKv);
  }

  // Leases held by this object when it is the lease authority.

  leaseInsert(id: number, ttl: number, expiresAt: number): void {
    this.sql.exec("INSERT INTO lease (id, ttl, expires_at) VALUES (?, ?, ?)", id, ttl, expiresAt);
  }

  lease(id: number): { ttl: number; expiresAt: number } | undefined {
    const r = this.sql.exec("SELECT ttl, expires_at FROM lease WHERE id = ?", id).toArray()[0];
    return r ? { ttl: r.ttl as number, expiresAt: r.expires_at as number } : undefined;
  }

  leaseExtend(id: number, expiresAt: number): void {
    this.sql.exec("UPDATE lease SET expires_at = ? WHERE id = ?", expiresAt, id);
  }

  leaseDelete(id: number): void {
    this.sql.exec("DELETE FROM lease WHERE id = ?", id);
  }

  expiredLeases(now: number, limit: number): number[] {
    return this.sql
      .exec("SELECT id FROM lease WHERE expires_at <= ? ORDER BY expires_at LIMIT ?", now, limit)
      .toArray()
      .map((r) => r.id as number);
  }

  nextLeaseExpiry(): number | undefined {
    return (this.sql.exec("SELECT min(expires_at) AS at FROM lease").one().at as number | null) ?? undefined;
  }

  leaseShardAdd(id: number, shard: string): void {
    this.sql.exec("INSERT OR IGNORE INTO lease_shard (id, shard) VALUES (?, ?)", id, shard);
  }

  leaseShards(id: number): string[] {
    return this.sql
      .exec("SELECT shard FROM lease_shard WHERE id = ?", id)
      .toArray()
      .map((r) => r.shard as string);
  }

  leaseShardDelete(id: number, shard: string): void {
    this.sql.exec("DELETE FROM lease_shard WHERE id = ? AND shard = ?", id, shard);
  }

  // This shard's view of leases its keys use (revoked = 1 is a tombstone: ids are never reused).

  localLease(id: number): "live" | "revoked" | undefined {
    const r = this.sql.exec("SELECT revoked FROM lease_local WHERE id = ?", id).toArray()[0];
    return r ? (r.revoked === 1 ? "revoked" : "live") : undefined;
  }

  localLeaseAttach(id: number): void {
    this.sql.exec("INSERT OR IGNORE INTO lease_local (id, revoked) VALUES (?, 0)", id);
  }

  localLeaseRevoke(id: number): void {
    this.sql.exec("INSERT OR REPLACE INTO lease_local (id, revoked) VALUES (?, 1)", id);
  }
}
