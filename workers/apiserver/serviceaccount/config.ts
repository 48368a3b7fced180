/**
 * Token services from the Worker's configuration: the issuer (signing key
 * secret, issuer and audiences vars) and the JWT authenticator over the
 * store, parsed once per isolate and again only when the configuration
 * changes. A key that does not parse disables token issuing and JWT
 * authentication (fail closed) and is reported without quoting it.
 */
import type { Store } from "../../../durable-objects/store/types.ts";
import type { KubeObject } from "../../client/kube.ts";
import { createJwtAuthenticator, type JwtAuthenticator, type TokenIdentity } from "./authenticator.ts";
import type { ObjectLookup } from "./claims.ts";
import { DEFAULT_ISSUER, TokenIssuer } from "./issuer.ts";
import { parseTokenKeys } from "./keys.ts";
import { type Fetch, oidcAuthenticator, parseJwtConfig } from "./oidc.ts";

/** The configuration the token services read (a subset of the Worker's Env). */
export interface TokenConfig {
  /** PEM (PKCS#8 private, SPKI public) blocks or a JWK/JWKS; the first private key signs. */
  SERVICE_ACCOUNT_SIGNING_KEY?: string;
  SERVICE_ACCOUNT_ISSUER?: string;
  SERVICE_ACCOUNT_JWKS_URI?: string;
  /** Comma-separated audiences the API server accepts (default: the issuer). */
  API_AUDIENCES?: string;
  /** kube's AuthenticationConfiguration jwt[] as JSON (OIDC issuers). */
  AUTHENTICATION_JWT?: string;
}

/** What the API server and its subresources use to issue and check tokens. */
export interface TokenServices {
  /** The issuer, or undefined when no signing key is configured. */
  issuer(): Promise<TokenIssuer | undefined>;
  authenticate: JwtAuthenticator;
  /** Any bearer token (admin, bootstrap or JWT), as TokenReview asks: who it is, for which of the audiences. */
  review?: (token: string, audiences?: string[]) => Promise<TokenIdentity | undefined>;
}

interface Parsed {
  spec: string;
  issuer: Promise<TokenIssuer | undefined>;
  authenticate: (lookup: ObjectLookup) => JwtAuthenticator;
}

let cached: Parsed | undefined;

/** Reads objects for the validators straight from the store (through its value transform). */
function storeLookup(store: Store): ObjectLookup {
  return async (resource, namespace, name) => {
    const key = namespace
      ? `/registry/core/${resource}/${namespace}/${name}`
      : `/registry/core/${resource}/${name}`;
    const { kv } = await store.get(key);
    if (!kv) return undefined;
    try {
      return JSON.parse(kv.value) as KubeObject;
    } catch {
      return undefined;
    }
  };
}

function specOf(config: TokenConfig): string {
  return JSON.stringify([
    config.SERVICE_ACCOUNT_SIGNING_KEY,
    config.SERVICE_ACCOUNT_ISSUER,
    config.SERVICE_ACCOUNT_JWKS_URI,
    config.API_AUDIENCES,
    config.AUTHENTICATION_JWT,
  ]);
}

function parse(config: TokenConfig, spec: string, fetcher: Fetch | undefined, now?: () => Date): Parsed {
  const issuerUrl = config.SERVICE_ACCOUNT_ISSUER || DEFAULT_ISSUER;
  const audiences = (config.API_AUDIENCES ?? "")
    .split(",")
    .map((a) => a.trim())
    .filter(Boolean);
  const issuer = config.SERVICE_ACCOUNT_SIGNING_KEY
    ? parseTokenKeys(config.SERVICE_ACCOUNT_SIGNING_KEY)
        .then(
          (keys) =>
            new TokenIssuer({ issuer: issuerUrl, audiences, jwksUri: config.SERVICE_ACCOUNT_JWKS_URI, keys }),
        )
        .catch((error) => {
          console.error(`SERVICE_ACCOUNT_SIGNING_KEY: ${(error as Error).message}; tokens are disabled`);
          return undefined;
        })
    : Promise.resolve(undefined);
  let oidc: ReturnType<typeof oidcAuthenticator>[] = [];
  try {
    oidc = parseJwtConfig(config.AUTHENTICATION_JWT).map((c) => oidcAuthenticator(c, fetcher));
  } catch (error) {
    console.error(`AUTHENTICATION_JWT: ${(error as Error).message}; OIDC issuers are disabled`);
  }
  return {
    spec,
    issuer,
    authenticate: (lookup) => async (token, audiences) =>
      createJwtAuthenticator({ issuer: await issuer, lookup, oidc, now })(token, audiences),
  };
}

/** The token services for `config` over `store` (parsed keys cached per isolate). */
export function tokenServices(
  config: TokenConfig,
  store: Store,
  fetcher?: Fetch,
  now?: () => Date,
): TokenServices {
  const spec = specOf(config);
  // A caller's own fetch or clock (tests) gets its own parse; the Worker's share one per isolate.
  const own = Boolean(fetcher || now);
  const current = own || cached?.spec !== spec ? parse(config, spec, fetcher, now) : (cached as Parsed);
  if (!own) cached = current;
  return { issuer: () => current.issuer, authenticate: current.authenticate(storeLookup(store)) };
}

/** Signs claims with the configured key (the tokens controller's legacy tokens); undefined without a key. */
export function tokenSigner(
  config: TokenConfig,
): ((claims: Record<string, unknown>) => Promise<string>) | undefined {
  if (!config.SERVICE_ACCOUNT_SIGNING_KEY) return undefined;
  return async (claims) => {
    const spec = specOf(config);
    if (cached?.spec !== spec) cached = parse(config, spec, undefined);
    const issuer = await cached.issuer;
    if (!issuer) throw new Error("SERVICE_ACCOUNT_SIGNING_KEY does not parse");
    return issuer.sign(claims);
  };
}
