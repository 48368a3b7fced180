/**
 * Registry authentication with the API server's tokens: `Authorization:
 * Bearer <token>`, or Basic with the token as the password (what skopeo,
 * containerd and docker send for `--creds user:token`). Any authenticated
 * identity may pull (node agents included); only cluster admins may push.
 */
import { authenticate, type UserInfo } from "../apiserver/auth.ts";
import type { Env } from "../env.ts";
import { RegistryError } from "./errors.ts";

/** What a request wants to do to the registry. */
export type Access = "pull" | "push";

/** The challenge sent with 401s: Basic, so clients send their token as a password without a token service. */
const CHALLENGE = 'Basic realm="edgeplane registry", charset="UTF-8"';

/** The bearer token carried by a request (Bearer, or Basic password); empty when none. Never logged. */
function registryToken(request: Request): string {
  const header = request.headers.get("Authorization") ?? "";
  const space = header.indexOf(" ");
  if (space < 0) return "";
  const scheme = header.slice(0, space).toLowerCase();
  const value = header.slice(space + 1).trim();
  if (scheme === "bearer") return value;
  if (scheme !== "basic") return "";
  try {
    const decoded = atob(value);
    const colon = decoded.indexOf(":");
    return colon < 0 ? "" : decoded.slice(colon + 1);
  } catch {
    return "";
  }
}

/** Authenticate a registry request and check it may do `access`; throws UNAUTHORIZED (401) or DENIED (403). */
export async function authorizeRegistry(request: Request, env: Env, access: Access): Promise<UserInfo> {
  const token = registryToken(request);
  const user = token
    ? await authenticate(new Request(request.url, { headers: { Authorization: `Bearer ${token}` } }), env)
    : undefined;
  if (!user) {
    throw new RegistryError("UNAUTHORIZED", "authentication required", null, 401, {
      "WWW-Authenticate": CHALLENGE,
    });
  }
  if (access === "push" && !isAdmin(user)) {
    throw new RegistryError("DENIED", `user "${user.name}" may pull but not push`);
  }
  return user;
}

/** Cluster admins (system:masters) may push. */
function isAdmin(user: UserInfo): boolean {
  return user.name === "system:admin" || user.groups.includes("system:masters");
}
