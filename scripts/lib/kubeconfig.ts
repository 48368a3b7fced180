/** Writing and reading the kubeconfig of an Edgeplane cluster (server, CA data, admin token). */
import { readFile, writeFile } from "node:fs/promises";
import { parse, stringify } from "yaml";
import type { ClusterAccess } from "./client.ts";

/** A kubeconfig for `access`, with one cluster/user/context named `name`. */
export function kubeconfigYaml(name: string, access: ClusterAccess): string {
  const cluster: Record<string, string> = { server: access.server };
  if (access.ca) cluster["certificate-authority-data"] = Buffer.from(access.ca).toString("base64");
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [{ name, cluster }],
    users: [{ name: `${name}-admin`, user: { token: access.token } }],
    contexts: [{ name, context: { cluster: name, user: `${name}-admin` } }],
    "current-context": name,
    preferences: {},
  });
}

/** Write the kubeconfig readable by its owner only (it holds the admin token). */
export async function writeKubeconfig(path: string, name: string, access: ClusterAccess): Promise<void> {
  await writeFile(path, kubeconfigYaml(name, access), { mode: 0o600 });
}

interface KubeconfigFile {
  "current-context"?: string;
  contexts?: { name: string; context: { cluster: string; user: string } }[];
  clusters?: { name: string; cluster: { server: string; "certificate-authority-data"?: string } }[];
  users?: { name: string; user: { token?: string } }[];
}

/** Server, token and CA of a kubeconfig's current context (token auth only). */
export async function readKubeconfig(path: string): Promise<ClusterAccess> {
  const config = parse(await readFile(path, "utf8")) as KubeconfigFile;
  const ctx = config.contexts?.find((c) => c.name === config["current-context"]) ?? config.contexts?.[0];
  const cluster = config.clusters?.find((c) => c.name === ctx?.context.cluster)?.cluster;
  const token = config.users?.find((u) => u.name === ctx?.context.user)?.user.token;
  if (!cluster || !token) throw new Error(`${path}: no current context with a server and a bearer token`);
  const caData = cluster["certificate-authority-data"];
  return {
    server: cluster.server.replace(/\/$/, ""),
    token,
    ca: caData ? Buffer.from(caData, "base64").toString("utf8") : undefined,
  };
}
