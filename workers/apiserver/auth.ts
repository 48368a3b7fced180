/**
 * Bearer-token authentication, shared by the API server, the registry and
 * the tunnel endpoint. Placeholder: admin token only, until the API server lands.
 */
import type { Env } from "../env.ts";

/** Who made a request (user.Info). */
export interface UserInfo {
  name: string;
  groups: string[];
}

/** Authenticate a request's bearer token; undefined when missing or invalid. Never logs the token. */
export async function authenticate(request: Request, env: Env): Promise<UserInfo | undefined> {
  const header = request.headers.get("Authorization") ?? "";
  const token = header.startsWith("Bearer ") ? header.slice(7).trim() : "";
  if (!token || !env.ADMIN_TOKEN) return undefined;
  if (!(await constantTimeEqual(token, env.ADMIN_TOKEN))) return undefined;
  return { name: "system:admin", groups: ["system:masters", "system:authenticated"] };
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
