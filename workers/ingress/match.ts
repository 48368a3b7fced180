/**
 * Ingress rule matching, as a pure function over the Ingresses of our class
 * (kube's documented semantics): hosts exact before wildcard ("*.a.b"
 * matches one label) before rules without a host; within the chosen host,
 * an Exact path before the longest Prefix (element-wise: "/foo" matches
 * "/foo" and "/foo/bar", not "/foobar"); ImplementationSpecific is a Prefix
 * here. Ties go to the older Ingress (then namespace/name), as ingress-nginx
 * resolves conflicts. Nothing matches: the oldest defaultBackend, if any.
 */
import type { Ingress, IngressBackend } from "kubernetes-types/networking/v1.js";

/** Where a request goes: the backend and the namespace its Service must be in (the Ingress's own). */
export interface Route {
  namespace: string;
  /** The Ingress that matched ("namespace/name"), for messages and headers. */
  ingress: string;
  backend: IngressBackend;
}

/** One candidate path: how well it matches decides. */
interface Candidate {
  /** 2 = Exact, 1 = Prefix. */
  exact: number;
  /** The matched prefix's length (element-wise). */
  length: number;
  order: number;
  route: Route;
}

/** kube's host match: exact, or "*.rest" matching exactly one more label. 0 = no match, 2 = exact, 1 = wildcard. */
export function hostMatch(ruleHost: string, host: string): number {
  if (ruleHost === host) return 2;
  if (!ruleHost.startsWith("*.")) return 0;
  const suffix = ruleHost.slice(1);
  if (!host.endsWith(suffix)) return 0;
  const label = host.slice(0, host.length - suffix.length);
  return label !== "" && !label.includes(".") ? 1 : 0;
}

/** The length a Prefix path `prefix` matches `path` with, element-wise; -1 when it does not. */
export function prefixMatch(prefix: string, path: string): number {
  const p = prefix.length > 1 && prefix.endsWith("/") ? prefix.replace(/\/+$/, "") : prefix;
  if (p === "/" || p === "") return 1;
  if (path === p || path.startsWith(`${p}/`)) return p.length;
  return -1;
}

/** Oldest first, then namespace/name: the order ties are broken in. */
function byAge(a: Ingress, b: Ingress): number {
  const t = (a.metadata?.creationTimestamp ?? "").localeCompare(b.metadata?.creationTimestamp ?? "");
  if (t !== 0) return t;
  return keyOf(a).localeCompare(keyOf(b));
}

function keyOf(ingress: Ingress): string {
  return `${ingress.metadata?.namespace ?? ""}/${ingress.metadata?.name ?? ""}`;
}

/** The route for `host` (lowercase, no port) and `path` among `ingresses`, or undefined (404). */
export function matchIngress(ingresses: readonly Ingress[], host: string, path: string): Route | undefined {
  const sorted = [...ingresses].sort(byAge);
  // Per host tier (2 exact, 1 wildcard, 0 no host): the candidates whose path matches.
  const tiers: Candidate[][] = [[], [], []];
  sorted.forEach((ingress, order) => {
    for (const rule of ingress.spec?.rules ?? []) {
      const tier = rule.host ? hostMatch(rule.host, host) : 0;
      if (rule.host && tier === 0) continue;
      for (const p of rule.http?.paths ?? []) {
        const route = {
          namespace: ingress.metadata?.namespace ?? "",
          ingress: keyOf(ingress),
          backend: p.backend,
        };
        if (p.pathType === "Exact") {
          if (p.path === path) tiers[tier].push({ exact: 2, length: path.length, order, route });
          continue;
        }
        const length = prefixMatch(p.path ?? "/", path);
        if (length >= 0) tiers[tier].push({ exact: 1, length, order, route });
      }
    }
  });
  for (const tier of [2, 1, 0]) {
    const best = tiers[tier].sort((a, b) => b.exact - a.exact || b.length - a.length || a.order - b.order)[0];
    if (best) return best.route;
  }
  const fallback = sorted.find((i) => i.spec?.defaultBackend);
  if (!fallback?.spec?.defaultBackend) return undefined;
  return {
    namespace: fallback.metadata?.namespace ?? "",
    ingress: keyOf(fallback),
    backend: fallback.spec.defaultBackend,
  };
}
