/**
 * Token authentication with explicit dependencies (no platform imports, so
 * Node-side code such as benchmarks can use it): the admin token and
 * bootstrap tokens (Secrets of type bootstrap.kubernetes.io/token in
 * kube-system, token "<id>.<secret>"). Tokens are compared in constant time
 * and never logged. auth.ts binds it to the Worker's Env.
 */
import type { Store } from "../../durable-objects/store/types.ts";

/** Who made a request (user.Info). */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** The admin identity. */
export const ADMIN_USER: UserInfo = {
  name: "system:admin",
  groups: ["system:masters", "system:authenticated"],
};

const BOOTSTRAP_TOKEN = /^([a-z0-9]{6})\.([a-z0-9]{16})$/;
const CACHE_MS = 10_000;

interface CachedSecret {
  secret?: string;
  groups: string[];
  /** Node name the token is bound to (data "node-name"), if any. */
  node?: string;
  expiresAt?: number;
  fetchedAt: number;
}

/** Short-lived cache of bootstrap-token Secrets, so each request does not read the store. */
const bootstrapCache = new Map<string, CachedSecret>();

function bearer(request: Request): string {
  const header = request.headers.get("Authorization") ?? "";
  return /^bearer /i.test(header) ? header.slice(7).trim() : "";
}

function b64(value: unknown): string | undefined {
  if (typeof value !== "string") return undefined;
  try {
    return atob(value);
  } catch {
    return undefined;
  }
}

/** Read and cache the bootstrap-token Secret for a token id. */
async function bootstrapSecret(store: Store, id: string, now: number): Promise<CachedSecret> {
  const cached = bootstrapCache.get(id);
  if (cached && now - cached.fetchedAt < CACHE_MS) return cached;
  const { kv } = await store.get(`/registry/core/secrets/kube-system/bootstrap-token-${id}`);
  const entry: CachedSecret = { groups: [], fetchedAt: now };
  if (kv) {
    const secret = JSON.parse(kv.value) as {
      type?: string;
      data?: Record<string, string>;
      metadata?: { deletionTimestamp?: string };
    };
    const data = secret.data ?? {};
    const usable =
      b64(data["usage-bootstrap-authentication"]) === "true" ||
      data["usage-bootstrap-authentication"] === undefined;
    if (
      secret.type === "bootstrap.kubernetes.io/token" &&
      b64(data["token-id"]) === id &&
      usable &&
      !secret.metadata?.deletionTimestamp
    ) {
      entry.secret = b64(data["token-secret"]);
      const expiration = b64(data.expiration);
      if (expiration) entry.expiresAt = Date.parse(expiration);
      entry.node = b64(data["node-name"]) || undefined;
      const extra = b64(data["auth-extra-groups"]);
      if (extra)
        entry.groups = extra
          .split(",")
          .map((g) => g.trim())
          .filter((g) => g.startsWith("system:bootstrappers:"));
    }
  }
  bootstrapCache.set(id, entry);
  return entry;
}

/** What the authenticator needs: the admin token and the store holding bootstrap tokens. */
export interface AuthenticatorOptions {
  adminToken?: string;
  store?: Store;
  now?: () => Date;
}

/** Build an authenticate(request) function from explicit dependencies. */
export function createAuthenticator(options: AuthenticatorOptions) {
  return async (request: Request): Promise<UserInfo | undefined> => {
    const token = bearer(request);
    if (!token) return undefined;
    if (options.adminToken && (await constantTimeEqual(token, options.adminToken))) return ADMIN_USER;
    const m = BOOTSTRAP_TOKEN.exec(token);
    if (!m || !options.store) return undefined;
    const now = (options.now?.() ?? new Date()).getTime();
    const entry = await bootstrapSecret(options.store, m[1], now);
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

/** Compare two secrets without leaking where they differ (hash both, then compare digests). */
export async function constantTimeEqual(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([
    crypto.subtle.digest("SHA-256", enc.encode(a)),
    crypto.subtle.digest("SHA-256", enc.encode(b)),
  ]);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i] ^ y[i];
  return diff === 0;
}
