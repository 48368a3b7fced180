/**
 * User credentials without the admin token: POST /edgeplane/v1/usertokens
 * mints a signed, expiring JWT for a user name and groups (what
 * `edgeplane kubeconfig --user alice --group dev --ttl 24h` calls). Not a
 * kind: nothing is stored and kube has no such API, so it is a non-resource
 * endpoint like /.well-known/openid-configuration. Only system:masters may
 * call it, whatever the authorizer says: minting a token for any name and
 * group is impersonating anyone, which no narrower grant should imply.
 * The token has its own issuer and audience (USER_ISSUER), so it can never
 * pass as a ServiceAccount token. Revocation: short TTLs, or rotating the
 * signing key (which revokes every token it signed).
 */
import { ApiError, errors } from "../../client/status.ts";
import { timestamp } from "../../client/time.ts";
import type { UserInfo } from "../tokens.ts";
import type { TokenIssuer } from "./issuer.ts";
import { USER_ISSUER } from "./issuer.ts";

/** The endpoint's path. */
export const USER_TOKENS_PATH = "/edgeplane/v1/usertokens";
const MIN_SECONDS = 600;
/** A year: a longer-lived credential should be an OIDC login, not a bearer token in a file. */
const MAX_SECONDS = 366 * 24 * 3600;
const RESERVED = ["system:serviceaccount:", "system:node:"];

/** What the endpoint accepts. */
export interface UserTokenRequest {
  user?: unknown;
  groups?: unknown;
  expirationSeconds?: unknown;
}

/** Mint a user token for `body`, asked by `requester`; throws ApiError Status for anything wrong. */
export async function mintUserToken(
  body: UserTokenRequest,
  requester: UserInfo,
  issuer: TokenIssuer | undefined,
  now: Date,
): Promise<Record<string, unknown>> {
  if (!requester.groups.includes("system:masters"))
    throw new ApiError(
      "Forbidden",
      `User "${requester.name}" cannot create user tokens: only system:masters may`,
    );
  if (!issuer)
    throw new ApiError(
      "NotFound",
      "user tokens are not enabled: the API server has no signing key (SERVICE_ACCOUNT_SIGNING_KEY)",
    );
  const causes = [];
  const { user, groups, expirationSeconds = 86400 } = body;
  if (typeof user !== "string" || user === "")
    causes.push({ reason: "FieldValueRequired", field: "user", message: "Required value" });
  else if (RESERVED.some((p) => user.startsWith(p)))
    causes.push({
      reason: "FieldValueForbidden",
      field: "user",
      message: "Forbidden: ServiceAccount and node identities get their own credentials",
    });
  if (
    groups !== undefined &&
    (!Array.isArray(groups) || groups.some((g) => typeof g !== "string" || g === ""))
  )
    causes.push({
      reason: "FieldValueInvalid",
      field: "groups",
      message: "Invalid value: must be a list of non-empty strings",
    });
  if (
    typeof expirationSeconds !== "number" ||
    !Number.isInteger(expirationSeconds) ||
    expirationSeconds < MIN_SECONDS ||
    expirationSeconds > MAX_SECONDS
  )
    causes.push({
      reason: "FieldValueInvalid",
      field: "expirationSeconds",
      message: `Invalid value: ${JSON.stringify(expirationSeconds)}: must be between ${MIN_SECONDS} and ${MAX_SECONDS} seconds`,
    });
  if (causes.length) throw errors.invalid("UserTokenRequest", String(user ?? ""), causes, "edgeplane.dev");
  const iat = Math.floor(now.getTime() / 1000);
  const exp = iat + (expirationSeconds as number);
  const token = await issuer.sign({
    iss: USER_ISSUER,
    aud: [USER_ISSUER],
    sub: user as string,
    groups: (groups as string[] | undefined) ?? [],
    iat,
    nbf: iat,
    exp,
    jti: crypto.randomUUID(),
  });
  return {
    user,
    groups: groups ?? [],
    token,
    expirationTimestamp: timestamp(new Date(exp * 1000)),
  };
}
