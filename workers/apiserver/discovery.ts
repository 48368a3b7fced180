/**
 * Discovery documents generated from the resource table: /api, /apis,
 * /api/v1, /apis/<g>/<v>, /apis/<g>, /version. Plain v1 JSON only; kubectl
 * asks for aggregated discovery first and falls back when the response's
 * Content-Type is plain application/json.
 */

import { EDGEPLANE_VERSION, parseVersion } from "../client/version.ts";
import type { ResourceInfo } from "./registry/types.ts";
import { servedVerbs } from "./request-info.ts";

/** The version we report (/version). */
export const VERSION_INFO = {
  major: String(parseVersion(EDGEPLANE_VERSION)?.[0]),
  minor: String(parseVersion(EDGEPLANE_VERSION)?.[1]),
  gitVersion: EDGEPLANE_VERSION,
  gitCommit: "edgeplane",
  gitTreeState: "clean",
  buildDate: "2026-01-01T00:00:00Z",
  goVersion: "workerd",
  compiler: "esbuild",
  platform: "cloudflare/workers",
};

/** Group → ordered versions, core ("") excluded. */
function groups(resources: ResourceInfo[]): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const r of resources) {
    if (r.group === "") continue;
    const versions = out.get(r.group) ?? [];
    if (!versions.includes(r.version)) versions.push(r.version);
    out.set(r.group, versions);
  }
  return out;
}

function groupDoc(group: string, versions: string[]) {
  const list = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: list, preferredVersion: list[0] };
}

/** /api: APIVersions. */
export function apiVersions(host: string) {
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
  };
}

/** /apis: APIGroupList. */
export function apiGroupList(resources: ResourceInfo[]) {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: [...groups(resources)].map(([g, v]) => groupDoc(g, v)),
  };
}

/** /apis/<group>: APIGroup, or undefined when the group is not served. */
export function apiGroup(resources: ResourceInfo[], group: string) {
  const versions = groups(resources).get(group);
  return versions ? { kind: "APIGroup", apiVersion: "v1", ...groupDoc(group, versions) } : undefined;
}

/** /api/v1 or /apis/<g>/<v>: APIResourceList, or undefined when nothing is served there. */
export function apiResourceList(resources: ResourceInfo[], group: string, version: string) {
  const served = resources.filter((r) => r.group === group && r.version === version);
  if (!served.length) return undefined;
  const entries: Record<string, unknown>[] = [];
  for (const r of served) {
    const entry: Record<string, unknown> = {
      name: r.resource,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: servedVerbs(r),
    };
    if (r.shortNames?.length) entry.shortNames = r.shortNames;
    if (r.categories?.length) entry.categories = r.categories;
    entries.push(entry);
    const sub = r.subresources ?? {};
    if (sub.status)
      entries.push({
        name: `${r.resource}/status`,
        singularName: "",
        namespaced: r.namespaced,
        kind: r.kind,
        verbs: servedVerbs(r, "status"),
      });
    if (sub.scale)
      entries.push({
        name: `${r.resource}/scale`,
        singularName: "",
        namespaced: r.namespaced,
        group: "autoscaling",
        version: "v1",
        kind: "Scale",
        verbs: servedVerbs(r, "scale"),
      });
    for (const [name, custom] of Object.entries(sub.custom ?? {})) {
      const e: Record<string, unknown> = {
        name: `${r.resource}/${name}`,
        singularName: "",
        namespaced: r.namespaced,
        kind: custom.kind,
        verbs: servedVerbs(r, name),
      };
      if (custom.group !== undefined) e.group = custom.group;
      if (custom.version !== undefined) e.version = custom.version;
      entries.push(e);
    }
  }
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group ? `${group}/${version}` : version,
    resources: entries,
  };
}
