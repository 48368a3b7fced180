/**
 * Bearer-token authentication bound to the Worker's Env, shared by the API
 * server, the registry and the tunnel endpoint: the admin token
 * (env.ADMIN_TOKEN) and bootstrap-token Secrets read from the Durable Object
 * store. The logic lives in tokens.ts.
 */
import type { Env } from "../env.ts";
import { storeForEnv } from "./storage.ts";
import { createAuthenticator } from "./tokens.ts";

export { ADMIN_USER, constantTimeEqual, createAuthenticator, type UserInfo } from "./tokens.ts";

/** Authenticate a request's bearer token; undefined when missing or invalid. Never logs the token. */
export async function authenticate(request: Request, env: Env) {
  return createAuthenticator({ adminToken: env.ADMIN_TOKEN, store: storeForEnv(env) })(request);
}
