/**
 * The API server's authentication, assembled once from its configuration:
 * the token services (issuer, JWT authenticator) and the request
 * authenticator (admin, bootstrap, JWT), with TokenReview asking the same
 * authenticators the API server itself uses. Shared by the Worker (index.ts,
 * auth.ts) and the tests, so both run the same chain.
 */
import type { Store } from "../../../durable-objects/store/types.ts";
import { createAuthenticator, type TokenCache, type UserInfo } from "../tokens.ts";
import { type TokenConfig, type TokenServices, tokenServices } from "./config.ts";
import type { Fetch } from "./oidc.ts";
import { bearerRequest, createReviewer } from "./review.ts";

/** What authentication needs beyond the token configuration. */
export interface AuthenticationOptions {
  adminToken?: string;
  /** Bootstrap-token cache (default the per-isolate one). */
  cache?: TokenCache;
  /** OIDC discovery/JWKS fetch (default global fetch). */
  fetch?: Fetch;
  now?: () => Date;
}

/** The request authenticator and the token services of one API server. */
export function authentication(
  config: TokenConfig,
  store: Store,
  options: AuthenticationOptions = {},
): { authenticate: (request: Request) => Promise<UserInfo | undefined>; tokens: TokenServices } {
  const tokens = tokenServices(config, store, options.fetch, options.now);
  const authenticate = createAuthenticator({
    adminToken: options.adminToken,
    store,
    jwt: tokens.authenticate,
    cache: options.cache,
    now: options.now,
  });
  tokens.review = createReviewer(tokens, async (token) => authenticate(bearerRequest(token)));
  return { authenticate, tokens };
}
