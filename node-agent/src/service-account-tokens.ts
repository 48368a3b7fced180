/**
 * The node's ServiceAccount token manager (kubelet's pkg/kubelet/token):
 * tokens for projected serviceAccountToken volumes, requested through
 * TokenRequest bound to the pod (the only kind a node may ask for), cached
 * per pod, account, audience and lifetime, and requested again once 80 % of
 * the lifetime (or 24 h) has passed, so the periodic volume rewrite puts a
 * fresh token in the file well before the old one expires.
 */
import type { KubeClient, KubeObject } from "../../workers/client/kube.ts";
import { R } from "../../workers/client/resources.ts";
import type { Clock } from "./clock.ts";
import type { Pod } from "./pod/k8s.ts";

/** kube's default and minimum for a projected token's lifetime. */
const DEFAULT_EXPIRATION_SECONDS = 3600;
const MAX_AGE_MS = 24 * 3600 * 1000;

interface Cached {
  token: string;
  /** When it was issued and when it expires (ms). */
  issuedAt: number;
  expiresAt: number;
}

type TokenRequestAnswer = KubeObject & { status?: { token?: string; expirationTimestamp?: string } };

/** Whether a token should be replaced now (kubelet's requiresRefresh, without its jitter). */
export function requiresRefresh(cached: { issuedAt: number; expiresAt: number }, now: number): boolean {
  if (now >= cached.expiresAt) return true;
  const ttl = cached.expiresAt - cached.issuedAt;
  return now - cached.issuedAt > ttl * 0.8 || now - cached.issuedAt > MAX_AGE_MS;
}

/** Requests, caches and refreshes projected ServiceAccount tokens for this node's pods. */
export class ServiceAccountTokens {
  private readonly cache = new Map<string, Cached>();

  constructor(
    private readonly client: KubeClient,
    private readonly clock: Pick<Clock, "now">,
  ) {}

  /** The token for `pod`'s account with this audience and lifetime: cached while fresh, else requested. */
  async get(pod: Pod, audience: string | undefined, expirationSeconds: number | undefined): Promise<string> {
    const namespace = pod.metadata.namespace ?? "default";
    const account = pod.spec.serviceAccountName || "default";
    const seconds = expirationSeconds ?? DEFAULT_EXPIRATION_SECONDS;
    const key = JSON.stringify([pod.metadata.uid, namespace, account, audience ?? "", seconds]);
    const now = this.clock.now().getTime();
    const cached = this.cache.get(key);
    if (cached && !requiresRefresh(cached, now)) return cached.token;
    const answer = await this.client.create<TokenRequestAnswer>(
      R.serviceaccounts,
      namespace,
      {
        apiVersion: "authentication.k8s.io/v1",
        kind: "TokenRequest",
        metadata: {},
        spec: {
          audiences: audience ? [audience] : [],
          expirationSeconds: seconds,
          boundObjectRef: { kind: "Pod", apiVersion: "v1", name: pod.metadata.name, uid: pod.metadata.uid },
        },
      } as KubeObject,
      { name: account, subresource: "token" },
    );
    const token = answer.status?.token;
    if (!token) throw new Error(`TokenRequest for ${namespace}/${account} returned no token`);
    const expiresAt = Date.parse(answer.status?.expirationTimestamp ?? "") || now + seconds * 1000;
    this.cache.set(key, { token, issuedAt: now, expiresAt });
    return token;
  }

  /** Drop the tokens of a pod that is gone. */
  forget(podUid: string): void {
    for (const key of this.cache.keys()) if (JSON.parse(key)[0] === podUid) this.cache.delete(key);
  }
}
