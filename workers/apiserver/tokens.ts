/**
 * Token authentication with explicit dependencies (no platform imports, so
 * Node-side code such as benchmarks can use it): the admin token,
 * bootstrap tokens (Secrets of type bootstrap.kubernetes.io/token in
 * kube-system, token "<id>.<secret>"), and JWTs through the injected
 * authenticator (ServiceAccount, user and OIDC tokens: serviceaccount/). Tokens are compared in constant time
 * and never logged. auth.ts binds it to the Worker's Env.
 */
import type { Store } from "../../durable-objects/store/types.ts";
import { parseTimestamp } from "../client/time.ts";

/** Who made a request (user.Info). */
export interface UserInfo {
  name: string;
  groups: string[];
  /** The identity's uid (ServiceAccounts: the ServiceAccount's). */
  uid?: string;
  /** Extra attributes (authentication.kubernetes.io/pod-name, credential-id, ...; impersonated with Impersonate-Extra-<key>). */
  extra?: Record<string, string[]>;
}

/** The admin identity. */
export const ADMIN_USER: UserInfo = {
  name: "system:admin",
  groups: ["system:masters", "system:authenticated"],
};

const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;

/** A bootstrap-token Secret as the authenticator needs it; no `secret` = the token id is refused. */
interface CachedSecret {
  secret?: string;
  groups: string[];
  /** Node name the token is bound to (data "node-name"), if any. */
  node?: string;
  expiresAt?: number;
  fetchedAt: number;
}

/** Bounds of a TokenCache. */
export interface TokenCacheOptions {
  /** Most token ids held (least recently used are dropped first). */
  max?: number;
  /** How long a usable token's Secret is trusted before it is read again. */
  ttlMs?: number;
  /** How long a refused token id is remembered, so repeating it costs no store read. */
  negativeTtlMs?: number;
}

/**
 * A bounded LRU of bootstrap-token Secrets by token id, with a shorter life
 * for refusals: a flood of made-up tokens can neither grow memory past `max`
 * nor cost a store read per request for a token already refused.
 */
export class TokenCache {
  private readonly entries = new Map<string, CachedSecret>();
  readonly max: number;
  readonly ttlMs: number;
  readonly negativeTtlMs: number;

  constructor(options: TokenCacheOptions = {}) {
    this.max = options.max ?? 1000;
    this.ttlMs = options.ttlMs ?? 10_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 3_000;
  }

  /** How many token ids are held. */
  get size(): number {
    return this.entries.size;
  }

  /** The entry for `id` while still fresh at `now`, marking it most recently used. */
  get(id: string, now: number): CachedSecret | undefined {
    const entry = this.entries.get(id);
    if (!entry) return undefined;
    this.entries.delete(id);
    if (now - entry.fetchedAt >= (entry.secret ? this.ttlMs : this.negativeTtlMs)) return undefined;
    this.entries.set(id, entry);
    return entry;
  }

  /** Remember `entry` for `id`, dropping the least recently used ids past `max`. */
  set(id: string, entry: CachedSecret): void {
    this.entries.delete(id);
    this.entries.set(id, entry);
    while (this.entries.size > this.max) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }
}

/** One cache per isolate unless the caller passes its own. */
const sharedCache = new TokenCache();

/** The WebSocket subprotocol prefix that carries a base64url bearer token (browsers cannot set headers). */
const BEARER_PROTOCOL = "base64url.bearer.authorization.k8s.io.";

/** True for the subprotocol that carries a bearer token. */
export function isBearerProtocol(protocol: string): boolean {
  return protocol.startsWith(BEARER_PROTOCOL);
}

/** The token from the Authorization header, else (WebSocket upgrades only, as kube does) from the subprotocol. */
function bearer(request: Request): string {
  const header = request.headers.get("Authorization") ?? "";
  if (/^bearer /i.test(header)) return header.slice(7).trim();
  if ((request.headers.get("Upgrade") ?? "").toLowerCase() !== "websocket") return "";
  const carrier = (request.headers.get("Sec-WebSocket-Protocol") ?? "")
    .split(",")
    .map((p) => p.trim())
    .find(isBearerProtocol);
  if (!carrier) return "";
  try {
    const b64 = carrier.slice(BEARER_PROTOCOL.length).replace(/-/g, "+").replace(/_/g, "/");
    const token = atob(b64.padEnd(Math.ceil(b64.length / 4) * 4, "="));
    // A token is printable ASCII; anything else is a malformed carrier, not a credential.
    return /^[\x21-\x7e]+$/.test(token) ? token : "";
  } catch {
    return "";
  }
}

function b64(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    return atob(value);
  } catch {
    return undefined;
  }
}

/** Read a bootstrap-token Secret and decide, as kube's bootstrap authenticator does, whether it may authenticate. */
async function readBootstrapSecret(store: Store, id: string, now: number): Promise<CachedSecret> {
  const { kv } = await store.get(`/registry/core/secrets/kube-system/bootstrap-token-${id}`);
  const entry: CachedSecret = { groups: [], fetchedAt: now };
  if (!kv) return entry;
  let secret: { type?: string; data?: Record<string, string>; metadata?: { deletionTimestamp?: string } };
  try {
    secret = JSON.parse(kv.value);
  } catch {
    return entry;
  }
  const data = secret.data ?? {};
  if (
    secret.type !== "bootstrap.kubernetes.io/token" ||
    b64(data["token-id"]) !== id ||
    // Absent is refused: a token is for authentication only when it says so.
    b64(data["usage-bootstrap-authentication"]) !== "true" ||
    secret.metadata?.deletionTimestamp
  )
    return entry;
  if (data.expiration !== undefined) {
    const expiration = b64(data.expiration) ?? "";
    // An expiration that does not parse means expired (kube: isSecretExpired), never eternal.
    const at = parseTimestamp(expiration);
    if (Number.isNaN(at)) return entry;
    entry.expiresAt = at;
  }
  entry.secret = b64(data["token-secret"]);
  entry.node = b64(data["node-name"]) || undefined;
  const extra = b64(data["auth-extra-groups"]);
  if (extra)
    entry.groups = extra
      .split(",")
      .map((g) => g.trim())
      .filter((g) => g.startsWith("system:bootstrappers:"));
  return entry;
}

/** The cached entry for a token id, or a fresh read of its Secret. */
async function bootstrapSecret(
  store: Store,
  cache: TokenCache,
  id: string,
  now: number,
): Promise<CachedSecret> {
  const cached = cache.get(id, now);
  if (cached) return cached;
  const entry = await readBootstrapSecret(store, id, now);
  cache.set(id, entry);
  return entry;
}

/** What the authenticator needs: the admin token, the store holding bootstrap tokens, and the JWT authenticator. */
export interface AuthenticatorOptions {
  adminToken?: string;
  store?: Store;
  /** ServiceAccount, user and OIDC JWTs (serviceaccount/authenticator.ts), for the API server's audiences. */
  jwt?: (token: string) => Promise<{ user: UserInfo } | undefined>;
  now?: () => Date;
  /** Bootstrap-token cache; default one shared per isolate. */
  cache?: TokenCache;
}

/** Build an authenticate(request) function from explicit dependencies. */
export function createAuthenticator(options: AuthenticatorOptions) {
  return async (request: Request): Promise<UserInfo | undefined> => {
    const token = bearer(request);
    if (!token) return undefined;
    if (options.adminToken && (await constantTimeEqual(token, options.adminToken))) return ADMIN_USER;
    const m = BOOTSTRAP_TOKEN.exec(token);
    if (!m) return options.jwt ? (await options.jwt(token))?.user : undefined;
    if (!options.store) return undefined;
    const now = (options.now?.() ?? new Date()).getTime();
    const entry = await bootstrapSecret(options.store, options.cache ?? sharedCache, m[1], now);
    if (!entry.secret || (entry.expiresAt !== undefined && entry.expiresAt < now)) return undefined;
    if (!(await constantTimeEqual(m[2], entry.secret))) return undefined;
    // Edgeplane extension: a token bound to one node (data "node-name") is that node's credential.
    if (entry.node)
      return { name: `system:node:${entry.node}`, groups: ["system:nodes", "system:authenticated"] };
    return {
      name: `system:bootstrap:${m[1]}`,
      // Not "system:nodes": an unbound token is no node (authorize.ts limits it to discovery).
      groups: ["system:bootstrappers", ...entry.groups, "system:authenticated"],
    };
  };
}

const sha256 = (text: string) => crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));

/**
 * Digests of the known secrets (the admin token, bootstrap tokens' secrets), kept per isolate: every
 * request with a bearer token compares against one, and that side does not change between requests.
 * Bounded: cleared when full, so rotated secrets do not pile up.
 */
const knownDigests = new Map<string, ArrayBuffer>();
async function knownDigest(secret: string): Promise<ArrayBuffer> {
  // The value, not the promise, is kept: a workerd request must not wait on a promise another request made.
  const cached = knownDigests.get(secret);
  if (cached) return cached;
  const digest = await sha256(secret);
  if (knownDigests.size >= 256) knownDigests.clear();
  knownDigests.set(secret, digest);
  return digest;
}

/** Compare a presented secret with a known one without leaking where they differ (hash both, compare digests). */
export async function constantTimeEqual(presented: string, secret: string): Promise<boolean> {
  const [da, db] = await Promise.all([sha256(presented), knownDigest(secret)]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}
