import type { StoreObject } from "../durable-objects/store/object.ts";

/** The Worker's bindings and configuration (wrangler.toml + secrets). */
export interface Env {
  /** Store shards: one SQLite Durable Object per shard (durable-objects/store). */
  STORE: DurableObjectNamespace<StoreObject>;
  /** One Durable Object per node: the agent's outbound WebSocket (durable-objects/tunnel). */
  TUNNEL: DurableObjectNamespace;
  /** Singleton that runs the scheduler and controllers on wake-ups (workers/controllers). */
  CONTROLLERS: DurableObjectNamespace;
  /** Built-in OCI registry content (workers/registry). */
  REGISTRY: R2Bucket;
  /** cluster-admin bearer token (secret). */
  ADMIN_TOKEN?: string;
  SERVICE_CLUSTER_IP_RANGE?: string;
  SERVICE_NODE_PORT_RANGE?: string;
  CLUSTER_CIDR?: string;
  /** "off" disables the controllers' fast path (wake-ups after writes, timers): only the cron resync runs them. */
  CONTROLLERS_FAST_PATH?: string;
  /** Seconds without a Lease renewal before a node becomes Ready=Unknown (default 40). */
  NODE_MONITOR_GRACE_PERIOD?: string;
  /** Seconds pods tolerate an unreachable/not-ready node before they are evicted (default 300). */
  POD_EVICTION_TIMEOUT?: string;
  /** Pod Security level (privileged, baseline, restricted) for namespaces without pod-security labels (default baseline). */
  POD_SECURITY_DEFAULT?: string;
}
