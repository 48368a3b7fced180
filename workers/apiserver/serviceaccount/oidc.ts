/**
 * OIDC issuers as kube's structured JWT authenticator
 * (apiserver.config.k8s.io AuthenticationConfiguration jwt[]): issuer URL
 * and audiences, claim mappings for username and groups with prefixes. The
 * issuer's JWKS is found through its discovery document and fetched and
 * cached by jose (re-fetched on an unknown kid, at most every 30 s). People
 * log in with their identity provider through a kubectl exec plugin such as
 * kubelogin; the API server only verifies the ID token.
 */
import { createRemoteJWKSet, customFetch, type JWTPayload, jwtVerify } from "jose";
import type { UserInfo } from "../tokens.ts";
import { CLOCK_LEEWAY_SECONDS } from "./issuer.ts";

/** One jwt[] entry of the AUTHENTICATION_JWT var (JSON), as kube spells it. */
export interface JwtAuthenticatorConfig {
  issuer: { url: string; audiences: string[]; discoveryURL?: string };
  claimMappings?: {
    username?: { claim?: string; prefix?: string };
    groups?: { claim?: string; prefix?: string };
  };
}

/** A configured OIDC issuer. */
export interface OidcAuthenticator {
  issuer: string;
  audiences: string[];
  /** The user of a token from this issuer; throws or returns undefined when it is not valid. */
  authenticate(token: string, now: Date): Promise<UserInfo | undefined>;
}

/** Parse AUTHENTICATION_JWT; a bad entry is an error naming the entry, never a silently open door. */
export function parseJwtConfig(text: string | undefined): JwtAuthenticatorConfig[] {
  if (!text?.trim()) return [];
  const parsed = JSON.parse(text) as JwtAuthenticatorConfig[] | { jwt?: JwtAuthenticatorConfig[] };
  const list = Array.isArray(parsed) ? parsed : (parsed.jwt ?? []);
  list.forEach((entry, i) => {
    const url = entry?.issuer?.url;
    if (typeof url !== "string" || !url.startsWith("https://"))
      throw new Error(`jwt[${i}].issuer.url must be an https URL`);
    if (!Array.isArray(entry.issuer.audiences) || entry.issuer.audiences.length === 0)
      throw new Error(`jwt[${i}].issuer.audiences must list at least one audience`);
  });
  return list;
}

/** The fetch the JWKS client uses (tests pass their own; the Worker uses global fetch). */
export type Fetch = (input: string, init?: RequestInit) => Promise<Response>;

/** Build one OIDC authenticator. */
export function oidcAuthenticator(config: JwtAuthenticatorConfig, fetcher: Fetch = fetch): OidcAuthenticator {
  const url = config.issuer.url.replace(/\/$/, "");
  const discovery = config.issuer.discoveryURL ?? `${url}/.well-known/openid-configuration`;
  let keySet: Promise<ReturnType<typeof createRemoteJWKSet>> | undefined;
  const keys = () => {
    keySet ??= (async () => {
      const res = await fetcher(discovery, { headers: { Accept: "application/json" } });
      if (!res.ok) throw new Error(`OIDC discovery answered ${res.status}`);
      const doc = (await res.json()) as { jwks_uri?: string };
      if (typeof doc.jwks_uri !== "string") throw new Error("OIDC discovery has no jwks_uri");
      return createRemoteJWKSet(new URL(doc.jwks_uri), {
        [customFetch]: (input: string, init: RequestInit) => fetcher(input, init),
      } as Parameters<typeof createRemoteJWKSet>[1]);
    })().catch((error) => {
      keySet = undefined;
      throw error;
    });
    return keySet;
  };
  const username = config.claimMappings?.username ?? {};
  const userClaim = username.claim ?? "sub";
  // kube's legacy default: non-email usernames are prefixed with the issuer, so they cannot collide with others.
  const userPrefix = username.prefix ?? (userClaim === "email" ? "" : `${url}#`);
  const groupClaim = config.claimMappings?.groups?.claim;
  const groupPrefix = config.claimMappings?.groups?.prefix ?? "";
  return {
    issuer: config.issuer.url,
    audiences: config.issuer.audiences,
    async authenticate(token, now) {
      const { payload } = await jwtVerify(token, await keys(), {
        issuer: config.issuer.url,
        audience: config.issuer.audiences,
        currentDate: now,
        clockTolerance: CLOCK_LEEWAY_SECONDS,
      });
      return userOf(payload, userClaim, userPrefix, groupClaim, groupPrefix);
    },
  };
}

function userOf(
  payload: JWTPayload,
  userClaim: string,
  userPrefix: string,
  groupClaim: string | undefined,
  groupPrefix: string,
): UserInfo | undefined {
  const name = payload[userClaim];
  if (typeof name !== "string" || name === "") return undefined;
  // The system: names belong to the cluster (admins, nodes, ServiceAccounts): an identity provider cannot grant them.
  if (`${userPrefix}${name}`.startsWith("system:")) return undefined;
  // kube refuses an email claim whose email_verified is present and false.
  if (userClaim === "email" && payload.email_verified === false) return undefined;
  const raw = groupClaim ? payload[groupClaim] : undefined;
  const groups =
    typeof raw === "string" ? [raw] : Array.isArray(raw) ? raw.filter((g) => typeof g === "string") : [];
  return {
    name: `${userPrefix}${name}`,
    groups: [
      ...groups.map((g) => `${groupPrefix}${g}`).filter((g) => !g.startsWith("system:")),
      "system:authenticated",
    ],
    extra: {},
  };
}
