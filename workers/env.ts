import type { StoreEnv, StoreObject } from "../durable-objects/store/object.ts";
import type { JoinEnv } from "./join/index.ts";
import type { MetricsEnv } from "./metrics/service.ts";

/** The Worker's bindings and configuration (wrangler.toml + secrets); a superset of what each Durable Object declares it needs. */
export interface Env extends StoreEnv, JoinEnv, MetricsEnv {
  /** Store shards: one SQLite Durable Object per shard (durable-objects/store). */
  STORE: DurableObjectNamespace<StoreObject>;
  /** One Durable Object per node: the agent's outbound WebSocket (durable-objects/tunnel; its Worker-side route: workers/tunnel). */
  TUNNEL: DurableObjectNamespace;
  /** Singleton that runs the scheduler and controllers on wake-ups (workers/controllers). */
  CONTROLLERS: DurableObjectNamespace;
  /** Built-in OCI registry content (workers/oci-registry). */
  REGISTRY: R2Bucket;
  /** cluster-admin bearer token (secret). */
  ADMIN_TOKEN?: string;
  /** ServiceAccount/user token signing keys (secret): PEM blocks (PKCS#8 private, SPKI public) or a JWK Set; the first private key signs, all verify. Unset: no tokens. */
  SERVICE_ACCOUNT_SIGNING_KEY?: string;
  /** The `iss` of ServiceAccount tokens (default https://kubernetes.default.svc.cluster.local). */
  SERVICE_ACCOUNT_ISSUER?: string;
  /** jwks_uri in the OIDC discovery document (default <issuer>/openid/v1/jwks). */
  SERVICE_ACCOUNT_JWKS_URI?: string;
  /** Comma-separated audiences the API server accepts in tokens (default: the issuer). */
  API_AUDIENCES?: string;
  /** OIDC issuers: kube's AuthenticationConfiguration jwt[] as JSON (issuer url/audiences, claimMappings). */
  AUTHENTICATION_JWT?: string;
  /** Encryption-at-rest keys (secret): `name:base64key,...`, 32-byte AES-GCM keys; the first encrypts, all decrypt. Unset: stored in plaintext. */
  ENCRYPTION_KEYS?: string;
  /**
   * Hot resources split over several store objects, `core/pods=4` (comma-separated; default none):
   * each object takes about 1/N of the resource's writes, behind a composite resourceVersion
   * (durable-objects/store/sharded.ts). Changing it moves no data: set it before the resource has objects.
   */
  STORE_SHARDS?: string;
  /** Seconds an Event lives after its last write (kube's --event-ttl; default 3600). */
  EVENT_TTL_SECONDS?: string;
  /** Concurrent watches one identity may hold open per isolate (default 100; 0 = unlimited). */
  MAX_WATCHES_PER_USER?: string;
  /** kube's --min-request-timeout: watches end after a random 1–2× this many seconds (default 1800; 0 = never). */
  MIN_REQUEST_TIMEOUT_SECONDS?: string;
  /** A quiet watch writes a newline this often so a vanished client frees its slot (default 5; 0 = never). */
  WATCH_KEEPALIVE_SECONDS?: string;
  SERVICE_CLUSTER_IP_RANGE?: string;
  SERVICE_NODE_PORT_RANGE?: string;
  /** The pod network node IPAM cuts into per-node blocks (default 10.244.0.0/16). */
  CLUSTER_CIDR?: string;
  /** Prefix length of each node's pod CIDR block (default 24). */
  NODE_CIDR_MASK_SIZE?: string;
  /** "off" disables the controllers' fast path (wake-ups after writes, timers): only the cron resync runs them. */
  CONTROLLERS_FAST_PATH?: string;
  /** Seconds without a Lease renewal before a node becomes Ready=Unknown (default 40). */
  NODE_MONITOR_GRACE_PERIOD?: string;
  /** Seconds pods tolerate an unreachable/not-ready node before they are evicted (default 300). */
  POD_EVICTION_TIMEOUT?: string;
  /** PEM of the CA pods trust for the API (the nodes' API proxies present a certificate it signed): published as the kube-root-ca.crt ConfigMap in every namespace. */
  CLUSTER_CA_CERT?: string;
  /** Seconds between evaluations of each HorizontalPodAutoscaler (default 15, kube's sync period). */
  HPA_SYNC_PERIOD_SECONDS?: string;
  /** Pod Security level (privileged, baseline, restricted) for namespaces without pod-security labels (default baseline). */
  POD_SECURITY_DEFAULT?: string;
  /** Ingress at the edge: comma-separated domains whose hosts (and subdomains) are served as Ingress, not as the API (workers/ingress). */
  INGRESS_DOMAINS?: string;
  /** What Ingresses of the edgeplane class show in status.loadBalancer.ingress: an IP or a hostname (unset: nothing). */
  INGRESS_ADDRESS?: string;
  /** Largest request body the ingress carries to a pod (default 16 MiB). */
  INGRESS_MAX_BODY_BYTES?: string;
  /** Seconds a pod has to start answering an ingress request (default 60). */
  INGRESS_RESPONSE_TIMEOUT_SECONDS?: string;
}
