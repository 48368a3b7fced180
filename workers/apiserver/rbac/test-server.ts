/** A test API server with RBAC on, over a memory store, and users picked by bearer token (tests only). */
import { MemoryStore } from "../../../durable-objects/store/memory.ts";
import { createApiServer } from "../app.ts";
import { createAuthorizer } from "../authorize.ts";
import { RESOURCES } from "../kinds/index.ts";
import { ADMIN_USER, type UserInfo } from "../tokens.ts";
import { RbacCache } from "./cache.ts";

/** A decoded JSON answer, read loosely by tests. */
// biome-ignore lint/suspicious/noExplicitAny: tests read arbitrary Status and object shapes.
export type Json = Record<string, any>;

/** Bearer token → identity. */
const TEST_USERS: Record<string, UserInfo> = {
  admin: ADMIN_USER,
  alice: { name: "alice", groups: ["system:authenticated"] },
  ada: { name: "ada", groups: ["system:authenticated"] },
  node: { name: "system:node:n1", groups: ["system:nodes", "system:authenticated"] },
};

/** The RBAC API path prefix. */
export const RBAC = "/apis/rbac.authorization.k8s.io/v1";

/** A call(who, method, path, body?, headers?) function over a fresh server. */
export function rbacServer(options: { store?: MemoryStore; cache?: RbacCache } = {}) {
  const app = createApiServer({
    store: options.store ?? new MemoryStore(),
    resources: RESOURCES,
    authenticate: async (r) => TEST_USERS[(r.headers.get("Authorization") ?? "").replace("Bearer ", "")],
    authorizer: createAuthorizer({ cache: options.cache ?? new RbacCache() }),
  });
  return async (
    who: string,
    method: string,
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: Json }> => {
    const res = await app.request(path, {
      method,
      headers: { Authorization: `Bearer ${who}`, "Content-Type": "application/json", ...headers },
      body: body === undefined ? undefined : body instanceof Uint8Array ? body : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Json };
  };
}

/** A RoleBinding or ClusterRoleBinding body. */
export function binding(name: string, kind: string, role: string, subjects: object[], type = "RoleBinding") {
  return {
    apiVersion: "rbac.authorization.k8s.io/v1",
    kind: type,
    metadata: { name },
    roleRef: { apiGroup: "rbac.authorization.k8s.io", kind, name: role },
    subjects,
  };
}

/** A User subject. */
export const user = (name: string) => ({ kind: "User", apiGroup: "rbac.authorization.k8s.io", name });
