/**
 * ServiceAccount token claims as kube writes and checks them
 * (k8s.io/kubernetes pkg/serviceaccount/claims.go and legacy.go): the bound
 * token's private "kubernetes.io" claim with namespace, service account,
 * and the pod/secret/node it is bound to; and the legacy Secret-based
 * token's flat claims. Validation re-reads every named object so a token
 * dies with its ServiceAccount, pod or Secret (a recreated object has a new
 * uid and does not revive it).
 */
import type { JWTPayload } from "jose";
import type { KubeObject } from "../../client/kube.ts";
import type { UserInfo } from "../tokens.ts";

/** A reference with its uid, as in the kubernetes.io claim. */
export interface ObjectRef {
  name: string;
  uid: string;
}

/** The private claim of a bound token. */
export interface KubernetesClaim {
  namespace: string;
  serviceaccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
  /** After this time kube's validator warns the token is stale (extended 3607 s tokens). */
  warnafter?: number;
}

/** The claims of a bound ServiceAccount token. */
export interface ServiceAccountClaims extends JWTPayload {
  "kubernetes.io": KubernetesClaim;
}

/** The issuer of Secret-based (legacy) tokens, as kube writes it (controllers/tokens signs them). */
export const LEGACY_ISSUER = "kubernetes/serviceaccount";

/** Reads an object by resource, namespace and name from the store; undefined when absent. */
export type ObjectLookup = (
  resource: "serviceaccounts" | "pods" | "secrets" | "nodes",
  namespace: string | undefined,
  name: string,
) => Promise<KubeObject | undefined>;

/** The user name of a ServiceAccount. */
function serviceAccountUser(namespace: string, name: string): string {
  return `system:serviceaccount:${namespace}:${name}`;
}

/** A ServiceAccount's groups, as kube's MakeGroupNames plus system:authenticated. */
function serviceAccountGroups(namespace: string): string[] {
  return ["system:serviceaccounts", `system:serviceaccounts:${namespace}`, "system:authenticated"];
}

/** What a bound token is issued for. */
export interface TokenSubject {
  issuer: string;
  audiences: string[];
  namespace: string;
  serviceAccount: ObjectRef;
  pod?: ObjectRef;
  secret?: ObjectRef;
  node?: ObjectRef;
  now: Date;
  expirationSeconds: number;
  /** The credential id (jti). */
  jti: string;
}

/** The JWT claims of a bound token (kube's claims.Claims). */
export function boundClaims(s: TokenSubject): ServiceAccountClaims {
  const iat = Math.floor(s.now.getTime() / 1000);
  const kube: KubernetesClaim = { namespace: s.namespace, serviceaccount: s.serviceAccount };
  if (s.pod) kube.pod = s.pod;
  if (s.secret) kube.secret = s.secret;
  if (s.node) kube.node = s.node;
  return {
    aud: s.audiences,
    exp: iat + s.expirationSeconds,
    iat,
    iss: s.issuer,
    jti: s.jti,
    "kubernetes.io": kube,
    nbf: iat,
    sub: serviceAccountUser(s.namespace, s.serviceAccount.name),
  };
}

function isRef(value: unknown): value is ObjectRef {
  const r = value as ObjectRef | undefined;
  return typeof r?.name === "string" && typeof r.uid === "string" && r.name !== "" && r.uid !== "";
}

/** Seconds a pod may still use its token after its deletion began (kube's leeway for graceful shutdown). */
const DELETION_LEEWAY_MS = 60_000;

/** The object when it exists, carries `uid`, and is not being deleted (pods: past the leeway). */
async function live(
  lookup: ObjectLookup,
  resource: "serviceaccounts" | "pods" | "secrets" | "nodes",
  namespace: string | undefined,
  ref: ObjectRef,
  now: Date,
): Promise<KubeObject | undefined> {
  const object = await lookup(resource, namespace, ref.name);
  if (!object || object.metadata?.uid !== ref.uid) return undefined;
  const deleting = object.metadata?.deletionTimestamp;
  if (deleting) {
    const leeway = resource === "pods" ? DELETION_LEEWAY_MS : 0;
    if (Date.parse(deleting) + leeway <= now.getTime()) return undefined;
  }
  return object;
}

/**
 * The identity of a verified bound token whose objects still exist with the
 * same uids (kube's validator.Validate); undefined otherwise.
 */
export async function validateBound(
  claims: JWTPayload,
  lookup: ObjectLookup,
  now: Date,
): Promise<UserInfo | undefined> {
  const kube = claims["kubernetes.io"] as Partial<KubernetesClaim> | undefined;
  if (!kube || typeof kube.namespace !== "string" || !isRef(kube.serviceaccount)) return undefined;
  const ns = kube.namespace;
  if (claims.sub !== serviceAccountUser(ns, kube.serviceaccount.name)) return undefined;
  if (!(await live(lookup, "serviceaccounts", ns, kube.serviceaccount, now))) return undefined;
  const extra: Record<string, string[]> = {};
  if (kube.pod !== undefined) {
    if (!isRef(kube.pod) || !(await live(lookup, "pods", ns, kube.pod, now))) return undefined;
    extra["authentication.kubernetes.io/pod-name"] = [kube.pod.name];
    extra["authentication.kubernetes.io/pod-uid"] = [kube.pod.uid];
  }
  if (
    kube.secret !== undefined &&
    (!isRef(kube.secret) || !(await live(lookup, "secrets", ns, kube.secret, now)))
  )
    return undefined;
  if (kube.node !== undefined) {
    if (!isRef(kube.node)) return undefined;
    // A token bound to the node itself dies with the node; a pod token only names the pod's node.
    if (!kube.pod && !(await live(lookup, "nodes", undefined, kube.node, now))) return undefined;
    extra["authentication.kubernetes.io/node-name"] = [kube.node.name];
    extra["authentication.kubernetes.io/node-uid"] = [kube.node.uid];
  }
  if (typeof claims.jti === "string")
    extra["authentication.kubernetes.io/credential-id"] = [`JTI=${claims.jti}`];
  return {
    name: serviceAccountUser(ns, kube.serviceaccount.name),
    uid: kube.serviceaccount.uid,
    groups: serviceAccountGroups(ns),
    extra,
  };
}

/**
 * The identity of a verified legacy token: its ServiceAccount exists with the
 * uid, and its Secret exists, is of the token type for that account and
 * still holds this very token (kube's legacy validator).
 */
export async function validateLegacy(
  token: string,
  claims: JWTPayload,
  lookup: ObjectLookup,
  now: Date,
  equal: (a: string, b: string) => Promise<boolean>,
): Promise<UserInfo | undefined> {
  const ns = claims["kubernetes.io/serviceaccount/namespace"];
  const secretName = claims["kubernetes.io/serviceaccount/secret.name"];
  const sa = {
    name: claims["kubernetes.io/serviceaccount/service-account.name"],
    uid: claims["kubernetes.io/serviceaccount/service-account.uid"],
  };
  if (typeof ns !== "string" || typeof secretName !== "string" || !isRef(sa)) return undefined;
  if (claims.sub !== serviceAccountUser(ns, sa.name)) return undefined;
  if (!(await live(lookup, "serviceaccounts", ns, sa, now))) return undefined;
  const secret = (await lookup("secrets", ns, secretName)) as
    | (KubeObject & { type?: string; data?: Record<string, string> })
    | undefined;
  if (!secret || secret.metadata?.deletionTimestamp || secret.type !== "kubernetes.io/service-account-token")
    return undefined;
  if (secret.metadata?.annotations?.["kubernetes.io/service-account.uid"] !== sa.uid) return undefined;
  let stored = "";
  try {
    stored = atob(secret.data?.token ?? "");
  } catch {
    return undefined;
  }
  if (!stored || !(await equal(stored, token))) return undefined;
  return {
    name: serviceAccountUser(ns, sa.name),
    uid: sa.uid,
    groups: serviceAccountGroups(ns),
    extra: {},
  };
}
