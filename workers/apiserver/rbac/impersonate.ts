/**
 * Impersonation (kube's WithImpersonation filter): Impersonate-User,
 * Impersonate-Group, Impersonate-Uid and Impersonate-Extra-<key> headers
 * make the request act as another identity, provided the requester may
 * `impersonate` each part: users (or the serviceaccount behind a
 * system:serviceaccount:<ns>:<name> user), groups, uids and userextras.
 * `kubectl --as` and `--as-group` send them.
 */
import { ApiError } from "../../client/status.ts";
import type { Authorizer } from "../authorize.ts";
import type { Registry } from "../registry/registry.ts";
import type { UserInfo } from "../tokens.ts";
import { forbiddenMessage, forbiddenStatusMessage } from "./authorizer.ts";
import type { ResourceAttributes } from "./evaluate.ts";

const SA_PREFIX = "system:serviceaccount:";
const EXTRA_PREFIX = "impersonate-extra-";
const ANONYMOUS = "system:anonymous";

/** True when the request carries any impersonation header. */
function wantsImpersonation(request: Request): boolean {
  for (const [name] of request.headers) if (name.toLowerCase().startsWith("impersonate-")) return true;
  return false;
}

/** Every value of a header a client may repeat (Headers joins them with ", "). */
function values(request: Request, name: string): string[] {
  const raw = request.headers.get(name);
  if (raw === null) return [];
  return raw
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

function decodeKey(key: string): string {
  try {
    return decodeURIComponent(key).toLowerCase();
  } catch {
    throw new ApiError("BadRequest", "malformed %-escape in an Impersonate-Extra- header name");
  }
}

/**
 * The identity the request acts as: `user` itself without impersonation
 * headers, else the impersonated one once every part is authorized (403
 * Forbidden with kube's wording otherwise; 400 for groups, uid or extra without a user).
 */
export async function impersonate(
  request: Request,
  user: UserInfo,
  authorizer: Authorizer,
  registry: Registry,
): Promise<UserInfo> {
  if (!wantsImpersonation(request)) return user;
  const name = request.headers.get("Impersonate-User")?.trim() ?? "";
  const groups = values(request, "Impersonate-Group");
  const uid = request.headers.get("Impersonate-Uid")?.trim() ?? "";
  const extra: Record<string, string[]> = {};
  for (const [header] of request.headers) {
    const lower = header.toLowerCase();
    if (lower.startsWith(EXTRA_PREFIX))
      extra[decodeKey(lower.slice(EXTRA_PREFIX.length))] = values(request, header);
  }
  if (!name)
    throw new ApiError(
      "BadRequest",
      "requested impersonation of groups, uid or extra without impersonating a user",
    );
  const checks: ResourceAttributes[] = [];
  const check = (a: Omit<ResourceAttributes, "verb">) => checks.push({ verb: "impersonate", ...a });
  let saGroups: string[] = [];
  if (name.startsWith(SA_PREFIX)) {
    const [namespace, sa] = name.slice(SA_PREFIX.length).split(":");
    if (!namespace || !sa)
      throw new ApiError("BadRequest", `invalid service account user name ${JSON.stringify(name)}`);
    check({ apiGroup: "", resource: "serviceaccounts", namespace, name: sa });
    saGroups = ["system:serviceaccounts", `system:serviceaccounts:${namespace}`];
  } else check({ apiGroup: "", resource: "users", name });
  for (const group of groups) check({ apiGroup: "", resource: "groups", name: group });
  if (uid) check({ apiGroup: "authentication.k8s.io", resource: "uids", name: uid });
  for (const [key, list] of Object.entries(extra))
    for (const value of list)
      check({ apiGroup: "authentication.k8s.io", resource: "userextras", subresource: key, name: value });
  for (const attributes of checks) {
    const decision = await authorizer.decide(user, attributes, registry);
    if (decision.allowed) continue;
    const why = forbiddenMessage(user.name, attributes);
    throw new ApiError(
      "Forbidden",
      forbiddenStatusMessage(attributes, decision.reason ? `${why}: ${decision.reason}` : why),
      { name: attributes.name, group: attributes.apiGroup, kind: attributes.resource },
    );
  }
  // A service account's groups follow from its name unless groups were asked for.
  const impersonated = groups.length ? groups : saGroups;
  const marker = name === ANONYMOUS ? "system:unauthenticated" : "system:authenticated";
  return {
    name,
    groups: impersonated.includes(marker) ? impersonated : [...impersonated, marker],
    ...(uid ? { uid } : {}),
    ...(Object.keys(extra).length ? { extra } : {}),
  };
}
