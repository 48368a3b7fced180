/**
 * The token issuer: signs JWTs with the first private key, verifies with all
 * keys, and answers the OIDC discovery document and JWKS
 * (kube's pkg/serviceaccount/openidmetadata.go), so anyone holding the public
 * keys (a cloud's workload identity federation, a service mesh) can check
 * ServiceAccount tokens without asking the API server.
 */
import { createLocalJWKSet, type JWK, type JWTPayload, jwtVerify, SignJWT } from "jose";
import type { TokenKey } from "./keys.ts";

/** kube's default issuer when none is configured. */
export const DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local";

/**
 * Issuer and audience of the user tokens `edgeplane kubeconfig` mints: not a
 * URL and not the ServiceAccount issuer, so such a token can never pass as a
 * ServiceAccount token nor the other way round.
 */
export const USER_ISSUER = "edgeplane/user";

/** Leeway for exp/nbf between clocks (kube's jwt.DefaultLeeway). */
export const CLOCK_LEEWAY_SECONDS = 60;

/** What the issuer is configured with (from the Worker's vars and secret: serviceaccount/config.ts). */
export interface IssuerOptions {
  /** The `iss` of ServiceAccount tokens (SERVICE_ACCOUNT_ISSUER). */
  issuer: string;
  /** Audiences the API server accepts (API_AUDIENCES; default [issuer]). */
  audiences: string[];
  /** Published as jwks_uri (default issuer + /openid/v1/jwks). */
  jwksUri?: string;
  keys: TokenKey[];
}

/** Signs and verifies tokens with the configured keys. */
export class TokenIssuer {
  readonly issuer: string;
  readonly audiences: string[];
  private readonly keys: TokenKey[];
  private readonly jwksUri: string;
  private readonly keySet: ReturnType<typeof createLocalJWKSet>;

  constructor(options: IssuerOptions) {
    this.issuer = options.issuer;
    this.audiences = options.audiences.length > 0 ? options.audiences : [options.issuer];
    this.keys = options.keys;
    this.jwksUri = options.jwksUri ?? `${options.issuer.replace(/\/$/, "")}/openid/v1/jwks`;
    this.keySet = createLocalJWKSet(this.jwks());
  }

  /** Sign `claims` with the current signing key. */
  async sign(claims: JWTPayload): Promise<string> {
    const key = this.keys[0];
    if (!key.privateKey) throw new Error("no signing key");
    return new SignJWT(claims).setProtectedHeader({ alg: key.alg, kid: key.kid }).sign(key.privateKey);
  }

  /**
   * The verified claims of `token` from `issuer` for one of `audiences`
   * (none: audience not checked, for legacy tokens); throws when the
   * signature, issuer, audience or times are wrong.
   */
  async verify(
    token: string,
    issuer: string,
    audiences: string[] | undefined,
    now: Date,
  ): Promise<JWTPayload> {
    const { payload } = await jwtVerify(token, this.keySet, {
      issuer,
      audience: audiences,
      algorithms: [...new Set(this.keys.map((k) => k.alg))],
      currentDate: now,
      clockTolerance: CLOCK_LEEWAY_SECONDS,
    });
    return payload;
  }

  /** The public keys (/openid/v1/jwks). */
  jwks(): { keys: JWK[] } {
    return { keys: this.keys.map((k) => k.jwk) };
  }

  /** The OIDC discovery document (/.well-known/openid-configuration). */
  discovery(): Record<string, unknown> {
    return {
      issuer: this.issuer,
      jwks_uri: this.jwksUri,
      response_types_supported: ["id_token"],
      subject_types_supported: ["public"],
      id_token_signing_alg_values_supported: [...new Set(this.keys.map((k) => k.alg))],
    };
  }
}
