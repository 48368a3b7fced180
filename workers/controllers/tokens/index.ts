/**
 * Tokens controller (kube's serviceaccount TokensController): a Secret of
 * type kubernetes.io/service-account-token naming a ServiceAccount in its
 * kubernetes.io/service-account.name annotation is filled with a legacy
 * (non-expiring) token for that account, ca.crt and namespace, and stamped
 * with the account's uid; a token Secret whose account is gone (or was
 * recreated with another uid) is deleted, which also revokes its token. Without a
 * signing key the controller leaves Secrets alone.
 */
import type { KubeObject } from "../../client/kube.ts";
import { R } from "../../client/resources.ts";
import { ApiError } from "../../client/status.ts";
import {
  ALL_KEYS,
  type Controller,
  type Deps,
  type ObjectEvent,
  type Result,
} from "../../reconcile/types.ts";

const TOKEN_TYPE = "kubernetes.io/service-account-token";
const NAME_ANNOTATION = "kubernetes.io/service-account.name";
const UID_ANNOTATION = "kubernetes.io/service-account.uid";
/** The legacy token's issuer, as kube writes it (serviceaccount/claims.ts checks the same). */
const LEGACY_ISSUER = "kubernetes/serviceaccount";

type Secret = KubeObject & { type?: string; data?: Record<string, string> };

function b64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

function tolerate(error: unknown): void {
  // Gone already, changed meanwhile (the next event retries), or the namespace is terminating.
  if (!(error instanceof ApiError && (error.code === 404 || error.code === 409 || error.code === 403)))
    throw error;
}

/** Bring token Secret `key` ("namespace/name") in line with its ServiceAccount. */
export async function reconcileTokenSecret(key: string, deps: Deps): Promise<Result | undefined> {
  const sign = deps.config.signToken;
  if (!sign) return undefined;
  const [namespace, name] = key.split("/");
  const secret = await deps.cache.get<Secret>(R.secrets, namespace, name);
  if (!secret || secret.type !== TOKEN_TYPE || secret.metadata?.deletionTimestamp) return undefined;
  const annotations = secret.metadata?.annotations ?? {};
  const account = annotations[NAME_ANNOTATION] ?? "";
  const sa = await deps.cache.get(R.serviceaccounts, namespace, account);
  const uid = annotations[UID_ANNOTATION];
  if (!sa || (uid && uid !== sa.metadata?.uid)) {
    await deps.client
      .delete(R.secrets, namespace, name, { preconditions: { uid: secret.metadata?.uid } })
      .then(() => deps.cache.wrote(R.secrets, secret, true), tolerate);
    return undefined;
  }
  const ca = deps.config.rootCACert ?? "";
  const data = secret.data ?? {};
  if (data.token && data.namespace === b64(namespace) && data["ca.crt"] === b64(ca) && uid) return undefined;
  const saUid = sa.metadata?.uid ?? "";
  const token =
    data.token ??
    b64(
      await sign({
        iss: LEGACY_ISSUER,
        "kubernetes.io/serviceaccount/namespace": namespace,
        "kubernetes.io/serviceaccount/secret.name": name,
        "kubernetes.io/serviceaccount/service-account.name": account,
        "kubernetes.io/serviceaccount/service-account.uid": saUid,
        sub: `system:serviceaccount:${namespace}:${account}`,
      }),
    );
  const updated = structuredClone(secret);
  updated.metadata = { ...updated.metadata, annotations: { ...annotations, [UID_ANNOTATION]: saUid } };
  updated.data = { ...data, token, "ca.crt": b64(ca), namespace: b64(namespace) };
  await deps.client
    .update(R.secrets, namespace, updated)
    .then((result) => deps.cache.wrote(R.secrets, result, false), tolerate);
  return undefined;
}

/** The tokens controller. */
export const tokensController: Controller = {
  name: "serviceaccount-token",
  watches: ["/secrets", "/serviceaccounts"],
  keys: async (deps) =>
    (await deps.cache.list<Secret>(R.secrets))
      .filter((s) => s.type === TOKEN_TYPE)
      .map((s) => `${s.metadata?.namespace}/${s.metadata?.name}`),
  keysFor: (event: ObjectEvent) => {
    if (event.resource === "/serviceaccounts") return [ALL_KEYS];
    const s = event.object as Secret;
    return s.type === TOKEN_TYPE ? [`${s.metadata?.namespace}/${s.metadata?.name}`] : [];
  },
  reconcile: reconcileTokenSecret,
};
