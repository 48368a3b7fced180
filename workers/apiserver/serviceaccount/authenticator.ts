/**
 * Bearer JWTs: picks the validator by the (unverified) issuer, then verifies
 * for real. ServiceAccount tokens (bound: signature, exp/nbf, issuer,
 * audience, live objects; legacy: signature and the Secret still holding
 * the token), user tokens minted by an admin (issuer USER_ISSUER), and
 * configured OIDC issuers (oidc.ts). Anything else, or any failed check, is
 * no identity: the API server answers 401 without saying why.
 */
import { decodeJwt, type JWTPayload } from "jose";
import { constantTimeEqual, type UserInfo } from "../tokens.ts";
import { LEGACY_ISSUER, type ObjectLookup, validateBound, validateLegacy } from "./claims.ts";
import { type TokenIssuer, USER_ISSUER } from "./issuer.ts";
import type { OidcAuthenticator } from "./oidc.ts";

/** Who a token is, and for which of the asked audiences it is valid (TokenReview status.audiences). */
export interface TokenIdentity {
  user: UserInfo;
  audiences: string[];
}

/** Authenticates a bearer token, for the given audiences (default the API server's). */
export type JwtAuthenticator = (token: string, audiences?: string[]) => Promise<TokenIdentity | undefined>;

/** Dependencies of the JWT authenticator. */
export interface JwtAuthenticatorOptions {
  /** Absent when no signing key is configured: only OIDC tokens can then authenticate. */
  issuer?: TokenIssuer;
  lookup: ObjectLookup;
  oidc?: OidcAuthenticator[];
  now?: () => Date;
}

const JWT_SHAPE = /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/;

/** Whether a bearer token has the shape of a compact JWS (three base64url parts). */
export function looksLikeJwt(token: string): boolean {
  return JWT_SHAPE.test(token);
}

/** Names a user token may not carry: they would pose as a ServiceAccount or a node. */
const RESERVED_USER_PREFIXES = ["system:serviceaccount:", "system:node:"];

function userFromClaims(claims: JWTPayload): UserInfo | undefined {
  const name = claims.sub;
  const groups = claims.groups ?? [];
  if (typeof name !== "string" || name === "" || RESERVED_USER_PREFIXES.some((p) => name.startsWith(p)))
    return undefined;
  if (!Array.isArray(groups) || groups.some((g) => typeof g !== "string")) return undefined;
  const extra: Record<string, string[]> = {};
  if (typeof claims.jti === "string")
    extra["authentication.kubernetes.io/credential-id"] = [`JTI=${claims.jti}`];
  return {
    name,
    groups: [...new Set([...(groups as string[]), "system:authenticated"])],
    extra,
  };
}

/** Build the JWT authenticator. */
export function createJwtAuthenticator(options: JwtAuthenticatorOptions): JwtAuthenticator {
  const now = options.now ?? (() => new Date());
  return async (token, requested) => {
    if (!JWT_SHAPE.test(token)) return undefined;
    let iss: string | undefined;
    try {
      iss = decodeJwt(token).iss;
    } catch {
      return undefined;
    }
    const issuer = options.issuer;
    const at = now();
    try {
      if (issuer && iss === issuer.issuer) {
        const audiences = requested ?? issuer.audiences;
        const claims = await issuer.verify(token, iss, audiences, at);
        const user = await validateBound(claims, options.lookup, at);
        const aud = typeof claims.aud === "string" ? [claims.aud] : (claims.aud ?? []);
        return user && { user, audiences: audiences.filter((a) => aud.includes(a)) };
      }
      if (issuer && iss === LEGACY_ISSUER) {
        // Legacy tokens have no audience: kube treats them as valid for the API server's audiences.
        const audiences = requested ?? issuer.audiences;
        if (!audiences.some((a) => issuer.audiences.includes(a))) return undefined;
        const claims = await issuer.verify(token, iss, undefined, at);
        const user = await validateLegacy(token, claims, options.lookup, at, constantTimeEqual);
        return user && { user, audiences: audiences.filter((a) => issuer.audiences.includes(a)) };
      }
      if (issuer && iss === USER_ISSUER) {
        const audiences = requested ?? issuer.audiences;
        if (!audiences.some((a) => issuer.audiences.includes(a))) return undefined;
        const claims = await issuer.verify(token, USER_ISSUER, [USER_ISSUER], at);
        // A user token must expire: one without exp would be a credential nobody can revoke but by key rotation.
        if (typeof claims.exp !== "number") return undefined;
        const user = userFromClaims(claims);
        return user && { user, audiences: audiences.filter((a) => issuer.audiences.includes(a)) };
      }
      const oidc = options.oidc?.find((o) => o.issuer === iss);
      if (oidc) {
        const user = await oidc.authenticate(token, at);
        return user && { user, audiences: requested ?? oidc.audiences };
      }
    } catch {
      // Bad signature, expired, wrong audience, unreachable JWKS: no identity (the reason is not the caller's to learn).
    }
    return undefined;
  };
}
