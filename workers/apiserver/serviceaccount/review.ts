/**
 * The TokenReview question "who is this token, for these audiences?" over
 * every authenticator the API server has: JWTs are audience-aware; the admin
 * and bootstrap tokens are not, so (as kube wraps such authenticators) they
 * are valid only for the API server's own audiences.
 */
import type { UserInfo } from "../tokens.ts";
import { looksLikeJwt, type TokenIdentity } from "./authenticator.ts";
import type { TokenServices } from "./config.ts";
import { DEFAULT_ISSUER } from "./issuer.ts";

/** Build TokenServices.review from the JWT services and the request authenticator for other tokens. */
export function createReviewer(
  tokens: TokenServices,
  other: (token: string) => Promise<UserInfo | undefined>,
): (token: string, audiences?: string[]) => Promise<TokenIdentity | undefined> {
  return async (token, audiences) => {
    if (looksLikeJwt(token)) return tokens.authenticate(token, audiences);
    // A token no header can carry (control characters) is simply not a credential.
    const user = await other(token).catch(() => undefined);
    if (!user) return undefined;
    const api = (await tokens.issuer())?.audiences ?? [DEFAULT_ISSUER];
    const valid = (audiences ?? api).filter((a) => api.includes(a));
    return valid.length > 0 ? { user, audiences: valid } : undefined;
  };
}

/** Authenticate `token` with an authenticator that reads requests (throws for a token no header can carry). */
export function bearerRequest(token: string): Request {
  return new Request("http://review.internal/", { headers: { Authorization: `Bearer ${token}` } });
}
