/**
 * Bearer-token authentication bound to the Worker's Env, shared by the API
 * server, the registry and the tunnel endpoint: the admin token
 * (env.ADMIN_TOKEN), bootstrap-token Secrets read from the Durable Object
 * store, and ServiceAccount/user/OIDC JWTs (serviceaccount/config.ts). The logic lives in tokens.ts.
 */
import type { Env } from "../env.ts";
import { authentication } from "./serviceaccount/wiring.ts";
import { storeForEnv } from "./storage.ts";

export { ADMIN_USER, constantTimeEqual, createAuthenticator, type UserInfo } from "./tokens.ts";

/** Authenticate a request's bearer token; undefined when missing or invalid. Never logs the token. */
export async function authenticate(request: Request, env: Env) {
  return authentication(env, storeForEnv(env), { adminToken: env.ADMIN_TOKEN }).authenticate(request);
}
