/** The Worker's bindings and configuration (wrangler.toml + secrets). */
export interface Env {
  /** Store shards: one SQLite Durable Object per shard (durable-objects/store). */
  STORE: DurableObjectNamespace;
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
}
